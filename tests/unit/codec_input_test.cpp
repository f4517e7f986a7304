// Unit tests of common/codec input handling: script shapes, every
// malformed-input path of decode_request, limits, hostile msgpack, a seeded
// fuzz loop, UTF-8 and task ids.
#include "tests/unit/codec_test_support.h"

using namespace zfleet::common;
using namespace codec_testing;

TEST_SUITE("codec_input") {
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

  TEST_CASE("generated ids are random, not a counter, and clients cannot claim their space") {
    TaskIdGenerator gen;
    std::string a = gen.next(), b = gen.next();
    CHECK(a.size() == 15);
    CHECK(a[0] == '~');
    // Consecutive ids share no common prefix beyond the marker (a counter
    // after a fixed prefix would share 14 of 15 characters).
    std::size_t same = 0;
    while (same < a.size() && a[same] == b[same]) ++same;
    CHECK(same < 4);
    // Every position takes many values over a thousand ids.
    std::vector<std::set<char>> seen(15);
    for (int i = 0; i < 1000; ++i) {
      std::string id = gen.next();
      for (std::size_t k = 0; k < id.size(); ++k) seen[k].insert(id[k]);
    }
    for (std::size_t k = 1; k < 15; ++k) CHECK(seen[k].size() > 40);
    bad_task(submit_with("id", [](MsgpackWriter& w) { w.str("~chosen"); }));
  }
}
