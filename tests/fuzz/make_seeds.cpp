// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<name>/)
// and their dictionaries (tests/fuzz/dict/<name>.dict), with zfleet's own
// encoders, so every seed is a valid input of today's format:
//   cmake --build build-fuzz --target fuzz_make_seeds
//   build-fuzz/tests/fuzz/fuzz_make_seeds tests/fuzz
// Re-run it after a format change and commit what it writes. Seeds are
// named after what they hold; a target's corpus directory is replaced whole.
// The config seeds also take config/fleet.yaml and config/example-full.yaml.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "broker/journal/format.h"
#include "broker/journal/snapshot.h"
#include "common/codec.h"
#include "common/journal_codec.h"
#include "common/msgpack_writer.h"
#include "common/worker_link.h"
#include "config/schema.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;
using namespace zfleet;
using namespace zfleet::common;

using Corpus = std::map<std::string, std::string>;  // file name -> bytes

std::string pack_args(const std::vector<std::string>& strs) {
  std::string out;
  MsgpackWriter w(out);
  w.array(static_cast<uint32_t>(strs.size()));
  for (const auto& s : strs) w.str(s);
  return out;
}

std::string frames_input(const Frames& frames) {
  for (const auto& f : frames) {
    if (fuzz::view(f).find(fuzz::kFrameSeparator) != std::string_view::npos) {
      std::fprintf(stderr, "seed frame holds the separator byte: pick other values\n");
      std::exit(1);
    }
  }
  return fuzz::joined(frames);
}

std::string with_cmd(const Frames& frames) { return frames_input(frames); }

Corpus request_seeds() {
  Corpus c;
  SubmitArgs hello;
  hello.script = "hello.py";
  hello.args_msgpack = pack_args({"ann"});
  c["submit"] = encode_submit(hello, "");
  SubmitArgs full;
  full.script = "math_ops.py";
  full.func = "fib";
  full.args_msgpack = "\x91\x1e";  // [30]
  full.kwargs_msgpack = "\x81\xa1k\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00";  // {"k": 1.5}
  full.type = "cpu";
  full.output = true;
  full.id = "job-1";
  full.timeout_ms = 500;
  full.max_retries = 2;
  full.delay_ms = 5000;
  full.retries = 2;
  full.retry_on = {"exception", "timeout"};
  full.retry_backoff_ms = 200;
  c["submit_full"] = encode_submit(full, "\x93\x01\xa1x\xc0");  // corr [1, "x", nil]
  SubmitArgs builtin;
  builtin.script = "builtin:sleep";
  builtin.args_msgpack = "\x91\x0a";
  SubmitArgs bad;
  bad.script = "../escape.py";
  c["submit_batch"] = encode_submit_batch({hello, builtin, bad}, "\x07");
  c["get"] = encode_get("job-1", 2000, "\xa1" "c");
  c["get_many"] = encode_get_many({"job-1", "~Jd4sA9qP3mVw6e"}, 0, "");
  c["status"] = encode_status_request("");
  c["clear_cache"] = encode_clear_cache(std::string("hello.py"), "");
  c["clear_cache_all"] = encode_clear_cache(std::nullopt, "\x2a");
  c["cancel"] = encode_cancel("job-1", "");
  c["reply_accepted"] = encode_accepted("job-1", "\x01");
  ResultRecord rec;
  rec.id = "job-1";
  rec.result = "\xa9hello ann";
  rec.worker = "io-vm-1";
  rec.attempts = 1;
  c["reply_result"] = encode_result("job-1", TaskState::done, &rec, "");
  c["reply_error"] = encode_error({ErrorCode::bad_request, "field 'script' is required"}, "", "");
  c["reply_cancel"] = encode_cancel_reply("job-1", CancelOutcome::cancelling, "");
  return c;
}

