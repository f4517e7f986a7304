// The commands of `zfleet`, one function each, returning the process exit
// code (exit_codes.h). Each prints its result on stdout and what went wrong
// on stderr ("zfleet: ..."). main.cpp parses the flags and picks one.
//
// Thread safety: call from one thread (each opens its own sockets on `ctx`).
#pragma once

#include <zmq.hpp>

#include "common/codec.h"
#include "tools/cli/options.h"

namespace zfleet::cli {

int do_submit(zmq::context_t& ctx, const Options& o);
int do_get(zmq::context_t& ctx, const Options& o);
int do_cancel(zmq::context_t& ctx, const Options& o);
int do_status(zmq::context_t& ctx, const Options& o);
int do_reload(zmq::context_t& ctx, const Options& o);
int do_submit_batch(zmq::context_t& ctx, const Options& o);  // submit_batch.cpp
int do_wait(zmq::context_t& ctx, const Options& o);          // wait.cpp
int do_keygen(const Options& o);

// The exit code a reply means: an error reply 6, a result by its state
// (done 0, failed 1, pending or running 4, unknown 5).
int exit_code_of(const common::Reply& r);

// Prints "zfleet: <what>" on stderr; returns kExitNoAnswer (the one use:
// the broker did not answer).
int no_answer(const std::string& what);

}  // namespace zfleet::cli
