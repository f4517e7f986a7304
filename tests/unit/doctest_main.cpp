// The one doctest main of the unit-test binary (zfleet-unit).
//
// It stops the log thread before the process exits, as the broker and the
// worker do: otherwise the thread may still be writing a queued line while
// static destructors release the loggers, and the last reference to a
// logger can then be dropped on that thread. Harmless, but libspdlog is not
// built with ThreadSanitizer, which cannot see that thread's side of the
// count and reported it as a race (unit.worker_registry, TSan CI run).
//
// Each ctest runs the binary with a source-file filter
// (tests/CMakeLists.txt). A filter that matches no test case would pass
// having tested nothing, so a run that started no test case fails, unless
// it only listed or queried (--list-test-cases, --help, ...).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>

#include "common/log.h"

namespace {

int g_cases_started = 0;

// Counts the test cases started; reports nothing itself.
struct StartedCounter : doctest::IReporter {
  explicit StartedCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++g_cases_started; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("zfleet-started-counter", 1, StartedCounter);

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int rc = context.run();
  zfleet::common::stop_logging(std::chrono::seconds(10));
  if (rc == 0 && g_cases_started == 0 && !context.shouldExit()) {
    std::fprintf(stderr, "zfleet-unit: no test case matched the filters: nothing was tested\n");
    return 1;
  }
  return rc;
}
