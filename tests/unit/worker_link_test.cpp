// Unit tests of common/worker_link: every broker <-> worker message encoded
// and decoded back, with and without a ROUTER identity frame in front, and
// malformed frames refused with an error instead of a crash or an exception.
#include "tests/unit/msgpack_test_support.h"
#include "common/task_id.h"
#include "common/worker_link.h"

#include <doctest/doctest.h>

#include <functional>
#include <random>

#include "common/frames.h"
#include "common/msgpack_writer.h"

using namespace zfleet::common;
using namespace std::string_literals;

namespace {

zmq::message_t frame(std::string_view s) { return zmq::message_t(s.data(), s.size()); }

Frames frames_of(std::initializer_list<std::string_view> parts) {
  Frames f;
  for (auto p : parts) f.push_back(frame(p));
  return f;
}

using zfleet::testing::mp;

// `f` with a ROUTER identity frame in front, as the broker receives it.
Frames routed(Frames f) {
  Frames out;
  out.push_back(frame("worker-7"));
  for (auto& m : f) out.push_back(std::move(m));
  return out;
}

WorkerInfo sample_info() {
  WorkerInfo i;
  i.id = "w-host-1";
  i.pool = "gpu-2";
  i.host = "host.example";
  i.pid = 31337;
  i.threads = 8;
  i.capacity = 10;
  return i;
}

void same_info(const WorkerInfo& a, const WorkerInfo& b) {
  CHECK(a.id == b.id);
  CHECK(a.pool == b.pool);
  CHECK(a.host == b.host);
  CHECK(a.pid == b.pid);
  CHECK(a.threads == b.threads);
  CHECK(a.capacity == b.capacity);
}

// A READY frame set whose info map is `body`.
Frames ready_with(const std::string& body) { return frames_of({"R", body}); }

}  // namespace

