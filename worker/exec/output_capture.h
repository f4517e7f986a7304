// Task output: what Python code prints (print, sys.stdout, sys.stderr, and
// logging, whose root handler writes to sys.stderr) goes to the worker's
// log (exec_logger) line by line, tagged with the task that wrote it, and
// never raw and unprefixed to the worker's terminal; when the task asked
// for it ("output": true, or the pool's capture_output), up to max_bytes of
// it also come back in its result.
//
// How: install_output_capture() replaces sys.stdout and sys.stderr with
// zfleet_output.TaskStream objects (io.TextIOBase) whose write() calls into
// C++, and points the root logger at the new sys.stderr (basicConfig, at the
// level of the worker's logging.level). A write is routed by the OS thread
// it runs on: a pool thread running a task has a TaskOutputScope (a
// thread-local pointer); any other thread (one a task started, the main
// thread at exit) writes untagged, "stdout (no task): ...".
//
// Log lines: "task <id> stdout: <line>" (or stderr) at info level, control
// characters escaped (output_buffer.h); a line is logged when its "\n"
// arrives, a task's unfinished last line when the task ends, an untagged
// unfinished line on flush(). Output that bypasses sys.stdout/sys.stderr
// (os.write(1, ...), C extensions, child processes) goes to the worker's
// real stdout/stderr as before: it cannot be told apart per task.
//
// Thread safety: everything here runs with the GIL held, which is what
// guards the untagged line buffers; each TaskOutputScope belongs to the one
// thread that made it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "worker/exec/output_buffer.h"

namespace zfleet::worker {

// GIL held; once, at interpreter start (PythonRuntime). `log_level` is the
// worker's logging.level (trace debug info warn error critical off).
void install_output_capture(const std::string& log_level);

// While it lives, Python writes on this thread belong to task `task_id`.
// Construct and destroy with the GIL held, on the thread running the task;
// scopes nest (the previous one is restored).
class TaskOutputScope {
 public:
  static constexpr int kStdout = 0;
  static constexpr int kStderr = 1;

  // `keep`: also keep up to `max_bytes` of the output for the result.
  TaskOutputScope(std::string_view task_id, bool keep, uint64_t max_bytes);
  ~TaskOutputScope();
  TaskOutputScope(const TaskOutputScope&) = delete;
  TaskOutputScope& operator=(const TaskOutputScope&) = delete;

  void write(int stream, std::string_view text);
  // Logs the unfinished lines; returns the kept output ("" unless `keep`).
  std::string finish();

  // This thread's scope, or nullptr.
  static TaskOutputScope* current();

 private:
  void log_line(int stream, std::string_view line) const;

  std::string id_;  // as the client gave it (common::task_ref quotes it in the log when needed)
  bool keep_;
  OutputBuffer kept_;
  LineSplitter lines_[2];
  TaskOutputScope* previous_;
  bool finished_ = false;
};

}  // namespace zfleet::worker
