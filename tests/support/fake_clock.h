// FakeClock: a Clock (kvpool/clock.h) that stands still until a test sets or advances it.
#pragma once

#include "common/check.h"
#include "kvpool/clock.h"

namespace trimserve::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(double start_s = 1000.0) : now_(start_s) {}
  double now_s() const override { return now_; }
  // Time never goes backwards (the Clock contract).
  void set(double t_s) {
    TS_CHECK(t_s >= now_);
    now_ = t_s;
  }
  void advance(double dt_s) { set(now_ + dt_s); }

 private:
  double now_;
};

}  // namespace trimserve::testing
