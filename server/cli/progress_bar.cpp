#include "server/cli/progress_bar.h"

#include <unistd.h>

#include <algorithm>

namespace trimserve::cli {

namespace {

std::string clock_text(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  }
  return buf;
}

}  // namespace

std::string format_progress(const std::string& label, int64_t done, int64_t total, double elapsed_s,
                            const std::string& note, int width) {
  const double frac = total > 0 ? std::clamp(static_cast<double>(done) / total, 0.0, 1.0) : 1.0;
  const int filled = static_cast<int>(frac * width);
  std::string line = label + " [" + std::string(static_cast<size_t>(filled), '#') +
                     std::string(static_cast<size_t>(width - filled), '.') + "] " +
                     std::to_string(done) + "/" + std::to_string(total);
  char buf[64];
  if (done > 0 && elapsed_s > 0) {
    const double rate = done / elapsed_s;
    std::snprintf(buf, sizeof(buf), "  %.2f/s  ETA %s", rate,
                  clock_text(std::max<int64_t>(total - done, 0) / rate).c_str());
    line += buf;
  }
  if (!note.empty()) line += "  " + note;
  return line;
}

ProgressBar::ProgressBar(std::string label, int64_t total, std::FILE* out)
    : label_(std::move(label)),
      total_(total),
      out_(out),
      enabled_(out != nullptr && isatty(fileno(out)) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(int64_t n, const std::string& note) {
  done_ += n;
  if (!note.empty()) note_ = note;
  draw(done_ >= total_);
}

void ProgressBar::set_note(const std::string& note) {
  note_ = note;
  draw(true);
}

void ProgressBar::finish() {
  if (drawn_) std::fputc('\n', out_);
  drawn_ = false;
  enabled_ = false;
}

void ProgressBar::draw(bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  // "\033[K" clears what a longer previous line left to the right.
  std::fprintf(out_, "\r%s\033[K", format_progress(label_, done_, total_, elapsed, note_).c_str());
  std::fflush(out_);
  drawn_ = true;
}

}  // namespace trimserve::cli
