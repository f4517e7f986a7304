// zfleet: the command-line client.
//   zfleet submit SCRIPT [--func F] [--args JSON] [--kwargs JSON] [--type io|cpu]
//                        [--id ID] [--task-timeout-ms N] [--max-retries N] [--wait MS]
//                        [--delay-ms N] [--retries N] [--retry-on CODE]... [--retry-backoff-ms N]
//   zfleet get ID [--wait MS]
//   zfleet cancel ID...
//   zfleet status [--json]
//   zfleet cache clear [--script S]
//   zfleet keygen PATH [--force]        writes PATH.key (0600) and PATH.pub
// Every command but keygen takes --key FILE and --server-key FILE for CURVE.
// Exit codes: 0 success (task done / request ok / every id cancelled or
// cancelling), 1 task failed, the broker answered with an error, or a cancel
// came too late or named an unknown id, 2 usage or configuration error, 3 no
// answer in time or task still pending after --wait.
#include <filesystem>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "common/codec.h"
#include "config/config_loader.h"
#include "tools/cli/client.h"
#include "tools/cli/json_value.h"
#include "tools/cli/status_view.h"

namespace {

using namespace zfleet;
constexpr int kOk = 0, kFailed = 1, kUsage = 2, kNoAnswer = 3;

struct Options {
  std::string config, frontend, results;
  std::string key, server_key;  // CURVE files
  common::CurveOptions curve;   // from them
  int timeout_ms = 5000;
  // submit
  std::string script, func, args, kwargs, type, id;
  uint64_t task_timeout_ms = 0;
  std::optional<uint32_t> max_retries;
  std::optional<uint64_t> wait_ms;
  uint64_t delay_ms = 0;
  std::optional<uint32_t> retries;
  std::vector<std::string> retry_on;
  std::optional<uint64_t> retry_backoff_ms;
  std::vector<std::string> cancel_ids;
  // get / cache clear
  std::string get_id;
  std::optional<std::string> clear_script;
  bool json = false;
};

int print_result(const common::Reply& r) {
  std::cout << cli::to_json(r.root(), 2) << "\n";
  if (r.op == "error") return kFailed;
  if (r.state == "done") return kOk;
  if (r.state == "failed") return kFailed;
  return kNoAnswer;  // pending, running, unknown
}

int fail(const std::string& what) {
  std::cerr << "zfleet: " << what << "\n";
  return kNoAnswer;
}

int do_get(cli::Client& results, const std::string& id, uint64_t wait_ms) {
  auto r = results.call(common::encode_get(id, wait_ms, {}), std::chrono::milliseconds(wait_ms));
  if (!r) return fail(r.error());
  return print_result(*r);
}

int do_submit(zmq::context_t& ctx, const Options& o) {
  common::SubmitArgs a;
  a.script = o.script;
  a.func = o.func;
  a.type = o.type;
  a.id = o.id;
  a.timeout_ms = o.task_timeout_ms;
  a.max_retries = o.max_retries;
  a.delay_ms = o.delay_ms;
  a.retries = o.retries;
  a.retry_on = o.retry_on;
  a.retry_backoff_ms = o.retry_backoff_ms;
  for (auto [text, out, name] : {std::tuple{&o.args, &a.args_msgpack, "--args"},
                                 std::tuple{&o.kwargs, &a.kwargs_msgpack, "--kwargs"}}) {
    if (text->empty()) continue;
    auto packed = cli::json_to_msgpack(*text);
    if (!packed) {
      std::cerr << "zfleet: " << name << ": " << packed.error() << "\n";
      return kUsage;
    }
    auto decoded = common::decode_msgpack(*packed);
    auto type = decoded ? decoded->get().type : msgpack::type::NIL;
    bool is_array = type == msgpack::type::ARRAY, is_map = type == msgpack::type::MAP;
    if (out == &a.args_msgpack ? !is_array : !is_map) {
      std::cerr << "zfleet: " << name << " must be a JSON " << (out == &a.args_msgpack ? "array" : "object")
                << ", got " << *text << "\n";
      return kUsage;
    }
    *out = std::move(*packed);
  }
  cli::Client frontend(ctx, o.frontend, std::chrono::milliseconds(o.timeout_ms), o.curve);
  auto r = frontend.call(common::encode_submit(a, {}));
  if (!r) return fail(r.error());
  if (r->op != "accepted") return print_result(*r);
  if (!o.wait_ms) {
    std::cout << r->id << "\n";
    return kOk;
  }
  cli::Client results(ctx, o.results, std::chrono::milliseconds(o.timeout_ms), o.curve);
  return do_get(results, r->id, *o.wait_ms);
}

int do_status(zmq::context_t& ctx, const Options& o) {
  cli::Client results(ctx, o.results, std::chrono::milliseconds(o.timeout_ms), o.curve);
  auto r = results.call(common::encode_status_request({}));
  if (!r) return fail(r.error());
  if (r->op != "status") return print_result(*r);
  std::cout << (o.json ? cli::to_json(r->root(), 2) + "\n" : cli::status_table(r->root()));
  return kOk;
}

// One line per id: "ID OUTCOME" (cancelled, cancelling, too_late, unknown).
int do_cancel(zmq::context_t& ctx, const Options& o) {
  cli::Client results(ctx, o.results, std::chrono::milliseconds(o.timeout_ms), o.curve);
  int rc = kOk;
  for (const auto& id : o.cancel_ids) {
    auto r = results.call(common::encode_cancel(id, {}));
    if (!r) return fail(r.error());
    if (r->op != "cancel") {
      print_result(*r);
      rc = kFailed;
      continue;
    }
    std::cout << id << " " << r->outcome << "\n";
    if (r->outcome != "cancelled" && r->outcome != "cancelling") rc = kFailed;
  }
  return rc;
}

int do_clear(zmq::context_t& ctx, const Options& o) {
  cli::Client results(ctx, o.results, std::chrono::milliseconds(o.timeout_ms), o.curve);
  auto r = results.call(common::encode_clear_cache(o.clear_script, {}));
  if (!r) return fail(r.error());
  if (r->op != "ok") return print_result(*r);
  std::cout << "ok\n";
  return kOk;
}

// Refuses to replace a key pair: a fleet's keys overwritten by a typo lock
// out every process that trusted the old public key.
int do_keygen(const std::string& path, bool force) {
  if (!force && (std::filesystem::exists(path + ".key") || std::filesystem::exists(path + ".pub"))) {
    std::cerr << "zfleet: " << path << ".key or .pub exists; --force replaces them\n";
    return kUsage;
  }
  auto keys = common::generate_key_pair();
  if (!keys) return fail(keys.error());
  if (auto written = common::write_key_pair(path, *keys); !written) {
    std::cerr << "zfleet: " << written.error() << "\n";
    return kUsage;
  }
  std::cout << "wrote " << path << ".key (secret, mode 0600) and " << path << ".pub: " << keys->public_z85 << "\n";
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"zfleet: submit tasks to a zfleet broker and read results"};
  app.require_subcommand(1);
  Options o;
  app.add_option("-c,--config", o.config, "read endpoints from this fleet YAML")->check(CLI::ExistingFile);
  app.add_option("--frontend", o.frontend, "frontend endpoint (default from config)");
  app.add_option("--results", o.results, "results endpoint (default from config)");
  app.add_option("--timeout-ms", o.timeout_ms, "how long to wait for the broker")->default_val(5000);
  app.add_option("--key", o.key, "own CURVE key pair (.key from `zfleet keygen`)");
  app.add_option("--server-key", o.server_key, "the broker's CURVE public key (.pub)");

