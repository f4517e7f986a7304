// Unit tests of common/codec (ZFP/1): client encoders -> broker decoder round
// trips, broker reply encoders -> client decoder, every malformed-input path
// of decode_request, hostile msgpack, a seeded fuzz loop, and task ids.
#include "common/codec.h"

#include <doctest/doctest.h>
#include <sys/resource.h>

#include <functional>
#include <random>
#include <set>
#include <thread>

#include "common/msgpack_writer.h"
#include "common/task_id.h"

using namespace zfleet::common;

namespace {

using Fill = std::function<void(MsgpackWriter&)>;

std::string mp(const Fill& fill) {
  std::string out;
  MsgpackWriter w(out);
  fill(w);
  return out;
}

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

Request decoded(std::string_view body, const CodecLimits& l = {}) {
  auto r = decode_request(body, l);
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message));
  return std::move(*r);
}

// The request-level error of `body`; its message must be non-empty.
WireError refused(std::string_view body, const CodecLimits& l = {}) {
  auto r = decode_request(body, l);
  REQUIRE_FALSE(r.has_value());
  CHECK_FALSE(r.error().message.empty());
  return r.error();
}

void bad_request(std::string_view body) { CHECK(refused(body).code == ErrorCode::bad_request); }

// A submit whose only task must be refused with bad_request.
void bad_task(std::string_view body) {
  Request r = decoded(body);
  REQUIRE(r.tasks.size() == 1);
  REQUIRE_FALSE(r.tasks[0].has_value());
  CHECK(r.tasks[0].error().code == ErrorCode::bad_request);
  CHECK_FALSE(r.tasks[0].error().message.empty());
}

// {"op": "submit", "script": "t.py", key: <value>}
std::string submit_with(std::string_view key, const Fill& value) {
  return mp([&](MsgpackWriter& w) {
    w.map(3).kv("op", "submit").kv("script", "t.py").str(key);
    value(w);
  });
}

Reply reply_of(const std::string& body) {  // `body` must outlive the Reply
  auto r = decode_reply(body);
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error()));
  return std::move(*r);
}

const msgpack::object& at(const msgpack::object& m, std::string_view key) {
  const msgpack::object* f = find_field(m, key);
  REQUIRE_MESSAGE(f != nullptr, "missing key " << key);
  return *f;
}

std::string raw(const msgpack::object& o) {
  std::string s;
  append_msgpack(s, o);
  return s;
}

std::set<std::string> keys(const msgpack::object& m) {
  std::set<std::string> k;
  REQUIRE(m.type == msgpack::type::MAP);
  for (uint32_t i = 0; i < m.via.map.size; ++i) k.emplace(as_view(m.via.map.ptr[i].key));
  return k;
}

bool is_uint(const msgpack::object& o) { return o.type == msgpack::type::POSITIVE_INTEGER; }
bool is_int(const msgpack::object& o) {
  return is_uint(o) || o.type == msgpack::type::NEGATIVE_INTEGER;
}
bool is_str(const msgpack::object& o, std::string_view v) {
  return o.type == msgpack::type::STR && as_view(o) == v;
}

const std::string kCorr = mp([](MsgpackWriter& w) { w.map(2).kv("a", "b").str("n").array(2).u64(1).nil(); });

}  // namespace

