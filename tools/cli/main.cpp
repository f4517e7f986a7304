// zfleet: the command-line client. Commands and flags are described in
// docs/cli.md and by `zfleet --help`; the exit codes in exit_codes.h.
//   zfleet submit SCRIPT [--func F] [--args JSON] [--kwargs JSON] [--type POOL] [--id ID]
//                        [--task-timeout-ms N] [--max-retries N] [--wait MS] [--delay-ms N]
//                        [--retries N] [--retry-on CODE]... [--retry-backoff-ms N] [--output]
//   zfleet submit-batch [FILE] [--chunk N]   JSON lines, one submit object each
//   zfleet get ID [--wait MS]
//   zfleet wait ID... [--timeout-ms N]
//   zfleet cancel ID...
//   zfleet status [--json | --watch [--interval S] [--sort COLUMN] [--count N]]
//   zfleet top [--interval S] [--sort COLUMN] [--count N]   (status --watch)
//   zfleet reload [--script S]           (`cache clear`: hidden deprecated alias)
//   zfleet keygen PATH [--force]         writes PATH.key (0600) and PATH.pub
// Every command but keygen takes --key FILE and --server-key FILE for CURVE.
// This file only parses the command line and picks the command (commands.h).
#include <iostream>

#include <CLI/CLI.hpp>

#include "config/config_loader.h"
#include "tools/cli/commands.h"
#include "tools/cli/exit_codes.h"
#include "tools/cli/suggest.h"
#include "tools/cli/watch_model.h"

namespace {

using namespace zfleet;
using namespace zfleet::cli;

void add_submit(CLI::App& app, Options& o) {
  auto* s = app.add_subcommand("submit", "submit a task; prints its id (or its result with --wait)");
  auto& a = o.submit;
  s->add_option("script", a.script, "script path under a script root, or builtin:NAME")->required();
  s->add_option("--func", a.func, "function to call (default main)");
  s->add_option("--args", o.args_json, "positional arguments as a JSON array (\"base64:...\" strings are bytes)");
  s->add_option("--kwargs", o.kwargs_json, "keyword arguments as a JSON object");
  s->add_option("--type", a.type, "pool: io (default), cpu, or one of workers.pools");
  s->add_option("--id", a.id, "task id (default: the broker makes one)");
  s->add_option("--task-timeout-ms", a.timeout_ms, "task timeout_ms (default: the broker's)");
  s->add_option("--max-retries", a.max_retries, "re-dispatches after a lost worker");
  s->add_option("--wait", o.submit_wait_ms, "wait up to MS for the result and print it");
  s->add_option("--delay-ms", a.delay_ms, "run no sooner than MS after acceptance");
  s->add_option("--retries", a.retries, "re-runs after a failure whose code is in --retry-on");
  s->add_option("--retry-on", a.retry_on, "a task error code to retry (repeatable; default exception, timeout)");
  s->add_option("--retry-backoff-ms", a.retry_backoff_ms, "wait before the first retry, doubled each time");
  s->add_flag("--output", a.output, "return the task's stdout/stderr with its result");
}

// The options of status --watch, also taken by its alias `top`.
void add_watch_options(CLI::App* cmd, Options& o) {
  cmd->add_option("--interval", o.interval_s, "--watch: seconds between refreshes (default 1)")
      ->check(CLI::Range(0.1, 86400.0));
  cmd->add_option("--sort", o.sort, "--watch: sort the workers by this column (default pool)")
      ->check(CLI::IsMember(sort_key_names()));
  cmd->add_option("--count", o.count, "--watch: stop after N refreshes (default: until q)");
}

void add_others(CLI::App& app, Options& o) {
  auto* batch = app.add_subcommand("submit-batch",
      "submit the tasks of FILE (or stdin): JSON lines, one submit object each; prints one line per task");
  batch->add_option("file", o.batch_file, "JSON-lines file; - or absent: stdin");
  batch->add_option("--chunk", o.chunk, "tasks per submit_batch request (default broker.max_batch)")
      ->check(CLI::Range(1u, 1000000u));

  auto* get = app.add_subcommand("get", "print a task's state and result");
  get->add_option("id", o.get_id, "task id")->required();
  get->add_option("--wait", o.get_wait_ms, "long-poll up to MS for the task to finish");

  auto* wait = app.add_subcommand("wait", "wait for tasks to finish; prints each result as a JSON line as it comes");
  wait->add_option("id", o.ids, "task ids")->required();
  wait->add_option("--timeout-ms", o.wait_timeout_ms, "give up after MS (exit 3); default: no limit");

  auto* cancel = app.add_subcommand("cancel", "cancel tasks: prints 'ID OUTCOME' for each");
  cancel->add_option("id", o.ids, "task ids")->required();

  auto* status = app.add_subcommand("status", "show queues, tasks, result cache and workers");
  auto* json = status->add_flag("--json", o.json, "print the raw status reply as JSON");
  status->add_flag("--watch", o.watch, "refresh a table of pools and workers until q (keys: docs/cli.md)")
      ->excludes(json);
  add_watch_options(status, o);
  auto* top = app.add_subcommand("top", "the same as status --watch");
  add_watch_options(top, o);

  auto* reload = app.add_subcommand("reload",
      "make every worker reload its task scripts (drops loaded modules; results are untouched)");
  reload->add_option("--script", o.reload_script, "only this script");

  // Deprecated: `cache clear` read as if it cleared the result cache.
  auto* cache = app.add_subcommand("cache", "deprecated: use reload")->group("");
  cache->require_subcommand(1);
  auto* clear = cache->add_subcommand("clear", "deprecated alias of reload");
  clear->add_option("--script", o.reload_script, "only this script");

  auto* keygen = app.add_subcommand("keygen", "write a CURVE key pair: PATH.key (secret) and PATH.pub");
  keygen->add_option("path", o.key_path, "PATH: writes PATH.key and PATH.pub")->required();
  keygen->add_flag("--force", o.force, "replace an existing pair");
}

// The first word of argv that is neither an option nor an option's value:
// what the user meant as the command.
std::optional<std::string> command_word(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") return i + 1 < argc ? std::optional<std::string>(argv[i + 1]) : std::nullopt;
    if (arg.size() < 2 || arg[0] != '-') return arg;
    const auto* opt = arg.find('=') == std::string::npos ? app.get_option_no_throw(arg) : nullptr;
    if (opt && opt->get_items_expected_max() > 0) ++i;  // skip its value
  }
  return std::nullopt;
}

