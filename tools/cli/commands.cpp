// submit, get, cancel, status, reload and keygen: one request each (cancel:
// one per id).
#include "tools/cli/commands.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "tools/cli/client.h"
#include "tools/cli/exit_codes.h"
#include "tools/cli/json_value.h"
#include "tools/cli/status_view.h"
#include "tools/cli/watch.h"

namespace zfleet::cli {
namespace {

std::chrono::milliseconds ms(uint64_t v) { return std::chrono::milliseconds(v); }

// Prints a reply (indented JSON) and returns its exit code.
int print_reply(const common::Reply& r) {
  std::cout << to_json(r.root(), 2) << "\n";
  return exit_code_of(r);
}

// --args / --kwargs: JSON text -> msgpack, or a message naming the flag.
std::expected<std::string, std::string> packed_flag(const std::string& text, const char* flag,
                                                    bool array) {
  auto value = parse_json(text);
  if (!value) return std::unexpected(std::string(flag) + ": " + value.error());
  if (array ? !value->is_array() : !value->is_object())
    return std::unexpected(std::string(flag) + " must be a JSON " + (array ? "array" : "object") +
                           ", got " + text);
  auto packed = json_value_to_msgpack(*value);
  if (!packed) return std::unexpected(std::string(flag) + ": " + packed.error());
  return packed;
}

int get_and_print(zmq::context_t& ctx, const Options& o, const std::string& id, uint64_t wait_ms) {
  Client results(ctx, o.results, ms(o.timeout_ms), o.curve);
  auto r = results.call(common::encode_get(id, wait_ms, {}), ms(wait_ms));
  if (!r) return no_answer(r.error());
  return print_reply(*r);
}

}  // namespace

int exit_code_of(const common::Reply& r) {
  if (r.op == "error") return kExitRefused;
  if (r.state == "done") return kExitDone;
  if (r.state == "failed") return kExitFailed;
  if (r.state == "pending" || r.state == "running") return kExitPending;
  if (r.state == "unknown") return kExitUnknownId;
  return kExitRefused;  // a reply this CLI does not know: say the broker did not do it
}

int no_answer(const std::string& what) {
  std::cerr << "zfleet: " << what << "\n";
  return kExitNoAnswer;
}

int do_submit(zmq::context_t& ctx, const Options& o) {
  common::SubmitArgs a = o.submit;
  for (auto [text, out, flag, array] : {std::tuple{&o.args_json, &a.args_msgpack, "--args", true},
                                        std::tuple{&o.kwargs_json, &a.kwargs_msgpack, "--kwargs", false}}) {
    if (text->empty()) continue;
    auto packed = packed_flag(*text, flag, array);
    if (!packed) {
      std::cerr << "zfleet: " << packed.error() << "\n";
      return kExitUsage;
    }
    *out = std::move(*packed);
  }
  Client frontend(ctx, o.frontend, ms(o.timeout_ms), o.curve);
  auto r = frontend.call(common::encode_submit(a, {}));
  if (!r) return no_answer(r.error());
  if (r->op != "accepted") return print_reply(*r);
  if (!o.submit_wait_ms) {
    std::cout << r->id << "\n";
    return kExitDone;
  }
  return get_and_print(ctx, o, r->id, *o.submit_wait_ms);
}

int do_get(zmq::context_t& ctx, const Options& o) { return get_and_print(ctx, o, o.get_id, o.get_wait_ms); }

// One line per id: "ID OUTCOME" (cancelled, cancelling, too_late, unknown).
int do_cancel(zmq::context_t& ctx, const Options& o) {
  Client results(ctx, o.results, ms(o.timeout_ms), o.curve);
  int rc = kExitDone;
  for (const auto& id : o.ids) {
    auto r = results.call(common::encode_cancel(id, {}));
    if (!r) return std::max(rc, no_answer(r.error()));
    if (r->op != "cancel") {
      rc = std::max(rc, print_reply(*r));
      continue;
    }
    std::cout << id << " " << r->outcome << "\n";
    if (r->outcome == "too_late") rc = std::max(rc, kExitTooLate);
    else if (r->outcome == "unknown") rc = std::max(rc, kExitUnknownId);
    else if (r->outcome != "cancelled" && r->outcome != "cancelling") rc = std::max(rc, kExitRefused);
  }
  return rc;
}

int do_status(zmq::context_t& ctx, const Options& o) {
  if (o.watch) return do_status_watch(ctx, o);
  Client results(ctx, o.results, ms(o.timeout_ms), o.curve);
  auto r = results.call(common::encode_status_request({}));
  if (!r) return no_answer(r.error());
  if (r->op != "status") return print_reply(*r);
  std::cout << (o.json ? to_json(r->root(), 2) + "\n" : status_table(r->root()));
  return kExitDone;
}

int do_reload(zmq::context_t& ctx, const Options& o) {
  Client results(ctx, o.results, ms(o.timeout_ms), o.curve);
  auto r = results.call(common::encode_clear_cache(o.reload_script, {}));
  if (!r) return no_answer(r.error());
  if (r->op != "ok") return print_reply(*r);
  std::cout << "ok\n";
  return kExitDone;
}

// Refuses to replace a key pair: a fleet's keys overwritten by a typo lock
// out every process that trusted the old public key.
int do_keygen(const Options& o) {
  const auto& path = o.key_path;
  if (!o.force && (std::filesystem::exists(path + ".key") || std::filesystem::exists(path + ".pub"))) {
    std::cerr << "zfleet: " << path << ".key or .pub exists; --force replaces them\n";
    return kExitUsage;
  }
  auto keys = common::generate_key_pair();
  if (!keys) {  // libzmq built without CURVE
    std::cerr << "zfleet: " << keys.error() << "\n";
    return kExitUsage;
  }
  if (auto written = common::write_key_pair(path, *keys); !written) {
    std::cerr << "zfleet: " << written.error() << "\n";
    return kExitUsage;
  }
  std::cout << "wrote " << path << ".key (secret, mode 0600) and " << path << ".pub: " << keys->public_z85 << "\n";
  return kExitDone;
}

}  // namespace zfleet::cli
