// Unit tests of common/codec (ZFP/1): client encoders -> broker decoder round
// trips and broker reply encoders -> client decoder.
#include "tests/unit/codec_test_support.h"

using namespace zfleet::common;
using namespace codec_testing;

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
    CHECK(t.pool == kCpuPool);
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
    CHECK(r.tasks[0]->pool == kIoPool);
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
    // (literals: building them with + makes GCC 12 warn falsely, -Wrestrict)
    const char* script_names[] = {"s0.py", "s1.py", "s2.py"};
    const char* task_ids[] = {"id0", "id1", "id2"};
    for (int i = 0; i < 3; ++i) {
      tasks[i].script = script_names[i];
      tasks[i].id = task_ids[i];
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
    CHECK(b.tasks[1]->pool == kCpuPool);

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
    auto entries = decode_accepted_batch(b);  // the client side (zfleet submit-batch)
    REQUIRE(entries.has_value());
    REQUIRE(entries->size() == 3);
    CHECK((*entries)[0].id == "a");
    CHECK((*entries)[1].id.empty());
    CHECK((*entries)[1].code == "duplicate_id");
    CHECK((*entries)[1].message == "dup b");
    CHECK((*entries)[2].id == "c");
    CHECK_FALSE(decode_accepted_batch(a).has_value());

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
    s.queues = {{"io", 3, 0, 2, 9, 5, 1}, {"cpu", 4, 0, 0, 1, 1, 0}};
    s.submitted = 10, s.done = 6, s.failed = 1, s.retried = 2, s.running = 1;
    s.workers.push_back({"w1", "io", "h", 42, 8, 1, 2, 40, 6, 1, true, 100, 1 << 20});
    s.workers.push_back({"w2", "cpu", "h", 43, 1, 0, 0, 1, 0, 0, false, 2000, 0});
    s.cache_shards = 16, s.cache_entries = 7, s.cache_bytes = 700;
    s.cache_hits = 5, s.cache_misses = 2, s.cache_evictions = 1, s.replies_dropped = 9;
    s.live = 11, s.waiters = 12;
    std::string body = encode_status(s, {});
    Reply r = reply_of(body);
    const auto& m = r.root();
    CHECK(r.op == "status");
    CHECK(is_str(at(m, "version"), "0.1.0"));
    CHECK(at(m, "uptime_ms").via.u64 == 5);
    const auto& q = at(m, "queues");
    CHECK(at(at(q, "io"), "depth").via.u64 == 3);
    CHECK(at(at(q, "cpu"), "depth").via.u64 == 4);
    // zfleet's per-pool additions, what `status --watch` turns into rates.
    uint64_t want_io[] = {2, 9, 5, 1};
    int k = 0;
    for (auto key : {"running", "submitted", "done", "failed"}) CHECK(at(at(q, "io"), key).via.u64 == want_io[k++]);
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
    CHECK(at(ws.via.array.ptr[0], "capacity").via.u64 == 40);
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
    CHECK(at(m, "live").via.u64 == 11);
    CHECK(at(m, "waiters").via.u64 == 12);
  }
}
