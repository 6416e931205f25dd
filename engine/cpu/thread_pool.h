// ThreadPool: a fixed set of worker threads for data-parallel loops of the CPU engine.
//
// parallel_for(n, fn) splits [0, n) into contiguous ranges, runs fn(begin, end) on the workers
// and the calling thread, and returns when all ranges are done. One caller at a time (the
// engine's owning thread); fn must not call parallel_for recursively.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace trimserve::cpu {

class ThreadPool {
 public:
  // num_threads <= 0 means std::thread::hardware_concurrency(). The caller counts as one.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Runs fn over [0, n) in at most num_threads() ranges of at least `grain` items each.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain = 1);

 private:
  void worker_loop(int index);

  int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  std::vector<std::pair<int64_t, int64_t>> ranges_;  // one per participant; [0] is the caller's
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

}  // namespace trimserve::cpu
