// The internal broker <-> worker link (not part of ZFP/1; ours to change).
// Encoding and decoding of every message on it lives here.
//
// Backend (worker DEALER, routing id = worker id  <->  broker ROUTER).
// Frames shown without the ROUTER identity frame:
//   W->B READY   ["R"][info map]                       (first message; again after RESYNC)
//   W->B RESULT  ["D"][task id][meta][value]([output]) meta = [dispatch, attempt, ok, run_us]
//                                                      value = result msgpack (ok) or error map
//                                                      output = the task's text, when asked for
//   W->B BYE     ["B"]                                 (worker stopping; takes no new tasks)
//   B->W BYE_ACK ["A"]                                 BYE handled: no TASK follows it
//   B->W WELCOME ["W"][token]                          READY handled; token = msgpack uint that
//                                                      every heartbeat must carry from now on
//   W->B GONE    ["G"]                                 (worker exiting now: requeue its tasks)
//   W->B RETURN  ["N"][dispatch]                       a TASK it will not run (it is recycling
//                                                      itself): requeue it as if never sent
//   B->W TASK    ["T"][task id][meta][payload]         meta = [dispatch, attempt, timeout_ms]
//                                                      payload = codec's task payload, opaque
//   B->W CLEAR   ["C"][script or nil]                  drop cached module(s)
//   B->W RESYNC  ["X"]                                 "unknown worker: send READY again"
//   B->W GONE_ACK ["K"]                                GONE received (the worker may exit)
//   B->W STOP    ["S"]                                 finish running tasks, then exit
//   B->W CANCEL  ["Z"][dispatch]                       interrupt that dispatch (msgpack uint)
//   B->W REFUSE  ["F"][reason text]                    READY refused for good (e.g. its pool is
//                                                      not configured): the worker exits 2
//
// `dispatch` is the broker-unique dispatch number of one TASK message. A
// worker echoes it in the RESULT; it, not the task id (ids are reused after
// expiry) nor the attempt, is what ties an answer to a slot and to a task's
// current run (DESIGN decision 8).
// Status (worker PUB -> broker SUB), every heartbeat_ms:
//   ["hb"][heartbeat map]
//
// Thread safety: functions only; safe from any thread.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "common/protocol.h"

namespace zfleet::common {

enum class LinkCmd : char {
  ready = 'R', result = 'D', bye = 'B', gone = 'G', task = 'T', clear = 'C', resync = 'X',
  stop = 'S', gone_ack = 'K', cancel = 'Z', bye_ack = 'A', welcome = 'W', refuse = 'F',
  returned = 'N'
};

struct WorkerInfo {
  std::string id;
  std::string pool = "io";  // the pool it serves; the broker refuses unknown ones (REFUSE)
  std::string host;
  int64_t pid = 0;
  uint32_t threads = 0;
  uint32_t capacity = 0;  // tasks the broker may have in flight on it
  // Random per process start: tells a repeated READY of the same process
  // (answering several RESYNCs) from a new process under the same id.
  uint64_t incarnation = 0;
  // The worker's backend routing id: random per process (TaskIdGenerator,
  // 84 bits), so no peer can guess it to take over the worker's connection
  // (the backend uses ROUTER_HANDOVER). In a heartbeat it tells the broker
  // where to send RESYNC; in a READY the broker uses the connection's real
  // routing id instead. Empty = not given.
  std::string route;
};

// Results sockets (issue 14): each pool thread of a worker sends its own
// RESULTs on a DEALER of its own, so a finished task does not wake the
// worker's I/O thread. Its routing id is the worker's route, '#', and the
// thread's number: only a holder of the (unguessable) route can send
// results for that worker, and the broker finds the worker from the prefix.
// The broker accepts nothing but RESULT on such a connection and never
// sends to one.
inline constexpr char kResultRouteMark = '#';
std::string result_route(std::string_view route, std::size_t slot);
// The worker route a results socket's routing id names, or nullopt when
// `rid` is not one ('#' is not in the route alphabet: common/task_id.cpp).
std::optional<std::string_view> result_route_owner(std::string_view rid);

struct Heartbeat {
  WorkerInfo info;
  uint64_t seq = 0;
  uint32_t active = 0;    // running now
  uint32_t queued = 0;    // received, waiting for a pool thread
  uint64_t done = 0, failed = 0;
  uint64_t rss_bytes = 0;
  // The token of the broker's last WELCOME (0 before one): heartbeats go
  // over PUB/SUB, which carries no sender identity, so this is what ties
  // one to the backend connection that registered the worker.
  uint64_t token = 0;
};

struct TaskMessage {  // B->W TASK; views point into the received frames
  std::string_view id;
  uint64_t dispatch = 0;
  uint32_t attempt = 1;
  uint64_t timeout_ms = 0;
  std::string_view payload;
};

struct ResultMessage {  // W->B RESULT
  std::string id;
  uint64_t dispatch = 0;
  uint32_t attempt = 1;
  bool ok = false;
  uint64_t run_us = 0;
  std::string result;     // ok: msgpack bytes of the value
  TaskError error;        // !ok
  std::string output;     // the task's stdout/stderr when it asked for them (5th frame)
};

using Frames = std::vector<zmq::message_t>;

std::optional<LinkCmd> link_command(const zmq::message_t& first_frame);

Frames encode_ready(const WorkerInfo& info);
Frames encode_bye();
Frames encode_task(std::string_view id, uint64_t dispatch, uint32_t attempt,
                   uint64_t timeout_ms, std::string_view payload);
Frames encode_result(const ResultMessage& r);
Frames encode_clear(const std::optional<std::string>& script);
Frames encode_simple(LinkCmd cmd);  // RESYNC, STOP
Frames encode_cancel(uint64_t dispatch);
Frames encode_return(uint64_t dispatch);
Frames encode_welcome(uint64_t token);
Frames encode_refuse(std::string_view reason);
Frames encode_heartbeat(const Heartbeat& hb);

// Decoders take the frames after the ROUTER identity (if any), command first.
std::expected<WorkerInfo, std::string> decode_ready(const Frames& f, std::size_t first = 0);
std::expected<TaskMessage, std::string> decode_task(const Frames& f, std::size_t first = 0);
std::expected<ResultMessage, std::string> decode_result(const Frames& f, std::size_t first = 0);
std::expected<std::optional<std::string>, std::string> decode_clear(const Frames& f,
                                                                   std::size_t first = 0);
std::expected<uint64_t, std::string> decode_cancel(const Frames& f, std::size_t first = 0);
std::expected<uint64_t, std::string> decode_return(const Frames& f, std::size_t first = 0);
std::expected<uint64_t, std::string> decode_welcome(const Frames& f, std::size_t first = 0);
std::expected<std::string, std::string> decode_refuse(const Frames& f, std::size_t first = 0);
std::expected<Heartbeat, std::string> decode_heartbeat(const Frames& f);

}  // namespace zfleet::common
