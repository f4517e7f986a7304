#include "config/venv.h"

#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace zfleet::config {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A decimal number at the front of `s`, consumed.
std::optional<int> take_number(std::string_view& s) {
  int value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  s.remove_prefix(static_cast<std::size_t>(end - s.data()));
  return value;
}

}  // namespace

std::optional<PyvenvCfg> parse_pyvenv_cfg(std::string_view text) {
  PyvenvCfg cfg;
  bool any = false;
  std::string version_info;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key = lower(trim(line.substr(0, eq)));
    std::string_view value = trim(line.substr(eq + 1));
    if (key.empty()) continue;
    any = true;
    if (key == "home") cfg.home = value;
    if (key == "version") cfg.version = value;
    if (key == "version_info") version_info = value;
    if (key == "include-system-site-packages") cfg.include_system_site_packages = lower(value) == "true";
  }
  if (!any) return std::nullopt;
  if (cfg.version.empty()) cfg.version = version_info;
  return cfg;
}

std::optional<PythonVersion> python_version_of(std::string_view version) {
  version = trim(version);
  PythonVersion v;
  auto major = take_number(version);
  if (!major || version.empty() || version.front() != '.') return std::nullopt;
  version.remove_prefix(1);
  auto minor = take_number(version);
  if (!minor) return std::nullopt;
  if (!version.empty() && version.front() != '.') return std::nullopt;
  v.major = *major;
  v.minor = *minor;
  return v;
}

std::string venv_python(const std::string& dir) {
  return (std::filesystem::path(dir) / "bin" / "python3").string();
}

std::optional<std::string> check_venv(const std::string& dir, PythonVersion embedded) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "venv " + dir + " does not exist or is not a folder";
  const fs::path cfg_path = fs::path(dir) / "pyvenv.cfg";
  std::ifstream in(cfg_path);
  if (!in) return "venv " + dir + " is not a virtualenv: cannot read " + cfg_path.string();
  std::ostringstream text;
  text << in.rdbuf();
  auto cfg = parse_pyvenv_cfg(text.str());
  if (!cfg) return "venv " + dir + ": " + cfg_path.string() + " has no 'key = value' line";
  auto version = python_version_of(cfg->version);
  if (!version) {
    return "venv " + dir + ": " + cfg_path.string() + " names no Python version (version = " +
           (cfg->version.empty() ? "missing" : cfg->version) + ")";
  }
  if (!(*version == embedded)) {
    return "venv " + dir + " was made with Python " + cfg->version + " (pyvenv.cfg), but "
           "zfleet-worker embeds Python " + embedded.str() + ": make it again with /usr/bin/python3 -m venv " +
           dir;
  }
  if (!fs::exists(venv_python(dir), ec)) {
    return "venv " + dir + " has no bin/python3 (made by /usr/bin/python3 -m venv?)";
  }
  return std::nullopt;
}

PythonVersion built_python_version() {
  return {ZFLEET_PYTHON_MAJOR, ZFLEET_PYTHON_MINOR};
}

}  // namespace zfleet::config
