// The thread pool (pool.h) and the deterministic partial-sum helper every reduction uses.
#include "pool.h"

#include "common.h"

namespace pb {

Pool pool;

namespace {
inline void pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
}  // namespace

void Pool::resize(int n) {
  std::lock_guard<std::mutex> serial(call_);
  stop();
  size_ = std::max(1, n);
  for (int i = 1; i < size_; i++) workers_.emplace_back([this] { loop(); });
}

void Pool::parallelFor(long n, const std::function<void(long)>& fn) {
  std::lock_guard<std::mutex> serial(call_);
  if (size_ == 1 || n <= 1) {
    for (long i = 0; i < n; i++) fn(i);  // an exception simply propagates
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &fn;
    n_ = n;
    error_ = nullptr;
    next_.store(0);
    open_ = true;
    generation_++;
  }
  cv_.notify_all();
  drain(fn);
  // Workers still finishing a chunk usually end within microseconds: poll before sleeping.
  const auto until = std::chrono::steady_clock::now() + SPIN;
  for (int i = 0; active_.load(std::memory_order_acquire) > 0; i++) {
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) break;
    pause();
  }
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mu_);
    open_ = false;
    done_.wait(lock, [this] { return active_ == 0; });
    job_ = nullptr;
    std::lock_guard<std::mutex> e(errorMu_);
    std::swap(error, error_);
  }
  if (error) std::rethrow_exception(error);
}

void Pool::drain(const std::function<void(long)>& fn) {
  for (long i; (i = next_.fetch_add(1)) < n_;) {
    try {
      fn(i);
    } catch (...) {
      std::lock_guard<std::mutex> e(errorMu_);
      if (!error_) error_ = std::current_exception();
      next_.store(n_);  // nobody starts another chunk of a failed kernel
    }
  }
}

void Pool::loop() {
  uint64_t seen = 0;
  for (;;) {
    const auto until = std::chrono::steady_clock::now() + SPIN;
    for (int i = 0; generation_.load(std::memory_order_acquire) == seen && !quit_.load(std::memory_order_relaxed); i++) {
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) break;
      pause();
    }
    const std::function<void(long)>* job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return quit_ || generation_ != seen; });
      if (quit_) return;
      seen = generation_;
      if (!open_) continue;
      job = job_;
      active_++;
    }
    drain(*job);
    std::lock_guard<std::mutex> lock(mu_);
    if (--active_ == 0) done_.notify_all();
  }
}

void Pool::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  quit_ = false;
}

void sumPartials(const std::vector<std::vector<float>>& partial, long size, float* out) {
  std::fill(out, out + size, 0.f);
  for (const auto& p : partial)
    for (long i = 0; i < size; i++) out[i] += p[i];
}

}  // namespace pb
