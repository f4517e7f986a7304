// Unit tests of worker/exec/script_file.h: reading a script once with its
// stamp, and telling a finished file from one still being written. Real
// files in a temp folder; the settle times are passed in small so the
// tests stay quick, and no assertion depends on how long anything took.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/unit/python_test_support.h"
#include "worker/exec/script_file.h"

namespace fs = std::filesystem;
using namespace zfleet::worker;
using namespace std::chrono_literals;

namespace {

FileStamp stamp_of(const fs::path& p) {
  struct stat st{};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return file_stamp(st);
}

}  // namespace

TEST_SUITE("script_file") {
  TEST_CASE("read_script returns the whole content and the stamp of what it read") {
    auto dir = testing::fresh_temp_dir("zfleet_script_file_test");
    const fs::path f = dir / "s.py";
    std::string text(200'000, 'x');  // more than one read() call
    std::ofstream(f) << text;
    ScriptSnapshot snap = read_script(f.string());
    REQUIRE(snap.ok);
    CHECK(snap.bytes == text);
    CHECK(snap.stamp == stamp_of(f));
    CHECK_FALSE(snap.changed_while_reading);
    ScriptSnapshot missing = read_script((dir / "none.py").string());
    CHECK_FALSE(missing.ok);
    CHECK(missing.error == "No such file or directory");
    fs::remove_all(dir);
  }

  TEST_CASE("quiet: the ctime is at least the settle time old") {
    FileStamp s;
    const int64_t now = wall_now_ns();
    s.ctime_ns = now;
    CHECK_FALSE(quiet(s, now));
    s.ctime_ns = now - 99'000'000;
    CHECK_FALSE(quiet(s, now));
    s.ctime_ns = now - 100'000'000;
    CHECK(quiet(s, now));
    s.ctime_ns = now - 5'000'000;
    CHECK(quiet(s, now, 5ms));
    s.ctime_ns = now + 10'000'000'000;  // a clock set back: not quiet by ctime
    CHECK_FALSE(quiet(s, now));
  }

  TEST_CASE("wait_until_quiet follows a file through its writes to the last one") {
    auto dir = testing::fresh_temp_dir("zfleet_script_file_test");
    const fs::path f = dir / "w.py";
    std::ofstream(f) << "a";
    const FileStamp first = stamp_of(f);
    std::atomic<bool> done{false};
    std::thread writer([&] {
      for (int i = 0; i < 10; ++i) {
        std::ofstream(f, std::ios::app) << "b";
        std::this_thread::sleep_for(3ms);
      }
      done = true;
    });
    Settled s = wait_until_quiet(f.string(), first, 5s, 40ms);
    writer.join();
    CHECK(s.quiet);
    CHECK(done.load());  // it did not call the file quiet while the writer wrote
    CHECK(s.stamp == stamp_of(f));
    CHECK(s.stamp.size == 11);
    fs::remove_all(dir);
  }

  TEST_CASE("wait_until_quiet gives up at its limit, and notices a file that went away") {
    auto dir = testing::fresh_temp_dir("zfleet_script_file_test");
    const fs::path f = dir / "busy.py";
    std::ofstream(f) << "a";
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      while (!stop) {
        std::ofstream(f, std::ios::app) << "b";
        std::this_thread::sleep_for(2ms);
      }
    });
    Settled busy = wait_until_quiet(f.string(), stamp_of(f), 100ms, 1s);
    stop = true;
    writer.join();
    CHECK_FALSE(busy.quiet);
    CHECK_FALSE(busy.missing);
    const FileStamp last = stamp_of(f);
    fs::remove(f);
    Settled gone = wait_until_quiet(f.string(), last, 1s, 1s);
    CHECK_FALSE(gone.quiet);
    CHECK(gone.missing);
    fs::remove_all(dir);
  }
}
