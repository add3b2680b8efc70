// Thread pool. parallelFor(n, fn) calls fn(i) for every i in [0, n) exactly once, on whichever
// threads are free: chunks are claimed from an atomic counter, so a worker the OS has not scheduled
// (the machine is shared) never holds up the caller, which takes every chunk nobody else claimed.
// Results never depend on which thread ran a chunk: reductions keep one partial per fixed chunk
// range and add them in order (sumPartials), so training is deterministic for any thread count.
// An exception thrown by fn (in any thread) stops the remaining chunks and is rethrown to the caller
// of parallelFor, which the N-API glue turns into a JavaScript error.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pb {

class Pool {
 public:
  void resize(int n);
  int size() const { return size_; }
  // Serialised: one kernel at a time even if several Node threads (workers) call in.
  void parallelFor(long n, const std::function<void(long)>& fn);
  // How long an idle worker polls for the next job before it sleeps: a training step calls kernels
  // a few tens of microseconds apart, and a sleeping thread takes longer than that to wake (a futex
  // round trip, more on a VM). Polling is bounded, so an idle app costs nothing.
  static constexpr auto SPIN = std::chrono::microseconds(200);
  ~Pool() { stop(); }

 private:
  void drain(const std::function<void(long)>& fn);
  void loop();
  void stop();
  int size_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mu_, call_, errorMu_;
  std::condition_variable cv_, done_;
  const std::function<void(long)>* job_ = nullptr;
  long n_ = 0;
  std::atomic<long> next_{0};
  bool open_ = false;
  std::atomic<int> active_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> quit_{false};
  std::exception_ptr error_;
};

extern Pool pool;

}  // namespace pb
