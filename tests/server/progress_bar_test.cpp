// The progress line of long CLI runs (server/cli/progress_bar.h).
#include "server/cli/progress_bar.h"

#include <catch2/catch.hpp>
#include <cstdio>

using trimserve::cli::format_progress;
using trimserve::cli::ProgressBar;

TEST_CASE("the progress line: bar, counts, rate, ETA, note", "[progress]") {
  CHECK(format_progress("eval", 0, 8, 0.0, "", 8) == "eval [........] 0/8");
  CHECK(format_progress("eval", 2, 8, 4.0, "trimkv M=64", 8) ==
        "eval [##......] 2/8  0.50/s  ETA 0:12  trimkv M=64");
  CHECK(format_progress("eval", 8, 8, 2.0, "", 4) == "eval [####] 8/8  4.00/s  ETA 0:00");
  CHECK(format_progress("x", 1, 7201, 1.0, "", 2) == "x [..] 1/7201  1.00/s  ETA 2:00:00");
}

TEST_CASE("nothing is drawn when the stream is not a terminal", "[progress]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  {
    ProgressBar bar("eval", 3, f);
    CHECK_FALSE(bar.enabled());
    bar.advance(1, "full");
    bar.advance(2);
    CHECK(bar.done() == 3);
  }
  CHECK(std::ftell(f) == 0);
  std::fclose(f);
}
