// ProgressBar: one line on stderr for long CLI runs (`trimserve eval`), redrawn in place with
// '\r': "label [#####.....] done/total  rate/s  ETA m:ss  note". Silent when stderr is not a
// terminal (isatty), so logs and tests see nothing. Redraws at most ~10 times a second and
// always on the last unit; finish() ends the line. Single-threaded: the caller's thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace trimserve::cli {

// The line drawn for `done` of `total` units after `elapsed_s` seconds (no '\r'); `width` is
// the number of cells of the bar. The rate is done / elapsed; the ETA is left out until
// something is done. Pure, for tests.
std::string format_progress(const std::string& label, int64_t done, int64_t total, double elapsed_s,
                            const std::string& note, int width = 24);

class ProgressBar {
 public:
  // Draws on `out` only when `out` is a terminal.
  ProgressBar(std::string label, int64_t total, std::FILE* out = stderr);
  ~ProgressBar();  // finish()
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `n` more units done; `note` (e.g. the configuration running) is shown after the ETA.
  void advance(int64_t n = 1, const std::string& note = "");
  // Shows `note` without advancing (e.g. when a configuration starts).
  void set_note(const std::string& note);
  // Ends the line (a newline) if anything was drawn. Idempotent.
  void finish();

  bool enabled() const { return enabled_; }
  int64_t done() const { return done_; }

 private:
  void draw(bool force);

  std::string label_;
  int64_t total_;
  std::FILE* out_;
  bool enabled_;
  bool drawn_ = false;
  int64_t done_ = 0;
  std::string note_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace trimserve::cli
