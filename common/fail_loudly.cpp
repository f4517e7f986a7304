#include "common/fail_loudly.h"

#include "common/log.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace zfleet::common {
namespace {

struct Faults {
  std::string names;  // ",a,b," for a cheap whole-word search
  uint64_t after = 0;
  std::mutex mu;
  std::unordered_map<std::string, uint64_t> calls;  // guarded by mu
};

// Read once; nullptr when ZFLEET_FAULT is unset (the normal case).
Faults* faults() {
  static Faults* f = [] () -> Faults* {
    const char* names = std::getenv("ZFLEET_FAULT");
    if (!names || !*names) return nullptr;
    auto* out = new Faults;
    out->names = std::string(",") + names + ",";
    if (const char* after = std::getenv("ZFLEET_FAULT_AFTER")) out->after = std::strtoull(after, nullptr, 10);
    return out;
  }();
  return f;
}

}  // namespace

void die(const std::shared_ptr<spdlog::logger>& log, std::string_view what) {
  if (log) {
    log->critical("{}: exiting (code {}) so that a supervisor restarts this process", what,
                  kThreadDiedExit);
  }
  stop_logging(std::chrono::seconds(2));  // write what is queued, this line included
  std::_Exit(kThreadDiedExit);
}

void fault_point(std::string_view name) {
  Faults* f = faults();
  if (!f) return;
  std::string word = "," + std::string(name) + ",";
  if (f->names.find(word) == std::string::npos) return;
  std::lock_guard lock(f->mu);
  if (f->calls[std::string(name)]++ < f->after) return;
  throw std::runtime_error("injected fault at " + std::string(name));
}

}  // namespace zfleet::common
