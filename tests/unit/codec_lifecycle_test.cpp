// Unit tests of common/codec for the lifecycle fields of ZFP/1: delay_ms,
// retries, retry_on, retry_backoff_ms on submit, the cancel request and
// reply, run_after_ms on a pending result, and the status counters.
#include "tests/unit/codec_test_support.h"

using namespace zfleet::common;
using namespace codec_testing;

TEST_SUITE("codec_lifecycle") {
  TEST_CASE("submit: delay and retry fields round trip; defaults when absent") {
    SubmitArgs a;
    a.script = "t.py";
    a.delay_ms = 2500;
    a.retries = 3;
    a.retry_on = {"exception", "script_error"};
    a.retry_backoff_ms = 250;
    Request r = decoded(encode_submit(a, {}));
    REQUIRE(r.tasks[0].has_value());
    const TaskSpec& t = *r.tasks[0];
    CHECK(t.delay_ms == 2500);
    CHECK(t.retries == 3);
    CHECK(t.retry_on == (error_bit(TaskErrorCode::exception) | error_bit(TaskErrorCode::script_error)));
    CHECK(t.retry_backoff_ms == 250);
    SubmitArgs plain;
    plain.script = "t.py";
    Request d = decoded(encode_submit(plain, {}));
    REQUIRE(d.tasks[0].has_value());
    CHECK(d.tasks[0]->delay_ms == 0);
    CHECK(d.tasks[0]->retries == 0);
    CHECK(d.tasks[0]->retry_on == kDefaultRetryOn);
    CHECK(d.tasks[0]->retry_backoff_ms == 1000);
    // An empty retry_on retries nothing.
    Request none = decoded(submit_with("retry_on", [](MsgpackWriter& w) { w.array(0); }));
    REQUIRE(none.tasks[0].has_value());
    CHECK(none.tasks[0]->retry_on == 0);
  }

  TEST_CASE("submit: bad delay and retry fields are bad_request with a message") {
    bad_task(submit_with("delay_ms", [](MsgpackWriter& w) { w.i64(-1); }));
    bad_task(submit_with("delay_ms", [](MsgpackWriter& w) { w.str("soon"); }));
    bad_task(submit_with("retries", [](MsgpackWriter& w) { w.u64(101); }));
    bad_task(submit_with("retry_on", [](MsgpackWriter& w) { w.str("exception"); }));
    bad_task(submit_with("retry_on", [](MsgpackWriter& w) { w.array(1).str("no_such_code"); }));
    bad_task(submit_with("retry_on", [](MsgpackWriter& w) { w.array(1).u64(4); }));
    bad_task(submit_with("retry_on", [](MsgpackWriter& w) { w.array(1).str("cancelled"); }));
    bad_task(submit_with("retry_on", [](MsgpackWriter& w) { w.array(1).str("worker_lost"); }));
    bad_task(submit_with("retry_backoff_ms", [](MsgpackWriter& w) { w.boolean(true); }));
    // delay_ms over broker.max_delay_ms
    CodecLimits l;
    l.max_delay_ms = 1000;
    Request r = decoded(submit_with("delay_ms", [](MsgpackWriter& w) { w.u64(1001); }), l);
    REQUIRE_FALSE(r.tasks[0].has_value());
    CHECK(r.tasks[0].error().message.find("max_delay_ms") != std::string::npos);
    CHECK(decoded(submit_with("delay_ms", [](MsgpackWriter& w) { w.u64(1000); }), l).tasks[0].has_value());
  }

  TEST_CASE("cancel request and every cancel reply") {
    Request r = decoded(encode_cancel("job-9", kCorr));
    CHECK(r.op == Op::cancel);
    REQUIRE(r.ids.size() == 1);
    CHECK(r.ids[0] == "job-9");
    CHECK(r.corr == kCorr);
    bad_request(mp([](MsgpackWriter& w) { w.map(1).kv("op", "cancel"); }));
    bad_request(mp([](MsgpackWriter& w) { w.map(2).kv("op", "cancel").str("id").u64(1); }));
    for (auto o : {CancelOutcome::cancelled, CancelOutcome::cancelling, CancelOutcome::too_late,
                   CancelOutcome::unknown}) {
      std::string body = encode_cancel_reply("job-9", o, kCorr);
      Reply rep = reply_of(body);
      CHECK(rep.op == "cancel");
      CHECK(rep.id == "job-9");
      CHECK(rep.outcome == to_string(o));
      CHECK(cancel_outcome_from_string(rep.outcome) == o);
      CHECK(rep.corr == kCorr);
    }
  }

  TEST_CASE("run_after_ms appears on a pending result only") {
    std::string pending = encode_result("t", TaskState::pending, nullptr, {}, 1500);
    Reply p = reply_of(pending);
    CHECK(at(p.root(), "run_after_ms").via.u64 == 1500);
    std::string running = encode_result("t", TaskState::running, nullptr, {}, 1500);
    CHECK(find_field(reply_of(running).root(), "run_after_ms") == nullptr);
    std::string plain = encode_result("t", TaskState::pending, nullptr, {});
    CHECK(find_field(reply_of(plain).root(), "run_after_ms") == nullptr);
    std::vector<ResultEntry> entries = {{"a", TaskState::pending, nullptr, 7},
                                        {"b", TaskState::pending, nullptr, std::nullopt}};
    std::string many = encode_results(entries, {});
    Reply m = reply_of(many);
    const auto& arr = at(m.root(), "results");
    CHECK(at(arr.via.array.ptr[0], "run_after_ms").via.u64 == 7);
    CHECK(find_field(arr.via.array.ptr[1], "run_after_ms") == nullptr);
  }

  TEST_CASE("status: cancelled, delayed and stale_results counters, delayed per pool") {
    StatusSnapshot s;
    s.cancelled = 4;
    s.delayed = 5;
    s.stale_results = 6;
    s.queues = {{"io", 0, 2}, {"cpu", 0, 3}, {"gpu", 7, 1}};
    std::string body = encode_status(s, {});
    Reply r = reply_of(body);
    const auto& t = at(r.root(), "tasks");
    CHECK(at(t, "cancelled").via.u64 == 4);
    CHECK(at(t, "delayed").via.u64 == 5);
    CHECK(at(t, "stale_results").via.u64 == 6);
    CHECK(at(at(at(r.root(), "queues"), "io"), "delayed").via.u64 == 2);
    CHECK(at(at(at(r.root(), "queues"), "cpu"), "delayed").via.u64 == 3);
    CHECK(at(at(at(r.root(), "queues"), "gpu"), "depth").via.u64 == 7);
    CHECK(at(at(at(r.root(), "queues"), "gpu"), "delayed").via.u64 == 1);
  }
}
