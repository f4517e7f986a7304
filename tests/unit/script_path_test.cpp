// Unit tests of ScriptResolver (worker/exec/script_path.h): real files,
// directories and symlinks in a temporary folder.

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <chrono>

#include "worker/exec/script_path.h"

namespace fs = std::filesystem;
using namespace zfleet::worker;
using zfleet::common::TaskErrorCode;

namespace {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / ("zfleet_script_path_test_" + std::to_string(::getpid()) +
                                         "_" + std::to_string(counter++));
    fs::create_directories(path_);
    path_ = fs::canonical(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& text) const {
    fs::path file = path_ / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file;
  }

 private:
  fs::path path_;
};

void check_error(const Resolution& r, TaskErrorCode code, const std::string& script) {
  REQUIRE_FALSE(r.script);
  CHECK(r.error.code == code);
  CHECK(r.error.message.find(script) != std::string::npos);
}

}  // namespace

TEST_SUITE("script_path") {
  TEST_CASE("the first root holding the script wins") {
    TempDir tmp;
    fs::path a = tmp.path() / "a", b = tmp.path() / "b";
    fs::create_directories(a);
    fs::path in_b = tmp.write("b/sub/x.py", "x = 1\n");
    ScriptResolver resolver({a.string(), b.string()});
    Resolution r = resolver.resolve("sub/x.py");
    REQUIRE(r.script);
    CHECK(r.script->path == in_b.string());
    CHECK(r.script->stamp.size == 6);

    fs::path in_a = tmp.write("a/sub/x.py", "x = 22\n");
    r = resolver.resolve("sub/x.py");
    REQUIRE(r.script);
    CHECK(r.script->path == in_a.string());
  }

  TEST_CASE("missing script is script_not_found") {
    TempDir tmp;
    ScriptResolver resolver({tmp.path().string(), (tmp.path() / "nonexistent").string()});
    check_error(resolver.resolve("nope.py"), TaskErrorCode::script_not_found, "nope.py");
    fs::create_directories(tmp.path() / "dir.py");  // a directory is not a script
    check_error(resolver.resolve("dir.py"), TaskErrorCode::script_not_found, "dir.py");
    fs::create_symlink(tmp.path() / "gone.py", tmp.path() / "dangling.py");
    check_error(resolver.resolve("dangling.py"), TaskErrorCode::script_not_found, "dangling.py");
  }

  TEST_CASE("a symlink that stays inside the root is followed") {
    TempDir tmp;
    fs::path target = tmp.write("root/real/impl.py", "def main(): pass\n");
    fs::create_symlink(target, tmp.path() / "root" / "link.py");
    fs::create_directory_symlink(tmp.path() / "root" / "real", tmp.path() / "root" / "alias");
    ScriptResolver resolver({(tmp.path() / "root").string()});
    Resolution r = resolver.resolve("link.py");
    REQUIRE(r.script);
    CHECK(r.script->path == target.string());
    r = resolver.resolve("alias/impl.py");
    REQUIRE(r.script);
    CHECK(r.script->path == target.string());
  }

  TEST_CASE("a symlink pointing outside the root is script_not_allowed") {
    TempDir tmp;
    fs::path outside = tmp.write("outside/secret.py", "x = 1\n");
    fs::create_directories(tmp.path() / "root");
    fs::create_symlink(outside, tmp.path() / "root" / "evil.py");
    ScriptResolver resolver({(tmp.path() / "root").string()});
    check_error(resolver.resolve("evil.py"), TaskErrorCode::script_not_allowed, "evil.py");
  }

  TEST_CASE("a symlink retargeted after a resolution is judged afresh") {
    // realpath answers are remembered per path and inode: a link moved to
    // another file (inside or outside the root) must not reuse them.
    TempDir tmp;
    fs::path first = tmp.write("root/first.py", "x = 1\n");
    fs::path second = tmp.write("root/second.py", "x = 2\n");
    fs::path outside = tmp.write("outside/secret.py", "x = 3\n");
    fs::path link = tmp.path() / "root" / "task.py";
    fs::create_symlink(first, link);
    ScriptResolver resolver({(tmp.path() / "root").string()});
    for (int i = 0; i < 2; ++i) {  // the second call answers from the memo
      Resolution r = resolver.resolve("task.py");
      REQUIRE(r.script);
      CHECK(r.script->path == first.string());
    }
    fs::remove(link);
    fs::create_symlink(second, link);
    Resolution r = resolver.resolve("task.py");
    REQUIRE(r.script);
    CHECK(r.script->path == second.string());
    fs::remove(link);
    fs::create_symlink(outside, link);
    check_error(resolver.resolve("task.py"), TaskErrorCode::script_not_allowed, "task.py");
    fs::remove(link);
    fs::create_symlink(first, link);
    r = resolver.resolve("task.py");
    REQUIRE(r.script);
    CHECK(r.script->path == first.string());
  }

  TEST_CASE("a directory symlink escaping the root is script_not_allowed") {
    TempDir tmp;
    tmp.write("outside/x.py", "x = 1\n");
    fs::create_directories(tmp.path() / "root");
    fs::create_directory_symlink(tmp.path() / "outside", tmp.path() / "root" / "sub");
    // A sibling whose name starts like the root is still outside it.
    tmp.write("root2/y.py", "y = 1\n");
    fs::create_symlink(tmp.path() / "root2" / "y.py", tmp.path() / "root" / "y.py");
    ScriptResolver resolver({(tmp.path() / "root").string()});
    check_error(resolver.resolve("sub/x.py"), TaskErrorCode::script_not_allowed, "sub/x.py");
    check_error(resolver.resolve("y.py"), TaskErrorCode::script_not_allowed, "y.py");
  }

  TEST_CASE("a root given through a symlink works") {
    TempDir tmp;
    fs::path file = tmp.write("real_root/t.py", "t = 1\n");
    fs::create_directory_symlink(tmp.path() / "real_root", tmp.path() / "root_link");
    ScriptResolver resolver({(tmp.path() / "root_link").string()});
    Resolution r = resolver.resolve("t.py");
    REQUIRE(r.script);
    CHECK(r.script->path == file.string());
  }

  TEST_CASE(".. and NUL are refused even if the broker let them through") {
    TempDir tmp;
    tmp.write("root/a.py", "a = 1\n");
    tmp.write("b.py", "b = 1\n");
    ScriptResolver resolver({(tmp.path() / "root").string()});
    check_error(resolver.resolve("../b.py"), TaskErrorCode::script_not_allowed, "../b.py");
    check_error(resolver.resolve("x/../../b.py"), TaskErrorCode::script_not_allowed, "b.py");
    check_error(resolver.resolve((tmp.path() / "root/../b.py").string()),
                TaskErrorCode::script_not_allowed, "b.py");
    check_error(resolver.resolve(""), TaskErrorCode::script_not_allowed, "");
    check_error(resolver.resolve("/"), TaskErrorCode::script_not_allowed, "'/'");
    check_error(resolver.resolve(std::string("a.py\0x", 6)), TaskErrorCode::script_not_allowed,
                "a.py");
  }

  TEST_CASE("an absolute name runs when it is inside a root, any root") {
    TempDir tmp;
    fs::path a = tmp.write("one/a.py", "a = 1\n");
    fs::path b = tmp.write("two/sub/b.py", "b = 22\n");
    ScriptResolver resolver({(tmp.path() / "one").string(), (tmp.path() / "two").string()});
    Resolution r = resolver.resolve(a.string());
    REQUIRE(r.script);
    CHECK(r.script->path == a.string());
    r = resolver.resolve(b.string());
    REQUIRE(r.script);
    CHECK(r.script->path == b.string());
    CHECK(r.script->stamp.size == 7);
    // Through a link inside a root to a file inside another: still inside.
    fs::create_symlink(b, tmp.path() / "one" / "to_b.py");
    r = resolver.resolve((tmp.path() / "one" / "to_b.py").string());
    REQUIRE(r.script);
    CHECK(r.script->path == b.string());
  }

  TEST_CASE("an absolute name outside every root is script_not_allowed naming the roots") {
    TempDir tmp;
    fs::path outside = tmp.write("outside/evil.py", "x = 1\n");
    tmp.write("root/ok.py", "x = 1\n");
    fs::create_symlink(outside, tmp.path() / "root" / "link.py");
    const std::string root = (tmp.path() / "root").string();
    ScriptResolver resolver({root});
    Resolution r = resolver.resolve(outside.string());
    check_error(r, TaskErrorCode::script_not_allowed, outside.string());
    CHECK(r.error.message.find("outside every script root (" + root + ")") != std::string::npos);
    // A link inside the root, named absolutely, that points out.
    check_error(resolver.resolve(root + "/link.py"), TaskErrorCode::script_not_allowed, root);
    // Missing: under a root as written -> not found; elsewhere -> not allowed.
    check_error(resolver.resolve(root + "/gone.py"), TaskErrorCode::script_not_found, root);
    check_error(resolver.resolve("/nowhere/gone.py"), TaskErrorCode::script_not_allowed, root);
  }

  TEST_CASE("script_not_found names the roots searched") {
    TempDir tmp;
    fs::create_directories(tmp.path() / "a");
    fs::create_directories(tmp.path() / "b");
    const std::string a = (tmp.path() / "a").string(), b = (tmp.path() / "b").string();
    ScriptResolver resolver({a, b});
    Resolution r = resolver.resolve("x.py");
    check_error(r, TaskErrorCode::script_not_found, "'x.py'");
    CHECK(r.error.message.find("(searched: " + a + ", " + b + ")") != std::string::npos);
  }

  TEST_CASE("the stamp changes with an edit of the same size and mtime, and with a rename over") {
    TempDir tmp;
    fs::path f = tmp.write("root/s.py", "v = 1\n");
    ScriptResolver resolver({(tmp.path() / "root").string()});
    Resolution first = resolver.resolve("s.py");
    REQUIRE(first.script);
    const auto mtime = fs::last_write_time(f);
    // Same size, mtime put back: ctime still moves (it cannot be set back).
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::ofstream(f, std::ios::trunc) << "v = 2\n";
    fs::last_write_time(f, mtime);
    Resolution second = resolver.resolve("s.py");
    REQUIRE(second.script);
    CHECK(second.script->stamp.mtime_ns == first.script->stamp.mtime_ns);
    CHECK(second.script->stamp.size == first.script->stamp.size);
    CHECK_FALSE(second.script->stamp == first.script->stamp);
    // A new file renamed over it: a new inode.
    fs::path tmpfile = tmp.write("root/s.py.tmp", "v = 3\n");
    fs::rename(tmpfile, f);
    Resolution third = resolver.resolve("s.py");
    REQUIRE(third.script);
    CHECK(third.script->stamp.ino != second.script->stamp.ino);
  }

  // Issue 11, point 8: names and links a client could use to reach a file
  // outside the roots.
  TEST_CASE("control characters in names are script_not_allowed, even for a file that exists") {
    TempDir tmp;
    tmp.write("root/nl\nx.py", "x = 1\n");
    tmp.write("root/tab\tx.py", "x = 1\n");
    ScriptResolver resolver({(tmp.path() / "root").string()});
    Resolution r = resolver.resolve("nl\nx.py");
    check_error(r, TaskErrorCode::script_not_allowed, "'nl\\nx.py'");  // escaped: one line
    CHECK(r.error.message.find('\n') == std::string::npos);
    check_error(resolver.resolve("tab\tx.py"), TaskErrorCode::script_not_allowed, "tab\\x09x.py");
    check_error(resolver.resolve("del\x7fx.py"), TaskErrorCode::script_not_allowed, "\\x7f");
    check_error(resolver.resolve(std::string("\0", 1)), TaskErrorCode::script_not_allowed, "\\x00");
  }

  TEST_CASE("names that only look like .. are ordinary names") {
    TempDir tmp;
    fs::path dots = tmp.write("root/..x/...py", "x = 1\n");
    tmp.write("root/ok.py", "x = 1\n");
    ScriptResolver resolver({(tmp.path() / "root").string()});
    Resolution r = resolver.resolve("..x/...py");
    REQUIRE(r.script);
    CHECK(r.script->path == dots.string());
    REQUIRE(resolver.resolve("./ok.py").script);
    REQUIRE(resolver.resolve(".//ok.py").script);
    check_error(resolver.resolve("./../root/ok.py"), TaskErrorCode::script_not_allowed, "ok.py");
    check_error(resolver.resolve("x/.."), TaskErrorCode::script_not_allowed, "x/..");
  }

  TEST_CASE("relative symlinks, chains and loops cannot leave the root") {
    TempDir tmp;
    tmp.write("outside/evil.py", "x = 1\n");
    fs::path inside = tmp.write("root/ok.py", "x = 1\n");
    fs::path root = tmp.path() / "root";
    fs::create_symlink("../outside/evil.py", root / "rel.py");        // relative target with ..
    fs::create_symlink("rel.py", root / "chain.py");                  // inside -> inside -> outside
    fs::create_directory_symlink("..", root / "up");                  // the root's parent
    fs::create_symlink("loop_b.py", root / "loop_a.py");
    fs::create_symlink("loop_a.py", root / "loop_b.py");
    ScriptResolver resolver({root.string()});
    check_error(resolver.resolve("rel.py"), TaskErrorCode::script_not_allowed, "rel.py");
    check_error(resolver.resolve("chain.py"), TaskErrorCode::script_not_allowed, "chain.py");
    check_error(resolver.resolve("up/outside/evil.py"), TaskErrorCode::script_not_allowed, "evil");
    // Out and back in again lands inside the root: that file is allowed.
    Resolution r = resolver.resolve("up/root/ok.py");
    REQUIRE(r.script);
    CHECK(r.script->path == inside.string());
    check_error(resolver.resolve("loop_a.py"), TaskErrorCode::script_not_found, "loop_a.py");
  }

  TEST_CASE("a file outside is refused in a later root too, never served from another") {
    // The first root holding the name decides: an escaping link there is an
    // error, not a reason to look further.
    TempDir tmp;
    tmp.write("outside/t.py", "x = 1\n");
    tmp.write("b/t.py", "x = 2\n");
    fs::create_directories(tmp.path() / "a");
    fs::create_symlink(tmp.path() / "outside" / "t.py", tmp.path() / "a" / "t.py");
    ScriptResolver resolver({(tmp.path() / "a").string(), (tmp.path() / "b").string()});
    check_error(resolver.resolve("t.py"), TaskErrorCode::script_not_allowed, "t.py");
  }

  TEST_CASE("the stamp follows mtime and size") {
    TempDir tmp;
    fs::path file = tmp.write("root/s.py", "v = 1\n");
    ScriptResolver resolver({(tmp.path() / "root").string()});
    FileStamp first = resolver.resolve("s.py").script->stamp;
    fs::last_write_time(file, fs::last_write_time(file) + std::chrono::seconds(3));
    FileStamp touched = resolver.resolve("s.py").script->stamp;
    CHECK(touched.size == first.size);
    CHECK(touched.mtime_ns == first.mtime_ns + 3'000'000'000LL);
    tmp.write("root/s.py", "v = 100\n");
    CHECK(resolver.resolve("s.py").script->stamp.size == 8);
  }
}
