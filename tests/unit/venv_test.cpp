// Unit tests of config/venv.h (pyvenv.cfg parsing and the version check)
// and worker/start_checks.h, with real folders in a temp dir.

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/venv.h"
#include "worker/start_checks.h"

namespace fs = std::filesystem;
using namespace zfleet::config;
using zfleet::worker::check_start;
using zfleet::worker::StartPaths;

namespace {

class VenvDir {
 public:
  VenvDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("zfleet_venv_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~VenvDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string sub(const std::string& name) const { return (path_ / name).string(); }
  // A venv-looking folder: pyvenv.cfg with `cfg` and, if `python`, bin/python3.
  std::string venv(const std::string& name, const std::string& cfg, bool python = true) const {
    fs::create_directories(path_ / name / "bin");
    std::ofstream(path_ / name / "pyvenv.cfg") << cfg;
    if (python) std::ofstream(path_ / name / "bin" / "python3") << "";
    return sub(name);
  }

 private:
  fs::path path_;
};

constexpr PythonVersion k311{3, 11};

}  // namespace

TEST_SUITE("venv") {
  TEST_CASE("pyvenv.cfg written by python3 -m venv") {
    auto cfg = parse_pyvenv_cfg(
        "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n"
        "executable = /usr/bin/python3.11\ncommand = /usr/bin/python3 -m venv /x\n");
    REQUIRE(cfg);
    CHECK(cfg->home == "/usr/bin");
    CHECK(cfg->version == "3.11.2");
    CHECK_FALSE(cfg->include_system_site_packages);
  }

  TEST_CASE("pyvenv.cfg of the virtualenv tool, odd spacing, comments, CRLF") {
    auto cfg = parse_pyvenv_cfg("# made by hand\r\n  home=/opt/py/bin \r\nInclude-System-Site-Packages = True\r\n"
                                "version_info = 3.12.1.final.0\r\nno equals sign\r\n");
    REQUIRE(cfg);
    CHECK(cfg->home == "/opt/py/bin");
    CHECK(cfg->version == "3.12.1.final.0");
    CHECK(cfg->include_system_site_packages);
    // `version` wins over version_info.
    auto both = parse_pyvenv_cfg("version_info = 3.9.0.final.0\nversion = 3.10.1\n");
    REQUIRE(both);
    CHECK(both->version == "3.10.1");
  }

  TEST_CASE("a file with no key = value line is not a pyvenv.cfg") {
    CHECK_FALSE(parse_pyvenv_cfg(""));
    CHECK_FALSE(parse_pyvenv_cfg("just text\n# and a comment\n"));
    CHECK_FALSE(parse_pyvenv_cfg(" = value\n"));
  }

  TEST_CASE("major.minor of version strings") {
    CHECK(python_version_of("3.11.2") == PythonVersion{3, 11});
    CHECK(python_version_of("3.11") == PythonVersion{3, 11});
    CHECK(python_version_of(" 3.12.1.final.0 ") == PythonVersion{3, 12});
    CHECK(python_version_of("2.7.18") == PythonVersion{2, 7});
    CHECK_FALSE(python_version_of(""));
    CHECK_FALSE(python_version_of("3"));
    CHECK_FALSE(python_version_of("3."));
    CHECK_FALSE(python_version_of("three.eleven"));
    CHECK_FALSE(python_version_of("3.11rc1"));
    CHECK(PythonVersion{3, 11}.str() == "3.11");
  }

  TEST_CASE("check_venv accepts a venv of the same minor version") {
    VenvDir t;
    CHECK_FALSE(check_venv(t.venv("ok", "home = /usr/bin\nversion = 3.11.9\n"), k311));
    CHECK(venv_python("/srv/v") == "/srv/v/bin/python3");
  }

  TEST_CASE("check_venv refuses another version, naming the path and both versions") {
    VenvDir t;
    std::string dir = t.venv("old", "home = /usr/bin\nversion = 3.2.0\n");
    auto why = check_venv(dir, k311);
    REQUIRE(why);
    CHECK(why->find("venv " + dir + " was made with Python 3.2.0") != std::string::npos);
    CHECK(why->find("embeds Python 3.11") != std::string::npos);
    auto newer = check_venv(t.venv("new", "version = 3.12.0\n"), k311);
    REQUIRE(newer);
    CHECK(newer->find("3.12.0") != std::string::npos);
  }

  TEST_CASE("check_venv refuses what is not a usable venv") {
    VenvDir t;
    auto missing = check_venv(t.sub("none"), k311);
    REQUIRE(missing);
    CHECK(missing->find("does not exist") != std::string::npos);
    fs::create_directories(t.sub("plain"));
    auto plain = check_venv(t.sub("plain"), k311);
    REQUIRE(plain);
    CHECK(plain->find("is not a virtualenv") != std::string::npos);
    auto no_version = check_venv(t.venv("nov", "home = /usr/bin\n"), k311);
    REQUIRE(no_version);
    CHECK(no_version->find("names no Python version (version = missing)") != std::string::npos);
    auto no_python = check_venv(t.venv("nopy", "version = 3.11.2\n", false), k311);
    REQUIRE(no_python);
    CHECK(no_python->find("has no bin/python3") != std::string::npos);
  }
}

TEST_SUITE("start_checks") {
  TEST_CASE("usable paths pass") {
    VenvDir t;
    fs::create_directories(t.sub("tasks"));
    fs::create_directories(t.sub("libs"));
    StartPaths p{{t.sub("tasks")}, "--script-root", {t.sub("libs")}, "--python-path",
                 t.venv("v", "version = 3.11.2\n"), "--venv"};
    CHECK_FALSE(check_start(p, k311));
    p.venv.clear();
    CHECK_FALSE(check_start(p, k311));
  }

  TEST_CASE("each problem names the path and where it came from") {
    VenvDir t;
    fs::create_directories(t.sub("tasks"));
    std::ofstream(t.sub("file")) << "x";
    StartPaths p{{t.sub("tasks"), t.sub("gone")}, "python.script_roots in f.yaml", {}, "--python-path", "", "--venv"};
    CHECK(check_start(p, k311) == "script root " + t.sub("gone") + " does not exist (python.script_roots in f.yaml)");
    p.script_roots = {t.sub("file")};
    CHECK(check_start(p, k311) == "script root " + t.sub("file") + " is not a folder (python.script_roots in f.yaml)");
    p.script_roots = {t.sub("tasks")};
    p.python_path = {t.sub("libs")};
    CHECK(check_start(p, k311) == "python path entry " + t.sub("libs") + " does not exist (--python-path)");
    p.python_path.clear();
    p.venv = t.venv("old", "version = 3.8.10\n");
    auto why = check_start(p, k311);
    REQUIRE(why);
    CHECK(why->find("Python 3.8.10") != std::string::npos);
    CHECK(why->ends_with("(--venv)"));
  }
}