// A parse error when no command was recognised: "unknown command 'sumbit';
// did you mean 'submit'?" instead of CLI11's "A subcommand is required".
// Returns false when the error is about something else.
bool explain_command(CLI::App& app, int argc, char** argv) {
  if (!app.get_subcommands().empty()) return false;
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](CLI::App* s) { return !s->get_group().empty(); }))
    names.push_back(sub->get_name());
  auto word = command_word(app, argc, argv);
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
  if (!word) {
    std::cerr << "zfleet: a command is required (" << all << "); see zfleet --help\n";
  } else if (auto near = closest_name(*word, names)) {
    std::cerr << "zfleet: unknown command '" << *word << "'; did you mean '" << *near << "'?\n";
  } else {
    std::cerr << "zfleet: unknown command '" << *word << "' (commands: " << all << ")\n";
  }
  return true;
}

// Endpoints from --config (or the defaults) where not given as flags, and
// submit-batch's chunk from broker.max_batch. Returns an exit code on error.
std::optional<int> read_config(Options& o, bool need_chunk) {
  try {
    config::fill_client_endpoints(o.config, o.frontend, o.results);
    if (need_chunk && o.chunk == 0) {
      auto cfg = o.config.empty() ? config::default_config() : config::load_config_file(o.config);
      o.chunk = cfg.broker.max_batch;
    }
  } catch (const config::ConfigError& e) {
    std::cerr << "zfleet: " << e.what() << "\n";
    return kExitUsage;
  }
  return std::nullopt;
}

int run(CLI::App& app, Options& o) {
  auto picked = [&](const char* name) { return app.got_subcommand(name); };
  if (picked("keygen")) return do_keygen(o);
  auto curve = common::client_curve(o.key, o.server_key);
  if (!curve) {
    std::cerr << "zfleet: " << curve.error() << "\n";
    return kExitUsage;
  }
  o.curve = std::move(*curve);
  if (auto rc = read_config(o, picked("submit-batch"))) return *rc;
  zmq::context_t ctx(1);
  if (picked("submit")) return do_submit(ctx, o);
  if (picked("submit-batch")) return do_submit_batch(ctx, o);
  if (picked("get")) return do_get(ctx, o);
  if (picked("wait")) return do_wait(ctx, o);
  if (picked("cancel")) return do_cancel(ctx, o);
  if (picked("top")) o.watch = true;
  if (picked("status") || picked("top")) return do_status(ctx, o);
  if (picked("cache")) std::cerr << "zfleet: 'cache clear' is deprecated; use 'zfleet reload'\n";
  return do_reload(ctx, o);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"zfleet: submit tasks to a zfleet broker and read results"};
  app.require_subcommand(1);
  app.footer(kExitCodesHelp);
  Options o;
  app.add_option("-c,--config", o.config, "read endpoints from this fleet YAML")->check(CLI::ExistingFile);
  app.add_option("--frontend", o.frontend, "frontend endpoint (default from config)");
  app.add_option("--results", o.results, "results endpoint (default from config)");
  app.add_option("--timeout-ms", o.timeout_ms, "how long to wait for the broker to answer")->default_val(5000);
  app.add_option("--key", o.key, "own CURVE key pair (.key from `zfleet keygen`)");
  app.add_option("--server-key", o.server_key, "the broker's CURVE public key (.pub)");
  add_submit(app, o);
  add_others(app, o);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    if (explain_command(app, argc, argv)) return kExitUsage;
    app.exit(e);
    return kExitUsage;
  }
  return run(app, o);
}