Corpus request_frames_seeds() {
  Corpus c;
  std::string body = encode_get("job-1", 0, "");
  std::string sep(1, fuzz::kFrameSeparator);
  c["req_delimiter"] = "peer-1" + sep + sep + body;  // [identity][""][body]
  c["dealer"] = "peer-1" + sep + body;             // [identity][body]
  std::string many = "peer-1";
  for (int i = 0; i < 9; ++i) many += sep + "env";
  c["too_many_frames"] = many + sep + body;
  c["identity_only"] = "peer-1";
  return c;
}

WorkerInfo worker_info() {
  WorkerInfo i;
  i.id = "io-vm-17";
  i.host = "vm";
  i.pid = 17784;
  i.threads = 8;
  i.capacity = 10;
  i.incarnation = 0x1234567890ULL;
  return i;
}

Corpus worker_link_seeds() {
  Corpus c;
  std::string payload = encode_task_payload("hello.py", "main", pack_args({"ann"}), "");
  c["ready"] = with_cmd(encode_ready(worker_info()));
  c["task"] = with_cmd(encode_task("job-1", 42, 1, 30000, payload));
  ResultMessage ok;
  ok.id = "job-1";
  ok.dispatch = 42;
  ok.ok = true;
  ok.run_us = 2685;
  ok.result = "\xa9hello ann";
  c["result_ok"] = with_cmd(encode_result(ok));
  ResultMessage failed = ok;
  failed.ok = false;
  failed.error = {TaskErrorCode::exception, "boom", "ValueError", "Traceback ..."};
  c["result_failed"] = with_cmd(encode_result(failed));
  c["clear"] = with_cmd(encode_clear(std::string("hello.py")));
  c["clear_all"] = with_cmd(encode_clear(std::nullopt));
  c["cancel"] = with_cmd(encode_cancel(42));
  c["welcome"] = with_cmd(encode_welcome(0x5eed));
  c["bye"] = with_cmd(encode_bye());
  return c;
}

Corpus heartbeat_seeds() {
  Corpus c;
  Heartbeat hb;
  hb.info = worker_info();
  hb.seq = 7;
  hb.active = 2;
  hb.queued = 1;
  hb.done = 100;
  hb.failed = 3;
  hb.rss_bytes = 52428800;
  hb.token = 0x5eed;
  c["heartbeat"] = frames_input(encode_heartbeat(hb));
  hb.info.pool = "cpu";
  hb.info.host.clear();
  c["heartbeat_cpu"] = frames_input(encode_heartbeat(hb));
  return c;
}

Corpus task_payload_seeds() {
  Corpus c;
  c["hello"] = encode_task_payload("hello.py", "main", pack_args({"ann"}), "");
  c["kwargs"] = encode_task_payload("math_ops.py", "fib", "\x91\x1e", "\x81\xa1n\x05");
  c["builtin"] = encode_task_payload("builtin:echo", "main", "", "");
  return c;
}

AcceptRecord accept_record(const std::string& id) {
  AcceptRecord a;
  a.id = id;
  a.pool = "cpu";
  a.payload = encode_task_payload("hello.py", "main", pack_args({"ann"}), "");
  a.timeout_ms = 30000;
  a.max_retries = 1;
  a.retries = 2;
  a.retry_on = kDefaultRetryOn;
  a.retry_backoff_ms = 1000;
  a.accepted_wall_ms = 1700000000000;
  a.run_after_wall_ms = 0;
  return a;
}

FinishRecord finish_record(const std::string& id, bool ok) {
  FinishRecord f;
  f.rec.id = id;
  f.rec.state = ok ? TaskState::done : TaskState::failed;
  if (ok) {
    f.rec.result = "\xa9hello ann";
  } else {
    f.rec.error = {TaskErrorCode::timeout, "task exceeded 500 ms", "", ""};
  }
  f.rec.worker = "io-vm-17";
  f.rec.attempts = 1;
  f.rec.queued_us = 29;
  f.rec.run_us = 2685;
  f.finished_wall_ms = 1700000000500;
  return f;
}

