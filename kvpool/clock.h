// Clock: the injected source of time for everything in kvpool that ages (session TTL and LRU,
// idle decay), so tests drive time with a fake clock instead of sleeping (DESIGN.md §7.3).
//
// Threading: now_s() is const and SteadyClock has no state, so any thread may call it; users
// in kvpool call it from the engine loop only.
#pragma once

#include <chrono>

namespace trimserve {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since an arbitrary fixed origin; never decreases.
  virtual double now_s() const = 0;
};

// std::chrono::steady_clock (monotonic, unaffected by wall-clock changes).
class SteadyClock final : public Clock {
 public:
  double now_s() const override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace trimserve