  auto* submit = app.add_subcommand("submit", "submit a task; prints its id (or its result with --wait)");
  submit->add_option("script", o.script, "script path under a script root, or builtin:NAME")->required();
  submit->add_option("--func", o.func, "function to call (default main)");
  submit->add_option("--args", o.args, "positional arguments as a JSON array");
  submit->add_option("--kwargs", o.kwargs, "keyword arguments as a JSON object");
  submit->add_option("--type", o.type, "task type")->check(CLI::IsMember({"io", "cpu"}));
  submit->add_option("--id", o.id, "task id (default: the broker makes one)");
  submit->add_option("--task-timeout-ms", o.task_timeout_ms, "task timeout_ms");
  submit->add_option("--max-retries", o.max_retries, "re-dispatches after a lost worker");
  submit->add_option("--wait", o.wait_ms, "wait up to MS for the result and print it");
  submit->add_option("--delay-ms", o.delay_ms, "run no sooner than MS after acceptance");
  submit->add_option("--retries", o.retries, "re-runs after a failure whose code is in --retry-on");
  submit->add_option("--retry-on", o.retry_on, "a task error code to retry (repeatable; default exception, timeout)");
  submit->add_option("--retry-backoff-ms", o.retry_backoff_ms, "wait before the first retry, doubled each time");

  auto* get = app.add_subcommand("get", "print a task's state and result");
  get->add_option("id", o.get_id, "task id")->required();
  uint64_t get_wait = 0;
  get->add_option("--wait", get_wait, "long-poll up to MS for the task to finish");

  auto* cancel = app.add_subcommand("cancel", "cancel tasks: prints 'ID OUTCOME' for each");
  cancel->add_option("id", o.cancel_ids, "task ids")->required();

  auto* status = app.add_subcommand("status", "show queues, tasks, workers and cache");
  status->add_flag("--json", o.json, "print the raw status as JSON");

  auto* cache = app.add_subcommand("cache", "result and module caches");
  cache->require_subcommand(1);
  auto* clear = cache->add_subcommand("clear", "make every worker reload task scripts");
  clear->add_option("--script", o.clear_script, "only this script");

  auto* keygen = app.add_subcommand("keygen", "write a CURVE key pair: PATH.key (secret) and PATH.pub");
  std::string key_path;
  bool force = false;
  keygen->add_option("path", key_path, "PATH: writes PATH.key and PATH.pub")->required();
  keygen->add_flag("--force", force, "replace an existing pair");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kUsage;
  }
  if (*keygen) return do_keygen(key_path, force);
  auto curve = common::client_curve(o.key, o.server_key);
  if (!curve) {
    std::cerr << "zfleet: " << curve.error() << "\n";
    return kUsage;
  }
  o.curve = std::move(*curve);
  try {
    config::fill_client_endpoints(o.config, o.frontend, o.results);
  } catch (const config::ConfigError& e) {
    std::cerr << "zfleet: " << e.what() << "\n";
    return kUsage;
  }
  zmq::context_t ctx(1);
  if (*submit) return do_submit(ctx, o);
  if (*get) {
    cli::Client results(ctx, o.results, std::chrono::milliseconds(o.timeout_ms), o.curve);
    return do_get(results, o.get_id, get_wait);
  }
  if (*status) return do_status(ctx, o);
  if (*cancel) return do_cancel(ctx, o);
  return do_clear(ctx, o);
}