TEST_SUITE("codec") {
  TEST_CASE("submit round trip: every field reaches the broker and the worker payload") {
    SubmitArgs a;
    a.script = "pkg/job.py";
    a.func = "run";
    a.args_msgpack = mp([](MsgpackWriter& w) { w.array(3).u64(1).str("two").nil(); });
    a.kwargs_msgpack = mp([](MsgpackWriter& w) { w.map(2).kv("k", "v").str("n").i64(-5); });
    a.type = "cpu";
    a.id = "job-1";
    a.timeout_ms = 1234;
    a.max_retries = 7;
    std::string body = encode_submit(a, kCorr);
    Request r = decoded(body);
    CHECK(r.op == Op::submit);
    CHECK(r.corr == kCorr);
    REQUIRE(r.tasks.size() == 1);
    REQUIRE(r.tasks[0].has_value());
    const TaskSpec& t = *r.tasks[0];
    CHECK(t.id == "job-1");
    CHECK(t.type == TaskType::cpu);
    CHECK(t.timeout_ms == 1234);
    CHECK(t.max_retries == 7);
    msgpack::object_handle keep;
    auto p = decode_task_payload(t.payload, keep);
    REQUIRE(p.has_value());
    CHECK(p->script == "pkg/job.py");
    CHECK(p->func == "run");
    CHECK(p->args_msgpack == a.args_msgpack);
    CHECK(p->kwargs_msgpack == a.kwargs_msgpack);
  }

  TEST_CASE("submit defaults: func main, type io, max_retries 1, no id, no timeout") {
    SubmitArgs a;
    a.script = "t.py";
    std::string body = encode_submit(a, {});
    Request r = decoded(body);
    CHECK(r.corr.empty());
    REQUIRE(r.tasks.size() == 1);
    REQUIRE(r.tasks[0].has_value());
    CHECK(r.tasks[0]->id.empty());
    CHECK(r.tasks[0]->type == TaskType::io);
    CHECK(r.tasks[0]->max_retries == 1);
    CHECK(r.tasks[0]->timeout_ms == 0);
    msgpack::object_handle keep;
    auto p = decode_task_payload(r.tasks[0]->payload, keep);
    REQUIRE(p.has_value());
    CHECK(p->func == "main");
    CHECK(p->args_msgpack.empty());  // worker side: empty means []
    CHECK(p->kwargs_msgpack.empty());
    // Explicit nil args/kwargs count as absent.
    std::string nil_args = submit_with("args", [](MsgpackWriter& w) { w.nil(); });
    CHECK(decoded(nil_args).tasks[0].has_value());
  }

  TEST_CASE("submit_batch, get, get_many, status, clear_cache round trips") {
    std::vector<SubmitArgs> tasks(3);
    for (int i = 0; i < 3; ++i) {
      tasks[i].script = "s" + std::to_string(i) + ".py";
      tasks[i].id = "id" + std::to_string(i);
    }
    tasks[1].type = "cpu";
    std::string batch = encode_submit_batch(tasks, kCorr);
    Request b = decoded(batch);
    CHECK(b.op == Op::submit_batch);
    CHECK(b.corr == kCorr);
    REQUIRE(b.tasks.size() == 3);
    for (int i = 0; i < 3; ++i) {
      REQUIRE(b.tasks[i].has_value());
      CHECK(b.tasks[i]->id == tasks[i].id);
      msgpack::object_handle keep;
      CHECK(decode_task_payload(b.tasks[i]->payload, keep)->script == tasks[i].script);
    }
    CHECK(b.tasks[1]->type == TaskType::cpu);

    std::string get0 = encode_get("x", 0, {}), get1 = encode_get("y", 500, kCorr);
    Request g0 = decoded(get0), g1 = decoded(get1);
    CHECK((g0.op == Op::get && g0.ids == std::vector<std::string>{"x"} && g0.wait_ms == 0));
    CHECK((g1.ids == std::vector<std::string>{"y"} && g1.wait_ms == 500 && g1.corr == kCorr));

    std::vector<std::string> ids{"c", "a", "b"};
    std::string many = encode_get_many(ids, 70, {});
    Request m = decoded(many);
    CHECK(m.op == Op::get_many);
    CHECK(m.ids == ids);
    CHECK(m.wait_ms == 70);

    std::string st = encode_status_request(kCorr);
    CHECK(decoded(st).op == Op::status);
    CHECK(decoded(st).corr == kCorr);

    std::string all = encode_clear_cache(std::nullopt, {}), one = encode_clear_cache("a/b.py", {});
    CHECK(decoded(all).op == Op::clear_cache);
    CHECK_FALSE(decoded(all).script.has_value());
    CHECK(decoded(one).script == std::optional<std::string>("a/b.py"));
  }

  TEST_CASE("corr of every msgpack type survives into every reply byte-exactly") {
    std::vector<std::string> corrs = {
        bytes({0xc0}), bytes({0xc3}), bytes({0xc2}), bytes({0x05}), bytes({0xcc, 0xff}),
        bytes({0xcd, 0x01, 0x00}), bytes({0xce, 0x00, 0x01, 0x00, 0x00}),
        bytes({0xcf, 0, 0, 0, 1, 0, 0, 0, 0}), bytes({0xe0}), bytes({0xd0, 0x80}),
        bytes({0xd1, 0x80, 0x00}), bytes({0xd2, 0x80, 0, 0, 0}),
        bytes({0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}), bytes({0xca, 0x3f, 0xc0, 0, 0}),
        bytes({0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18}),
        mp([](MsgpackWriter& w) { w.str("abc"); }), mp([](MsgpackWriter& w) { w.str(""); }),
        mp([](MsgpackWriter& w) { w.str(std::string(64, 'x')); }),
        mp([](MsgpackWriter& w) { w.str(std::string(300, 'y')); }),
        mp([](MsgpackWriter& w) { w.bin(std::string("\0\1\2", 3)); }),
        mp([](MsgpackWriter& w) { w.bin(std::string(70000, 'z')); }),
        mp([](MsgpackWriter& w) { w.array(0); }), mp([](MsgpackWriter& w) { w.map(0); }),
        mp([](MsgpackWriter& w) {
          w.array(20);
          for (int i = 0; i < 20; ++i) w.u64(i);
        }),
        kCorr};
    ResultRecord rec;
    rec.result = bytes({0x2a});
    StatusSnapshot snap;
    for (const auto& corr : corrs) {
      CAPTURE(corr.size());
      std::string req = encode_get("x", 0, corr);
      Request r = decoded(req);
      REQUIRE(r.corr == corr);
      std::vector<std::string> replies = {
          encode_accepted("x", r.corr), encode_accepted_batch({std::string("x")}, r.corr),
          encode_error({ErrorCode::queue_full, "m"}, "x", r.corr), encode_ok(r.corr),
          encode_result("x", TaskState::pending, nullptr, r.corr),
          encode_result("x", TaskState::done, &rec, r.corr),
          encode_results({{"x", TaskState::unknown, nullptr}}, r.corr),
          encode_status(snap, r.corr)};
      for (const auto& body : replies) CHECK(reply_of(body).corr == corr);
    }
  }

  TEST_CASE("corr in a non-minimal encoding keeps its value (it is re-encoded)") {
    std::string corr = bytes({0xcf, 0, 0, 0, 0, 0, 0, 0, 5});  // uint64 holding 5
    Request r = decoded(encode_get("x", 0, corr));
    auto want = decode_msgpack(corr);
    auto got = decode_msgpack(r.corr);
    REQUIRE((want && got));
    CHECK(want->get() == got->get());
  }

  TEST_CASE("accepted, accepted_batch, error and ok replies decode to what was sent") {
    std::string acc = encode_accepted("id-1", {});
    Reply a = reply_of(acc);
    CHECK(a.op == "accepted");
    CHECK(a.id == "id-1");
    CHECK(keys(a.root()) == std::set<std::string>{"op", "id"});

    std::vector<std::expected<std::string, WireError>> ids;
    ids.emplace_back("a");
    ids.emplace_back(std::unexpected(WireError{ErrorCode::duplicate_id, "dup b"}));
    ids.emplace_back("c");
    std::string batch = encode_accepted_batch(ids, kCorr);
    Reply b = reply_of(batch);
    CHECK(b.op == "accepted_batch");
    const auto& bi = at(b.root(), "ids");
    const auto& be = at(b.root(), "errors");
    REQUIRE((bi.type == msgpack::type::ARRAY && bi.via.array.size == 3));
    REQUIRE((be.type == msgpack::type::ARRAY && be.via.array.size == 3));
    CHECK(is_str(bi.via.array.ptr[0], "a"));
    CHECK(bi.via.array.ptr[1].type == msgpack::type::NIL);
    CHECK(is_str(bi.via.array.ptr[2], "c"));
    CHECK(be.via.array.ptr[0].type == msgpack::type::NIL);
    CHECK(is_str(at(be.via.array.ptr[1], "code"), "duplicate_id"));
    CHECK(is_str(at(be.via.array.ptr[1], "message"), "dup b"));
    CHECK(be.via.array.ptr[2].type == msgpack::type::NIL);

    std::string err = encode_error({ErrorCode::too_large, "big"}, "id-9", kCorr);
    Reply e = reply_of(err);
    CHECK(e.op == "error");
    CHECK(e.code == "too_large");
    CHECK(e.message == "big");
    CHECK(e.id == "id-9");
    CHECK(e.corr == kCorr);
    std::string bare = encode_error({ErrorCode::shutting_down, "bye"}, {}, {});
    CHECK(keys(reply_of(bare).root()) == std::set<std::string>{"op", "code", "message"});

    std::string okb = encode_ok({});
    CHECK(reply_of(okb).op == "ok");
    CHECK(keys(reply_of(okb).root()) == std::set<std::string>{"op"});
  }

  TEST_CASE("result replies: pending, unknown, done and failed (with Python details)") {
    std::string pend = encode_result("p", TaskState::pending, nullptr, {});
    Reply p = reply_of(pend);
    CHECK((p.op == "result" && p.id == "p" && p.state == "pending"));
    CHECK(keys(p.root()) == std::set<std::string>{"op", "id", "state"});
    std::string unk = encode_result("u", TaskState::unknown, nullptr, {});
    CHECK(reply_of(unk).state == "unknown");

    ResultRecord done;
    done.state = TaskState::done;
    done.result = mp([](MsgpackWriter& w) { w.map(1).str("v").array(2).i64(-1).bin("\xff"); });
    done.worker = "w-1";
    done.attempts = 2;
    done.queued_us = 11;
    done.run_us = 22;
    std::string d = encode_result("d", TaskState::pending, &done, {});  // rec's state wins
    Reply dr = reply_of(d);
    CHECK(dr.state == "done");
    CHECK(raw(at(dr.root(), "result")) == done.result);
    CHECK(is_str(at(dr.root(), "worker"), "w-1"));
    CHECK(at(dr.root(), "attempts").via.u64 == 2);
    CHECK(at(dr.root(), "queued_us").via.u64 == 11);
    CHECK(at(dr.root(), "run_us").via.u64 == 22);
    CHECK(find_field(dr.root(), "error") == nullptr);
    ResultRecord none;  // a task that returned None: result bytes may be empty
    std::string dn = encode_result("n", TaskState::done, &none, {});
    CHECK(at(reply_of(dn).root(), "result").type == msgpack::type::NIL);

    ResultRecord failed;
    failed.state = TaskState::failed;
    failed.error = {TaskErrorCode::exception, "bad value", "ValueError", "Traceback...\n"};
    std::string f = encode_result("f", TaskState::failed, &failed, kCorr);
    Reply fr = reply_of(f);
    CHECK(fr.state == "failed");
    CHECK(fr.corr == kCorr);
    const auto& em = at(fr.root(), "error");
    CHECK(keys(em) == std::set<std::string>{"code", "message", "type", "traceback"});
    CHECK(is_str(at(em, "code"), "exception"));
    CHECK(is_str(at(em, "message"), "bad value"));
    CHECK(is_str(at(em, "type"), "ValueError"));
    CHECK(is_str(at(em, "traceback"), "Traceback...\n"));
    CHECK(find_field(fr.root(), "result") == nullptr);
    failed.error = {TaskErrorCode::timeout, "too slow", "", ""};
    std::string t = encode_result("t", TaskState::failed, &failed, {});
    Reply tr = reply_of(t);
    const auto& tm = at(tr.root(), "error");
    CHECK(keys(tm) == std::set<std::string>{"code", "message"});
    CHECK(is_str(at(tm, "code"), "timeout"));

    std::string many = encode_results({{"f", TaskState::failed, &failed},
                                       {"q", TaskState::running, nullptr},
                                       {"d", TaskState::done, &done}}, kCorr);
    Reply mr = reply_of(many);
    CHECK(mr.op == "results");
    CHECK(mr.corr == kCorr);
    const auto& arr = at(mr.root(), "results");
    REQUIRE((arr.type == msgpack::type::ARRAY && arr.via.array.size == 3));
    CHECK(is_str(at(arr.via.array.ptr[0], "state"), "failed"));
    CHECK(is_str(at(arr.via.array.ptr[1], "id"), "q"));
    CHECK(is_str(at(arr.via.array.ptr[1], "state"), "running"));
    CHECK(raw(at(arr.via.array.ptr[2], "result")) == done.result);
    CHECK(find_field(arr.via.array.ptr[0], "corr") == nullptr);
  }

  TEST_CASE("status reply carries every key of PROTOCOL.md with the right type") {
    StatusSnapshot s;
    s.version = "0.1.0";
    s.uptime_ms = 5;
    s.queue_depth[0] = 3;
    s.queue_depth[1] = 4;
    s.submitted = 10, s.done = 6, s.failed = 1, s.retried = 2, s.running = 1;
    s.workers.push_back({"w1", "io", "h", 42, 8, 1, 2, 6, 1, true, 100, 1 << 20});
    s.workers.push_back({"w2", "cpu", "h", 43, 1, 0, 0, 0, 0, false, 2000, 0});
    s.cache_shards = 16, s.cache_entries = 7, s.cache_bytes = 700;
    s.cache_hits = 5, s.cache_misses = 2, s.cache_evictions = 1, s.replies_dropped = 9;
    std::string body = encode_status(s, {});
    Reply r = reply_of(body);
    const auto& m = r.root();
    CHECK(r.op == "status");
    CHECK(is_str(at(m, "version"), "0.1.0"));
    CHECK(at(m, "uptime_ms").via.u64 == 5);
    const auto& q = at(m, "queues");
    CHECK(at(at(q, "io"), "depth").via.u64 == 3);
    CHECK(at(at(q, "cpu"), "depth").via.u64 == 4);
    const auto& t = at(m, "tasks");
    uint64_t want_tasks[] = {10, 6, 1, 2, 1};
    int i = 0;
    for (auto k : {"submitted", "done", "failed", "retried", "running"}) {
      CHECK(is_uint(at(t, k)));
      CHECK(at(t, k).via.u64 == want_tasks[i++]);
    }
    const auto& ws = at(m, "workers");
    REQUIRE((ws.type == msgpack::type::ARRAY && ws.via.array.size == 2));
    for (uint32_t w = 0; w < 2; ++w) {
      const auto& wm = ws.via.array.ptr[w];
      for (auto k : {"id", "type", "host"}) CHECK(at(wm, k).type == msgpack::type::STR);
      CHECK(is_int(at(wm, "pid")));
      for (auto k : {"threads", "active", "inflight", "done", "failed", "last_heartbeat_ms"})
        CHECK(is_uint(at(wm, k)));
      CHECK(at(wm, "alive").type == msgpack::type::BOOLEAN);
    }
    CHECK(is_str(at(ws.via.array.ptr[0], "id"), "w1"));
    CHECK(at(ws.via.array.ptr[0], "inflight").via.u64 == 2);
    CHECK(at(ws.via.array.ptr[0], "alive").via.boolean);
    CHECK(is_str(at(ws.via.array.ptr[1], "type"), "cpu"));
    CHECK_FALSE(at(ws.via.array.ptr[1], "alive").via.boolean);
    const auto& c = at(m, "cache");
    uint64_t want_cache[] = {16, 7, 700, 5, 2, 1};
    i = 0;
    for (auto k : {"shards", "entries", "bytes", "hits", "misses", "evictions"}) {
      CHECK(is_uint(at(c, k)));
      CHECK(at(c, k).via.u64 == want_cache[i++]);
    }
    CHECK(at(m, "replies_dropped").via.u64 == 9);
  }

  TEST_CASE("task payload round trip, empty args/kwargs, and malformed payloads") {
    std::string args = mp([](MsgpackWriter& w) { w.array(1).bin(std::string("\0x", 2)); });
    std::string pl = encode_task_payload("a.py", "f", args, {});
    msgpack::object_handle keep;
    auto p = decode_task_payload(pl, keep);
    REQUIRE(p.has_value());
    CHECK((p->script == "a.py" && p->func == "f" && p->args_msgpack == args));
    CHECK(p->kwargs_msgpack.empty());
    std::string empty = encode_task_payload("b.py", "main", {}, {});
    auto e = decode_task_payload(empty, keep);
    REQUIRE(e.has_value());
    CHECK((e->args_msgpack.empty() && e->kwargs_msgpack.empty()));
    for (const std::string& badp :
         {std::string(), std::string("\xc1", 1), mp([](MsgpackWriter& w) { w.map(0); }),
          mp([](MsgpackWriter& w) { w.array(3).str("a").str("b").bin(""); }),
          mp([](MsgpackWriter& w) { w.array(4).str("a").str("b").str("").bin(""); }),
          mp([](MsgpackWriter& w) { w.array(4).u64(1).str("b").bin("").bin(""); })}) {
      CHECK_FALSE(decode_task_payload(badp, keep).has_value());
    }
  }

  TEST_CASE("check_script_shape") {
    for (std::string_view good : {"a.py", "dir/sub/x.py", "a..b.py", "./a.py", "..py",
                                  "a/...py", "builtin:echo", "builtin:sleep"}) {
      CAPTURE(good);
      CHECK_FALSE(check_script_shape(good).has_value());
    }
    std::string nul("a\0b.py", 6);
    std::string at_limit = std::string(1021, 'a') + ".py", over = std::string(1022, 'a') + ".py";
    CHECK_FALSE(check_script_shape(at_limit).has_value());
    for (std::string_view badp : {std::string_view(""), std::string_view("/abs/x.py"),
                                  std::string_view("../x.py"), std::string_view("a/../x.py"),
                                  std::string_view("a/.."), std::string_view("a/b/../../c.py"),
                                  std::string_view(nul), std::string_view(over),
                                  std::string_view("a.txt"), std::string_view("a.py/"),
                                  std::string_view("builtin:")}) {
      CAPTURE(badp);
      auto why = check_script_shape(badp);
      REQUIRE(why.has_value());
      CHECK_FALSE(why->empty());
    }
    // The same check guards submit.
    bad_task(mp([](MsgpackWriter& w) { w.map(2).kv("op", "submit").kv("script", "../x.py"); }));
  }

  TEST_CASE("malformed requests are refused with bad_request and a message") {
    bad_request("");
    bad_request(bytes({0xc1}));                                        // never-used byte
    bad_request(mp([](MsgpackWriter& w) { w.map(2).kv("op", "status"); }).substr(0, 6));
    bad_request(encode_status_request({}) + bytes({0xc0}));            // trailing bytes
    bad_request(mp([](MsgpackWriter& w) { w.array(1).str("op"); }));
    bad_request(mp([](MsgpackWriter& w) { w.u64(7); }));
    bad_request(mp([](MsgpackWriter& w) { w.str("submit"); }));
    bad_request(mp([](MsgpackWriter& w) { w.map(1).kv("script", "a.py"); }));  // no op
    bad_request(mp([](MsgpackWriter& w) { w.map(1).str("op").u64(1); }));
    bad_request(mp([](MsgpackWriter& w) { w.map(1).kv("op", "launch"); }));
    bad_request(mp([](MsgpackWriter& w) { w.map(1).kv("op", "get"); }));       // no id
    bad_request(mp([](MsgpackWriter& w) { w.map(2).kv("op", "get").str("id").u64(1); }));
    bad_request(mp([](MsgpackWriter& w) { w.map(3).kv("op", "get").kv("id", "x").str("wait_ms").i64(-1); }));
    bad_request(mp([](MsgpackWriter& w) { w.map(1).kv("op", "get_many"); }));
    bad_request(mp([](MsgpackWriter& w) { w.map(2).kv("op", "get_many").kv("ids", "x"); }));
    bad_request(mp([](MsgpackWriter& w) { w.map(2).kv("op", "get_many").str("ids").array(2).str("a").u64(1); }));
    bad_request(mp([](MsgpackWriter& w) { w.map(1).kv("op", "submit_batch"); }));
    bad_request(mp([](MsgpackWriter& w) { w.map(2).kv("op", "submit_batch").str("tasks").map(0); }));
    bad_request(mp([](MsgpackWriter& w) { w.map(2).kv("op", "clear_cache").str("script").u64(3); }));

    bad_task(mp([](MsgpackWriter& w) { w.map(1).kv("op", "submit"); }));      // no script
    bad_task(mp([](MsgpackWriter& w) { w.map(2).kv("op", "submit").str("script").array(0); }));
    bad_task(submit_with("args", [](MsgpackWriter& w) { w.map(0); }));
    bad_task(submit_with("args", [](MsgpackWriter& w) { w.str("[]"); }));
    bad_task(submit_with("kwargs", [](MsgpackWriter& w) { w.array(0); }));
    bad_task(submit_with("kwargs", [](MsgpackWriter& w) { w.map(1).u64(1).u64(2); }));
    bad_task(submit_with("func", [](MsgpackWriter& w) { w.str(""); }));
    bad_task(submit_with("func", [](MsgpackWriter& w) { w.u64(1); }));
    bad_task(submit_with("type", [](MsgpackWriter& w) { w.str("gpu"); }));
    bad_task(submit_with("type", [](MsgpackWriter& w) { w.u64(0); }));
    bad_task(submit_with("id", [](MsgpackWriter& w) { w.str(""); }));
    bad_task(submit_with("id", [](MsgpackWriter& w) { w.str(std::string(129, 'i')); }));
    bad_task(submit_with("id", [](MsgpackWriter& w) { w.str("\xff\xfe"); }));
    bad_task(submit_with("id", [](MsgpackWriter& w) { w.str(std::string("a\0b", 3)); }));
    bad_task(submit_with("id", [](MsgpackWriter& w) { w.u64(5); }));
    bad_task(submit_with("timeout_ms", [](MsgpackWriter& w) { w.i64(-1); }));
    bad_task(submit_with("timeout_ms", [](MsgpackWriter& w) { w.raw(bytes({0xcb, 0x40, 0, 0, 0, 0, 0, 0, 0})); }));
    bad_task(submit_with("timeout_ms", [](MsgpackWriter& w) { w.str("100"); }));
    bad_task(submit_with("max_retries", [](MsgpackWriter& w) { w.u64(101); }));
    bad_task(submit_with("max_retries", [](MsgpackWriter& w) { w.i64(-1); }));
    bad_task(mp([](MsgpackWriter& w) { w.map(2).kv("op", "submit_batch").str("tasks").array(1).u64(1); }));

    // The edges that are fine.
    std::string id128 = submit_with("id", [](MsgpackWriter& w) { w.str(std::string(128, 'i')); });
    std::string retries100 = submit_with("max_retries", [](MsgpackWriter& w) { w.u64(100); });
    CHECK(decoded(id128).tasks[0].has_value());
    CHECK(decoded(retries100).tasks[0]->max_retries == 100);
  }

  TEST_CASE("limits: ids and batches over max_batch are too_large; a bad batch item spoils only itself") {
    CodecLimits l;
    l.max_batch = 3;
    std::string ids3 = encode_get_many({"a", "b", "c"}, 0, {});
    std::string ids4 = encode_get_many({"a", "b", "c", "d"}, 0, {});
    CHECK(decoded(ids3, l).ids.size() == 3);
    CHECK(refused(ids4, l).code == ErrorCode::too_large);
    std::vector<SubmitArgs> four(4);
    for (auto& t : four) t.script = "t.py";
    CHECK(refused(encode_submit_batch(four, {}), l).code == ErrorCode::too_large);

    four[1].script = "/etc/passwd.py";
    four[2].type = "gpu";
    std::string mixed = encode_submit_batch(four, {});
    Request r = decoded(mixed);
    REQUIRE(r.tasks.size() == 4);
    CHECK(r.tasks[0].has_value());
    CHECK_FALSE(r.tasks[1].has_value());
    CHECK_FALSE(r.tasks[2].has_value());
    CHECK(r.tasks[3].has_value());
    CHECK(r.tasks[1].error().code == ErrorCode::bad_request);
  }

  TEST_CASE("hostile msgpack is refused without crashing or allocating for the claim") {
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    auto refuses = [](const std::string& body, std::string_view why) {
      WireError e = refused(body);
      CHECK(e.code == ErrorCode::bad_request);
      CHECK_MESSAGE(e.message.find(why) != std::string::npos, e.message);
    };
    refuses(bytes({0xdd, 0xff, 0xff, 0xff, 0xff}), "too many elements");  // array32 of 4G
    refuses(bytes({0xdf, 0xff, 0xff, 0xff, 0xff}), "too many elements");  // map32 of 4G pairs
    refuses(bytes({0xdb, 0xff, 0xff, 0xff, 0xff}), "truncated");          // str32 of 4 GiB
    refuses(bytes({0xc6, 0xff, 0xff, 0xff, 0xff}), "truncated");          // bin32 of 4 GiB
    refuses(bytes({0xdd, 0x00, 0x00, 0x10, 0x00}), "truncated");          // array of 4096, no items
    std::string deep = mp([](MsgpackWriter& w) { w.map(3).kv("op", "submit").kv("script", "t.py").str("args"); });
    std::string nest(1000, '\x91');
    refuses(deep + nest + bytes({0xc0}), "nested too deeply");
    // The depth limit itself (32: the root map plus 31 arrays) is fine.
    std::string ok_depth = deep + std::string(31, '\x91') + bytes({0xc0});
    CHECK(decoded(ok_depth).tasks[0].has_value());
    refuses(deep + std::string(32, '\x91') + bytes({0xc0}), "nested too deeply");
    std::string corr_ext = mp([](MsgpackWriter& w) { w.map(2).kv("op", "status").str("corr"); });
    refuses(corr_ext + bytes({0xd4, 0x01, 0x00}), "ext");                 // fixext1
    refuses(corr_ext + bytes({0xd8, 0x01}) + std::string(16, 'e'), "ext");  // fixext16
    refuses(corr_ext + bytes({0xc7, 0x02, 0x05, 0x00, 0x00}), "ext");     // ext8
    std::string huge = bytes({0xdd, 0x00, 0x1e, 0x84, 0x80}) + std::string(2000000, '\xc0');
    refuses(huge, "too many elements");                                   // 2M nils
    std::string huge_args = deep + huge.substr(0, 5) + std::string(2000000, '\x00');
    refuses(huge_args, "too many elements");
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    CHECK(after.ru_maxrss - before.ru_maxrss < 64 * 1024);  // KiB: no allocation for the claims
  }

  TEST_CASE("recover_corr finds corr in a request that is otherwise bad") {
    std::string bad = mp([](MsgpackWriter& w) { w.map(2).kv("op", "nope").str("corr").raw(kCorr); });
    CHECK_FALSE(decode_request(bad, {}).has_value());
    CHECK(recover_corr(bad) == kCorr);
    std::string no_op = mp([](MsgpackWriter& w) { w.map(1).str("corr").u64(7); });
    CHECK(recover_corr(no_op) == bytes({0x07}));
    CHECK(recover_corr(encode_status_request({})).empty());
    CHECK(recover_corr(bytes({0xc1, 0x00})).empty());
    CHECK(recover_corr("").empty());
  }

  TEST_CASE("seeded fuzz: random and mutated bodies never crash or throw") {
    std::mt19937 rng(20240601);
    SubmitArgs a;
    a.script = "t.py";
    a.args_msgpack = mp([](MsgpackWriter& w) { w.array(2).u64(1).map(1).kv("k", "v"); });
    a.kwargs_msgpack = mp([](MsgpackWriter& w) { w.map(1).str("x").array(0); });
    a.id = "fuzz";
    a.timeout_ms = 10;
    const std::string valid = encode_submit(a, kCorr);
    const std::string valid_reply = encode_result("x", TaskState::done, nullptr, kCorr);
    int accepted = 0, refused_n = 0, escaped = 0;
    auto feed = [&](const std::string& body) {
      try {
        auto r = decode_request(body, {});
        r ? ++accepted : ++refused_n;
        if (r) {
          for (const auto& t : r->tasks) {
            msgpack::object_handle keep;
            if (t) (void)decode_task_payload(t->payload, keep);
          }
          std::string out = encode_accepted("x", r->corr);
          CHECK(decode_reply(out).has_value());
        }
        (void)recover_corr(body);
        (void)decode_reply(body);
      } catch (...) {
        ++escaped;
      }
    };
    for (int i = 0; i < 20000; ++i) {
      std::string b(rng() % 48, '\0');
      for (auto& c : b) c = static_cast<char>(rng());
      feed(b);
    }
    for (const std::string* base : {&valid, &valid_reply}) {
      for (int i = 0; i < 10000; ++i) {
        std::string b = *base;
        for (int n = 1 + rng() % 4; n > 0 && !b.empty(); --n) {
          std::size_t pos = rng() % b.size();
          switch (rng() % 4) {
            case 0: b[pos] = static_cast<char>(rng()); break;
            case 1: b.erase(pos, 1); break;
            case 2: b.insert(pos, 1, static_cast<char>(rng())); break;
            default: b.resize(pos); break;
          }
        }
        feed(b);
      }
    }
    CHECK(escaped == 0);
    CHECK(accepted > 0);   // both paths were exercised
    CHECK(refused_n > 0);
  }

  TEST_CASE("valid_utf8 and valid_task_id") {
    for (std::string_view s : {"", "ascii", "caf\xc3\xa9", "\xe2\x9c\x93", "\xf0\x9f\x98\x80",
                               "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf"}) {
      CHECK(valid_utf8(s));
    }
    for (std::string_view s : {"\x80", "\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80",
                               "\xf4\x90\x80\x80", "\xe2\x82", "\xf8\x88\x80\x80\x80", "\xff",
                               "a\xc3"}) {
      CHECK_FALSE(valid_utf8(s));
    }
    CHECK(valid_task_id("t\xc3\xa2" "che-1"));
    CHECK(valid_task_id(std::string(128, 'x')));
    CHECK_FALSE(valid_task_id(""));
    CHECK_FALSE(valid_task_id(std::string(129, 'x')));
    CHECK_FALSE(valid_task_id(std::string("a\0", 2)));
    CHECK_FALSE(valid_task_id("\xc3("));
  }

  TEST_CASE("TaskIdGenerator: unique across threads, short, valid") {
    TaskIdGenerator gen;
    constexpr int kThreads = 4, kEach = 25000;
    std::vector<std::vector<std::string>> got(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) got[t].push_back(gen.next());
      });
    }
    for (auto& th : threads) th.join();
    std::set<std::string> all;
    bool short_and_valid = true;
    for (const auto& v : got) {
      for (const auto& id : v) {
        all.insert(id);
        short_and_valid = short_and_valid && id.size() <= 15 && valid_task_id(id);
      }
    }
    CHECK(all.size() == std::size_t{kThreads} * kEach);
    CHECK(short_and_valid);
  }
}
