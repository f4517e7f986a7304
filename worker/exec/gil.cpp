#include "worker/exec/gil.h"

namespace zfleet::worker {
namespace {

// The thread state this OS thread keeps, created on first use.
class KeptThreadState {
 public:
  ~KeptThreadState() {
    // Without an interpreter there is nothing to delete (Py_Finalize already
    // freed every thread state); during finalization taking the GIL could
    // terminate this thread, so leave it to Py_Finalize as well.
    if (state_ == nullptr || !Py_IsInitialized() || _Py_IsFinalizing()) return;
    PyEval_RestoreThread(state_);
    // Drops the reference taken by the first PyGILState_Ensure(). For a pool
    // thread that is the last one: the state is cleared and deleted and the
    // GIL released. For a thread that had its own state (the main thread)
    // the count stays >= 1 and the GIL is simply released.
    PyGILState_Release(PyGILState_UNLOCKED);
  }

  void acquire() {
    if (state_ == nullptr) {
      PyGILState_Ensure();  // creates (or finds) this thread's state and takes the GIL
      state_ = PyThreadState_Get();
      return;
    }
    PyEval_RestoreThread(state_);
  }

 private:
  PyThreadState* state_ = nullptr;
};

thread_local KeptThreadState kept_state;

}  // namespace

GilAcquire::GilAcquire() {
  if (PyGILState_Check()) return;  // already held by this thread: nested use
  kept_state.acquire();
  acquired_ = true;
}

GilAcquire::~GilAcquire() {
  if (acquired_) PyEval_SaveThread();
}

}  // namespace zfleet::worker