Corpus journal_codec_seeds() {
  Corpus c;
  c["accept"] = encode_journal(accept_record("job-1"));
  c["dispatch"] = encode_journal(DispatchRecord{"job-1", 42, 1, 0, 0});
  c["retry"] = encode_journal(RetryRecord{"job-1", 1, 1, 1700000001500});
  c["finish_done"] = encode_journal(finish_record("job-1", true));
  c["finish_failed"] = encode_journal(finish_record("job-2", false));
  return c;
}

// (type, payload) records of one task's life and of a second, finished one.
std::vector<std::pair<JournalType, std::string>> lifecycle() {
  return {
      {JournalType::accept, encode_journal(accept_record("job-1"))},
      {JournalType::dispatch, encode_journal(DispatchRecord{"job-1", 42, 1, 0, 0})},
      {JournalType::retry, encode_journal(RetryRecord{"job-1", 1, 1, 1700000001500})},
      {JournalType::accept, encode_journal(accept_record("job-2"))},
      {JournalType::dispatch, encode_journal(DispatchRecord{"job-1", 43, 2, 0, 1})},
      {JournalType::finish, encode_journal(finish_record("job-1", true))},
      {JournalType::finish, encode_journal(finish_record("job-3", false))},
  };
}

Corpus journal_format_seeds() {
  using namespace zfleet::broker::journal;
  Corpus c;
  std::string segment;
  append_file_header(segment);
  for (const auto& [type, payload] : lifecycle()) append_record(segment, static_cast<uint8_t>(type), payload);
  // The first byte is the target's mode: 0 as is, 1 checksums fixed up.
  c["segment"] = std::string(1, '\0') + segment;
  c["segment_torn"] = std::string(1, '\0') + segment.substr(0, segment.size() - 7);
  std::string snapshot;
  append_file_header(snapshot);
  append_snapshot_begin(snapshot, 3);
  append_record(snapshot, 1, encode_journal(accept_record("job-2")));
  append_record(snapshot, 4, encode_journal(finish_record("job-1", true)));
  append_snapshot_end(snapshot, 2);
  c["snapshot"] = std::string(1, '\0') + snapshot;
  c["snapshot_no_trailer"] = std::string(1, '\1') + snapshot.substr(0, snapshot.size() - 25);
  c["empty_segment"] = std::string(1, '\0') + segment.substr(0, kFileHeaderBytes);
  return c;
}

