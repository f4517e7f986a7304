// The one doctest main shared by every unit-test binary.
//
// It stops the log thread before the process exits, as the broker and the
// worker do: otherwise the thread may still be writing a queued line while
// static destructors release the loggers, and the last reference to a
// logger can then be dropped on that thread. Harmless, but libspdlog is not
// built with ThreadSanitizer, which cannot see that thread's side of the
// count and reported it as a race (unit.worker_registry, TSan CI run).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <chrono>

#include "common/log.h"

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int rc = context.run();
  zfleet::common::stop_logging(std::chrono::seconds(10));
  return rc;
}
