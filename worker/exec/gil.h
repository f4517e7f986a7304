// GIL guards for threads that call into the embedded interpreter again and
// again (pool threads, the timeout watchdog). See python_executor.h for the
// GIL rules of the whole executor.
//
// GilAcquire keeps ONE Python thread state per OS thread for the thread's
// life: the first acquisition creates it with PyGILState_Ensure() and never
// releases that reference; every later acquisition only swaps it in
// (PyEval_RestoreThread / PyEval_SaveThread, well under 1 us) instead of
// building and tearing down a thread state per call (~20 us; what pybind11
// 2.10's gil_scoped_acquire does when its count drops to zero). Because the
// state is registered with the PyGILState API and its count stays >= 1,
// nested pybind11 gil_scoped_acquire or PyGILState_Ensure inside task code
// reuse it and never delete it. At thread exit the state is cleared and
// deleted under the GIL, unless the interpreter is already gone.
//
// Rules: a thread must not join a thread that used GilAcquire while holding
// the GIL itself (the exiting thread takes the GIL to delete its state).
// All such threads must end before the PythonRuntime is destroyed.
// Nesting GilAcquire in a thread that already holds the GIL is a no-op.
//
// GilRelease drops the GIL held by this thread for a blocking C++ wait and
// takes it back on destruction.
#pragma once

#include <Python.h>

namespace zfleet::worker {

class GilAcquire {
 public:
  GilAcquire();
  ~GilAcquire();
  GilAcquire(const GilAcquire&) = delete;
  GilAcquire& operator=(const GilAcquire&) = delete;

 private:
  bool acquired_ = false;
};

class GilRelease {
 public:
  GilRelease() : state_(PyEval_SaveThread()) {}
  ~GilRelease() { PyEval_RestoreThread(state_); }
  GilRelease(const GilRelease&) = delete;
  GilRelease& operator=(const GilRelease&) = delete;

 private:
  PyThreadState* state_;
};

}  // namespace zfleet::worker