Corpus recovery_seeds() {
  Corpus c;
  std::string all;
  for (const auto& [type, payload] : lifecycle()) {
    all.push_back(static_cast<char>(type));
    all.push_back(static_cast<char>(payload.size() & 0xff));
    all.push_back(static_cast<char>(payload.size() >> 8));
    all += payload;
  }
  c["lifecycle"] = all;
  return c;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Corpus config_seeds(const fs::path& source_dir) {
  Corpus c;
  c["fleet"] = read_text(source_dir / "config/fleet.yaml");
  c["example_full"] = read_text(source_dir / "config/example-full.yaml");
  c["small"] =
      "broker:\n  frontend: tcp://127.0.0.1:5555\n  queue_threads: 2\n"
      "workers:\n  io: {processes: 1, threads: 4}\n"
      "python:\n  script_roots: [tasks, /srv/tasks]\n";
  c["bad_value"] = "broker:\n  queue_threads: 0\n";
  c["unknown_key"] = "broker:\n  frontnd: x\n";
  c["two_documents"] = "cache: {ttl_s: 60}\n---\nlogging: {level: debug}\n";
  return c;
}

Corpus cli_json_seeds() {
  Corpus c;
  c["strings"] = "[\"ann\", \"b\\u00e9\\n\"]";
  c["numbers"] = "[30, -7, 1.5, 1e300, 18446744073709551615]";
  c["object"] = "{\"a\": 1, \"b\": [true, false, null], \"c\": {\"d\": \"x\"}}";
  c["plain"] = "[yes, ~, abc]";  // YAML, not JSON: refused
  c["base64"] = "[\"base64:AP8Q\", {\"k\": \"base64:\"}, \"base64:Zg==\"]";
  c["bigint"] = "[18446744073709551616, -9223372036854775809, 1e400]";
  return c;
}

// Every section and key name of the schema, plus some YAML syntax.
std::vector<std::string> config_words() {
  std::set<std::string> words = {"---", "&a", "*a", "!!int", "!!str", "{", "}", "[", "]", "- ",
                                 ": ", "tcp://127.0.0.1:5555", "'", "\\\""};
  auto add = [&words](std::string_view key, auto&&...) {
    size_t start = 0;
    for (size_t dot = key.find('.'); ; dot = key.find('.', start)) {
      words.insert(std::string(key.substr(start, dot - start)) + ":");
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  };
  config::FleetConfig cfg;
  config::schema::for_each_number(cfg, add);
  config::schema::for_each_string(cfg, add);
  add(config::schema::kScriptRootsKey);
  return {words.begin(), words.end()};
}

// libFuzzer dictionary entries: msgpack str encodings of the names a
// decoder looks for (fixstr: 0xa0 | length).
std::string fixstr_entries(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    char head[8];
    std::snprintf(head, sizeof head, "\\x%02x", 0xa0 | static_cast<unsigned>(n.size()));
    out += "\"" + std::string(head) + n + "\"\n";
  }
  return out;
}

std::string plain_entries(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += "\"" + w + "\"\n";
  return out;
}

void write_corpus(const fs::path& dir, const Corpus& corpus) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& [name, bytes] : corpus) {
    std::ofstream(dir / name, std::ios::binary) << bytes;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s TESTS_FUZZ_DIR (tests/fuzz)\n", argv[0]);
    return 2;
  }
  fs::path out(argv[1]);
  fs::path source_dir = fs::absolute(out).parent_path().parent_path();
  write_corpus(out / "corpus/request", request_seeds());
  write_corpus(out / "corpus/request_frames", request_frames_seeds());
  write_corpus(out / "corpus/worker_link", worker_link_seeds());
  write_corpus(out / "corpus/heartbeat", heartbeat_seeds());
  write_corpus(out / "corpus/task_payload", task_payload_seeds());
  write_corpus(out / "corpus/journal_codec", journal_codec_seeds());
  write_corpus(out / "corpus/journal_format", journal_format_seeds());
  write_corpus(out / "corpus/recovery", recovery_seeds());
  write_corpus(out / "corpus/config", config_seeds(source_dir));
  write_corpus(out / "corpus/cli_json", cli_json_seeds());

  const std::vector<std::string> request_keys = {
      "op", "corr", "submit", "submit_batch", "get", "get_many", "status", "clear_cache",
      "cancel", "script", "func", "args", "kwargs", "type", "id", "timeout_ms", "max_retries",
      "delay_ms", "retries", "retry_on", "retry_backoff_ms", "tasks", "ids", "wait_ms",
      "io", "cpu", "main", "builtin:", "hello.py", "exception", "timeout", "cancelled",
      "worker_lost", "accepted", "error", "result", "state", "code", "message", "outcome"};
  const std::vector<std::string> link_keys = {
      "id", "type", "host", "pid", "threads", "capacity", "incarnation", "seq", "active",
      "queued", "done", "failed", "rss_bytes", "token", "io", "cpu", "hb", "code", "message",
      "traceback", "exception", "timeout", "cancelled", "worker_lost"};
  fs::create_directories(out / "dict");
  std::ofstream(out / "dict/request.dict") << fixstr_entries(request_keys);
  std::ofstream(out / "dict/request_frames.dict") << fixstr_entries(request_keys);
  std::ofstream(out / "dict/worker_link.dict") << fixstr_entries(link_keys);
  std::ofstream(out / "dict/heartbeat.dict") << fixstr_entries(link_keys);
  std::ofstream(out / "dict/config.dict") << plain_entries(config_words());
  std::ofstream(out / "dict/cli_json.dict") << plain_entries(
      {"null", "true", "false", "\\\"", "\\\\u00", "e+", "&a", "*a", "!!", "{", "}", "[", "]"});
  return 0;
}