TEST_SUITE("worker_link") {
  TEST_CASE("a results socket's routing id names its worker's route; nothing else does") {
    const std::string route = TaskIdGenerator().next();
    for (std::size_t slot : {0u, 7u, 123u}) {
      const std::string rid = result_route(route, slot);
      auto owner = result_route_owner(rid);
      REQUIRE(owner);
      CHECK(*owner == route);
    }
    CHECK(route.find(kResultRouteMark) == std::string::npos);  // a route is never one
    CHECK_FALSE(result_route_owner(route));
    CHECK_FALSE(result_route_owner("#3"));        // no route
    CHECK_FALSE(result_route_owner("abc#"));      // no slot
    CHECK_FALSE(result_route_owner("abc#1x"));    // not a number
    CHECK_FALSE(result_route_owner(""));
    CHECK(*result_route_owner("a#b#2") == "a#b");  // the last mark counts
  }

  TEST_CASE("READY round trip, with and without the identity frame") {
    Frames f = encode_ready(sample_info());
    CHECK(link_command(f[0]) == LinkCmd::ready);
    auto plain = decode_ready(f);
    REQUIRE(plain.has_value());
    same_info(*plain, sample_info());
    Frames r = routed(encode_ready(sample_info()));
    auto at1 = decode_ready(r, 1);
    REQUIRE(at1.has_value());
    same_info(*at1, sample_info());
    WorkerInfo neg = sample_info();
    neg.pid = -1;
    auto n = decode_ready(encode_ready(neg));
    REQUIRE(n.has_value());
    same_info(*n, neg);
  }

  TEST_CASE("READY without capacity defaults to threads; without host/pid to empty") {
    std::string body = mp([](MsgpackWriter& w) { w.map(3).kv("id", "w").kv("type", "io").ku("threads", 4); });
    auto i = decode_ready(ready_with(body));
    REQUIRE(i.has_value());
    CHECK(i->capacity == 4);
    CHECK(i->host.empty());
    CHECK(i->pid == 0);
  }

  TEST_CASE("TASK round trip keeps binary payloads and ids exactly") {
    const std::string payload = "\x94\x00\xff binary \0 payload"s;
    Frames f = encode_task("task-1", 0x1'0000'0001ull, 3, 45000, payload);
    REQUIRE(f.size() == 4);
    CHECK(link_command(f[0]) == LinkCmd::task);
    auto t = decode_task(f);
    REQUIRE(t.has_value());
    CHECK(t->id == "task-1");
    CHECK(t->dispatch == 0x1'0000'0001ull);
    CHECK(t->attempt == 3);
    CHECK(t->timeout_ms == 45000);
    CHECK(t->payload.size() == 20);
    CHECK(t->payload == payload);
    Frames r = routed(encode_task("", 7, 1, 0, ""));
    auto e = decode_task(r, 1);
    REQUIRE(e.has_value());
    CHECK(e->id.empty());
    CHECK(e->payload.empty());
  }

  TEST_CASE("RESULT ok round trip; an empty result travels as nil") {
    ResultMessage m;
    m.id = "t9";
    m.dispatch = 41;
    m.attempt = 2;
    m.ok = true;
    m.run_us = 777;
    m.result = mp([](MsgpackWriter& w) { w.map(1).str("k").array(2).u64(1).bin(std::string("\0", 1)); });
    Frames f = encode_result(m);
    CHECK(link_command(f[0]) == LinkCmd::result);
    auto d = decode_result(routed(std::move(f)), 1);
    REQUIRE(d.has_value());
    CHECK(d->id == "t9");
    CHECK(d->dispatch == 41);
    CHECK(d->attempt == 2);
    CHECK(d->ok);
    CHECK(d->run_us == 777);
    CHECK(d->result == m.result);
    m.result.clear();
    auto nil = decode_result(encode_result(m));
    REQUIRE(nil.has_value());
    CHECK(nil->result == std::string("\xc0", 1));
  }

  TEST_CASE("RESULT error round trip for every TaskErrorCode") {
    for (int c = 0; c <= static_cast<int>(TaskErrorCode::cancelled); ++c) {
      auto code = static_cast<TaskErrorCode>(c);
      CAPTURE(to_string(code));
      ResultMessage m;
      m.id = "e";
      m.id += std::to_string(c);  // not "e" + ...: GCC 12 warns falsely (-Wrestrict)
      m.attempt = 1;
      m.ok = false;
      m.run_us = 5;
      m.error.code = code;
      m.error.message = "went wrong";
      if (code == TaskErrorCode::exception) {
        m.error.type = "KeyError";
        m.error.traceback = "Traceback (most recent call last):\n  ...";
      }
      auto d = decode_result(encode_result(m));
      REQUIRE(d.has_value());
      CHECK_FALSE(d->ok);
      CHECK(d->id == m.id);
      CHECK(d->error.code == code);
      CHECK(d->error.message == "went wrong");
      CHECK(d->error.type == m.error.type);
      CHECK(d->error.traceback == m.error.traceback);
    }
  }

  TEST_CASE("CLEAR with and without a script; BYE, RESYNC, STOP") {
    Frames one = encode_clear(std::string("a/b.py"));
    CHECK(link_command(one[0]) == LinkCmd::clear);
    auto s = decode_clear(one);
    REQUIRE(s.has_value());
    CHECK(*s == std::optional<std::string>("a/b.py"));
    auto all = decode_clear(routed(encode_clear(std::nullopt)), 1);
    REQUIRE(all.has_value());
    CHECK_FALSE(all->has_value());
    CHECK(link_command(encode_bye()[0]) == LinkCmd::bye);
    CHECK(encode_bye().size() == 1);
    CHECK(link_command(encode_simple(LinkCmd::resync)[0]) == LinkCmd::resync);
    CHECK(link_command(encode_simple(LinkCmd::stop)[0]) == LinkCmd::stop);
  }

  TEST_CASE("heartbeat round trip") {
    Heartbeat hb;
    hb.info = sample_info();
    hb.seq = 99;
    hb.active = 3;
    hb.queued = 2;
    hb.done = 1000;
    hb.failed = 7;
    hb.rss_bytes = 123456789;
    Frames f = encode_heartbeat(hb);
    REQUIRE(f.size() == 2);
    CHECK(view(f[0]) == "hb");
    auto d = decode_heartbeat(f);
    REQUIRE(d.has_value());
    same_info(d->info, hb.info);
    CHECK(d->seq == 99);
    CHECK(d->active == 3);
    CHECK(d->queued == 2);
    CHECK(d->done == 1000);
    CHECK(d->failed == 7);
    CHECK(d->rss_bytes == 123456789);
  }

  TEST_CASE("the route (the worker's random routing id) travels in READY and heartbeats") {
    Heartbeat hb;
    hb.info = sample_info();
    hb.info.route = "~AbCdEfGhIjKlMn";
    hb.token = 5;
    auto d = decode_heartbeat(encode_heartbeat(hb));
    REQUIRE(d.has_value());
    CHECK(d->info.route == "~AbCdEfGhIjKlMn");
    CHECK(d->token == 5);
    auto r = decode_ready(encode_ready(hb.info));
    REQUIRE(r.has_value());
    CHECK(r->route == "~AbCdEfGhIjKlMn");
    CHECK(decode_ready(encode_ready(sample_info()))->route.empty());  // optional
    hb.info.route = std::string(1, '\0') + "abc";  // libzmq's own ids start with a zero byte
    CHECK(decode_heartbeat(encode_heartbeat(hb))->info.route.empty());
  }

  TEST_CASE("a worker id over 255 bytes (no ZeroMQ routing id can be that long) is refused") {
    Heartbeat hb;
    hb.info = sample_info();
    hb.info.id.assign(255, 'w');
    CHECK(decode_heartbeat(encode_heartbeat(hb)).has_value());
    CHECK(decode_ready(encode_ready(hb.info)).has_value());
    hb.info.id.assign(256, 'w');
    auto d = decode_heartbeat(encode_heartbeat(hb));
    REQUIRE_FALSE(d.has_value());
    CHECK(d.error() == "worker id over 255 bytes");
    CHECK_FALSE(decode_ready(encode_ready(hb.info)).has_value());
  }

  TEST_CASE("link_command for every command and for garbage") {
    const std::pair<char, LinkCmd> all[] = {{'R', LinkCmd::ready}, {'D', LinkCmd::result},
                                            {'B', LinkCmd::bye},   {'T', LinkCmd::task},
                                            {'C', LinkCmd::clear}, {'X', LinkCmd::resync},
                                            {'S', LinkCmd::stop},  {'G', LinkCmd::gone},
                                            {'K', LinkCmd::gone_ack}, {'Z', LinkCmd::cancel},
                                            {'A', LinkCmd::bye_ack}};
    for (auto [ch, cmd] : all) CHECK(link_command(frame(std::string_view(&ch, 1))) == cmd);
    for (std::string_view g : {std::string_view(), std::string_view("RR"), std::string_view("r"),
                               std::string_view("z"), std::string_view("\0", 1),
                               std::string_view("hb"), std::string_view("READY")}) {
      CHECK_FALSE(link_command(frame(g)).has_value());
    }
  }

  TEST_CASE("malformed frames are refused with a message, never thrown") {
    auto refused = [](const auto& result) {
      REQUIRE_FALSE(result.has_value());
      CHECK_FALSE(result.error().empty());
    };
    std::string meta_task = mp([](MsgpackWriter& w) { w.array(3).u64(5).u64(1).u64(10); });
    std::string meta_res = mp([](MsgpackWriter& w) { w.array(4).u64(5).u64(1).boolean(false).u64(1); });
    std::string info = mp([](MsgpackWriter& w) { w.map(2).kv("id", "w").kv("type", "io"); });

    // Wrong frame counts.
    refused(decode_ready(frames_of({"R"})));
    refused(decode_ready(frames_of({"R", info, "x"})));
    refused(decode_task(frames_of({"T", "id", meta_task})));
    refused(decode_result(frames_of({"D", "id", meta_res, "", "", "extra"})));
    refused(decode_clear(frames_of({"C"})));
    refused(decode_heartbeat(frames_of({"hb"})));
    refused(decode_ready(encode_ready(sample_info()), 1));  // no identity frame there

    // TASK meta of the wrong shape or types.
    for (const std::string& meta :
         {std::string(), std::string("\xc1", 1), mp([](MsgpackWriter& w) { w.map(0); }),
          mp([](MsgpackWriter& w) { w.array(1).u64(1); }),
          mp([](MsgpackWriter& w) { w.array(2).u64(1).u64(10); }),  // the old layout
          mp([](MsgpackWriter& w) { w.array(3).u64(5).str("1").u64(10); }),
          mp([](MsgpackWriter& w) { w.array(3).i64(-5).u64(1).u64(10); }),
          mp([](MsgpackWriter& w) { w.array(3).u64(5).u64(1).i64(-10); }),
          mp([](MsgpackWriter& w) { w.array(4).u64(5).u64(1).u64(10).u64(0); })}) {
      refused(decode_task(frames_of({"T", "id", meta, "payload"})));
    }
    // RESULT meta of the wrong shape or types, and bad error maps.
    for (const std::string& meta :
         {mp([](MsgpackWriter& w) { w.array(4).u64(5).u64(1).u64(1).u64(1); }),
          mp([](MsgpackWriter& w) { w.array(4).u64(5).boolean(true).boolean(true).u64(1); }),
          mp([](MsgpackWriter& w) { w.array(3).u64(1).boolean(true).u64(1); }),  // the old layout
          mp([](MsgpackWriter& w) { w.array(4).str("5").u64(1).boolean(true).u64(1); }),
          mp([](MsgpackWriter& w) { w.array(4).u64(5).u64(1).boolean(true).str("1"); })}) {
      refused(decode_result(frames_of({"D", "id", meta, "\xc0"})));
    }
    for (const std::string& err :
         {std::string(), std::string("\xc1", 1), mp([](MsgpackWriter& w) { w.array(0); }),
          mp([](MsgpackWriter& w) { w.map(1).kv("message", "no code"); }),
          mp([](MsgpackWriter& w) { w.map(1).kv("code", "meltdown"); }),
          mp([](MsgpackWriter& w) { w.map(1).str("code").u64(3); })}) {
      refused(decode_result(frames_of({"D", "id", meta_res, err})));
    }
    // READY / heartbeat info that is not a valid map.
    for (const std::string& body :
         {std::string(), mp([](MsgpackWriter& w) { w.array(0); }),
          mp([](MsgpackWriter& w) { w.map(1).kv("type", "io"); }),
          mp([](MsgpackWriter& w) { w.map(2).kv("id", "").kv("type", "io"); }),
          mp([](MsgpackWriter& w) { w.map(2).kv("id", "w").kv("type", "no pool"); }),
          mp([](MsgpackWriter& w) { w.map(2).kv("id", "w").str("type").u64(0); }),
          mp([](MsgpackWriter& w) { w.map(3).kv("id", "w").kv("type", "io").kv("pid", "12"); }),
          mp([](MsgpackWriter& w) { w.map(3).kv("id", "w").kv("type", "io").str("pid").array(0); }),
          mp([](MsgpackWriter& w) { w.map(3).kv("id", "w").kv("type", "io").str("pid").raw(std::string_view("\xcb\x40\0\0\0\0\0\0\0", 9)); }),
          mp([](MsgpackWriter& w) { w.map(3).kv("id", "w").kv("type", "io").str("pid").u64(UINT64_MAX); })}) {
      CAPTURE(body.size());
      refused(decode_ready(ready_with(body)));
      refused(decode_heartbeat(frames_of({"hb", body})));
    }
    refused(decode_heartbeat(frames_of({"HB", info})));
    refused(decode_clear(frames_of({"C", mp([](MsgpackWriter& w) { w.u64(1); })})));
    refused(decode_clear(frames_of({"C", "\xc1"})));
    refused(decode_cancel(frames_of({"Z"})));
    refused(decode_cancel(frames_of({"Z", mp([](MsgpackWriter& w) { w.str("1"); })})));
    refused(decode_cancel(frames_of({"Z", mp([](MsgpackWriter& w) { w.i64(-1); })})));
  }

  TEST_CASE("CANCEL round trip carries the dispatch number") {
    Frames f = encode_cancel(0xFFFF'FFFF'FFFFull);
    CHECK(link_command(f[0]) == LinkCmd::cancel);
    auto d = decode_cancel(routed(std::move(f)), 1);
    REQUIRE(d.has_value());
    CHECK(*d == 0xFFFF'FFFF'FFFFull);
  }

  TEST_CASE("RETURN round trip carries the dispatch number; garbage is refused") {
    Frames f = encode_return(1234567);
    CHECK(link_command(f[0]) == LinkCmd::returned);
    auto d = decode_return(routed(std::move(f)), 1);
    REQUIRE(d.has_value());
    CHECK(*d == 1234567);
    CHECK_FALSE(decode_return(frames_of({"N"})).has_value());
    CHECK_FALSE(decode_return(frames_of({"N", mp([](MsgpackWriter& w) { w.str("1"); })})).has_value());
  }

  TEST_CASE("seeded fuzz: mutated link messages never throw out of a decoder") {
    std::mt19937 rng(7);
    ResultMessage err;
    err.id = "t";
    err.error = {TaskErrorCode::exception, "m", "T", "tb"};
    std::vector<Frames> bases;
    bases.push_back(encode_ready(sample_info()));
    bases.push_back(encode_task("t", 9, 1, 2, "payload"));
    bases.push_back(encode_cancel(9));
    bases.push_back(encode_result(err));
    bases.push_back(encode_clear(std::string("x.py")));
    bases.push_back(encode_heartbeat(Heartbeat{sample_info(), 1, 2, 3, 4, 5, 6}));
    int escaped = 0, decoded = 0;
    for (int i = 0; i < 20000; ++i) {
      const Frames& base = bases[rng() % bases.size()];
      Frames f;
      for (const auto& m : base) {
        std::string b(view(m));
        if (!b.empty() && rng() % 2) b[rng() % b.size()] = static_cast<char>(rng());
        if (!b.empty() && rng() % 4 == 0) b.resize(rng() % b.size());
        f.push_back(frame(b));
      }
      try {
        decoded += decode_ready(f).has_value() + decode_task(f).has_value() +
                   decode_result(f).has_value() + decode_clear(f).has_value() +
                   decode_heartbeat(f).has_value() + decode_cancel(f).has_value();
      } catch (...) {
        ++escaped;
      }
    }
    CHECK(escaped == 0);
    CHECK(decoded > 0);
  }
}
