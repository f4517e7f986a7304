// `zfleet status --watch` (and its alias `zfleet top`): asks the broker for
// `status` every --interval seconds and redraws the screen (watch_screen.h)
// in place, reading keys between refreshes: q quits, s or > sorts the
// workers by the next column, < by the previous one, r reverses the order.
//
// A broker that does not answer within --timeout-ms does not end the watch:
// the last table stays, under a line "no answer from ENDPOINT since
// HH:MM:SS" (the time of the last answer), and the requests go on.
// When stdout is not a terminal, each refresh is printed as plain lines
// followed by a blank line (no escapes, 80 columns, no keys). Exit codes:
// q, Ctrl-C, SIGTERM or SIGHUP 0; after --count N refreshes 0 if the last
// one was answered, else 3.
//
// Thread safety: call from one thread, once at a time (see terminal.h).
#pragma once

#include <zmq.hpp>

#include "tools/cli/options.h"

namespace zfleet::cli {

int do_status_watch(zmq::context_t& ctx, const Options& o);

}  // namespace zfleet::cli
