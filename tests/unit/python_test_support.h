// Shared by the unit tests that run Python: the one embedded interpreter of
// the test process, msgpack encoding of C++ values, and fresh temp folders.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include <msgpack.hpp>

#include "tests/unit/msgpack_test_support.h"
#include "worker/exec/python_runtime.h"

namespace zfleet::worker::testing {

// Created on first use and kept for the life of the test process.
inline PythonRuntime& runtime() {
  static PythonRuntime rt({});
  return rt;
}

using ::zfleet::testing::packed;

// A new, empty, canonical folder under the system temp dir.
inline std::filesystem::path fresh_temp_dir(const std::string& prefix) {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             (prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::create_directories(dir);
  return std::filesystem::canonical(dir);
}

}  // namespace zfleet::worker::testing
