#include "benchmarks/bench/plot_output.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "benchmarks/bench/gnuplot.h"

namespace zfleet::bench {
namespace fs = std::filesystem;
namespace {

// "WxH" with both in 100..10000 pixels; {0, 0} when malformed.
plot::Size parse_size(const std::string& s) {
  int w = 0, h = 0;
  char extra = 0;
  if (std::sscanf(s.c_str(), "%dx%d%c", &w, &h, &extra) != 2) return {0, 0};
  if (w < 100 || h < 100 || w > 10000 || h > 10000) return {0, 0};
  return {w, h};
}

std::string folder_problem(const std::string& png) {
  fs::path dir = fs::path(png).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::exists(dir, ec)) return "folder " + dir.string() + " does not exist";
  if (!fs::is_directory(dir, ec)) return dir.string() + " is not a folder";
  if (access(dir.c_str(), W_OK | X_OK) != 0)
    return "cannot write in folder " + dir.string() + ": " + std::strerror(errno);
  if (fs::is_directory(png, ec)) return png + " is a folder";
  if (fs::exists(png, ec) && access(png.c_str(), W_OK) != 0)
    return "cannot write " + png + ": " + std::strerror(errno);
  return "";
}

std::string script_path_for(const std::string& png) {
  fs::path p(png);
  return p.has_extension() ? p.replace_extension(".gp").string() : png + ".gp";
}

// A temporary file holding `text`, or "" (with errno) when it cannot be made.
std::string temp_script(const std::string& text) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/zfleet-plot-XXXXXX.gp";
  int fd = mkstemps(path.data(), 3);
  if (fd < 0) return "";
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = close(fd) == 0 && ok;
  if (!ok) std::remove(path.c_str());
  return ok ? path : "";
}

// Writes one PNG; "" or why not.
std::string draw(const Opts& o, const plot::Figure& fig, const std::string& png) {
  std::string text = plot::script(fig, png, parse_size(o.plot_size));
  std::string script = o.plot_script ? script_path_for(png) : temp_script(text);
  if (o.plot_script) {
    std::ofstream f(script);
    if (!(f << text) || !f.flush()) return "cannot write " + script;
  } else if (script.empty()) {
    return std::string("cannot write a temporary gnuplot script: ") + std::strerror(errno);
  }
  std::error_code ec;
  fs::remove(png, ec);  // so that an old PNG is never taken for a new one
  std::string err = run_gnuplot(script);
  if (!o.plot_script) std::remove(script.c_str());
  auto size = fs::file_size(png, ec);
  if (err.empty() && (ec || size == 0)) err = "gnuplot wrote nothing to " + png;
  return err;
}

}  // namespace

std::string check_plot_target(const Opts& o) {
  if (o.plot.empty()) return "";
  if (parse_size(o.plot_size).width == 0)
    return "--plot-size " + o.plot_size + ": want WxH, 100 to 10000 pixels each (e.g. 900x340)";
  if (std::string p = folder_problem(o.plot); !p.empty()) return "--plot " + o.plot + ": " + p;
  if (std::string p = check_gnuplot(); !p.empty()) return "--plot: " + p;
  return "";
}

std::string plot_path(const std::string& base, const std::string& name) {
  if (name.empty()) return base;
  fs::path p(base);
  fs::path file = p.stem().string() + "-" + name + p.extension().string();
  return (p.parent_path() / file).string();
}

int write_plots(const Opts& o, int rc, const std::vector<NamedFigure>& figs) {
  if (o.plot.empty()) return rc;
  for (const auto& f : figs) {
    std::string png = plot_path(o.plot, f.name);
    if (std::string err = draw(o, f.figure, png); !err.empty()) {
      std::fprintf(stderr, "zfleet-bench: --plot: %s: %s\n", png.c_str(), err.c_str());
      rc = rc ? rc : 1;
    } else if (!o.json) {
      std::printf("plot: %s\n", png.c_str());
    }
  }
  std::fflush(stdout);
  return rc;
}

}  // namespace zfleet::bench
