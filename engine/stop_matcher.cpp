#include "engine/stop_matcher.h"

#include <algorithm>

#include "common/check.h"

namespace trimserve {

namespace {

// Bytes at the end of `s` that start a UTF-8 sequence the text does not finish yet (0..3).
// Invalid bytes are not held: they would never complete, and flush() would release them anyway.
size_t incomplete_utf8_tail(std::string_view s) {
  size_t i = s.size();
  size_t continuation = 0;
  while (i > 0 && continuation < 3 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) {
    --i;
    ++continuation;
  }
  if (i == 0) return 0;
  unsigned char lead = static_cast<unsigned char>(s[i - 1]);
  size_t need = 1;
  if ((lead & 0xE0) == 0xC0) {
    need = 2;
  } else if ((lead & 0xF0) == 0xE0) {
    need = 3;
  } else if ((lead & 0xF8) == 0xF0) {
    need = 4;
  }
  size_t have = continuation + 1;
  return have < need ? have : 0;
}

}  // namespace

StopMatcher::StopMatcher(std::vector<std::string> stop) : stop_(std::move(stop)) {
  for (const std::string& s : stop_) TS_CHECK(!s.empty());
}

size_t StopMatcher::partial_match_length() const {
  size_t longest_stop = 0;
  for (const std::string& s : stop_) longest_stop = std::max(longest_stop, s.size());
  if (longest_stop == 0) return 0;
  // Longest first, so the first hit is the answer. A full match was already ruled out, so
  // only proper prefixes (k < stop length) are candidates.
  for (size_t k = std::min(pending_.size(), longest_stop - 1); k > 0; --k) {
    std::string_view tail = std::string_view(pending_).substr(pending_.size() - k);
    for (const std::string& s : stop_) {
      if (s.size() > k && std::string_view(s).substr(0, k) == tail) return k;
    }
  }
  return 0;
}

StopMatcher::Output StopMatcher::feed(std::string_view delta) {
  Output out;
  if (stopped()) {
    out.stopped = true;
    out.stop_index = stop_index_;
    return out;
  }
  pending_.append(delta);

  // Everything before pending_ was released only because no stop string could start there,
  // so any match lies wholly inside pending_. For one string the first occurrence is also
  // the one that ends first.
  size_t best_start = std::string::npos;
  size_t best_end = std::string::npos;
  for (size_t i = 0; i < stop_.size(); ++i) {
    size_t start = pending_.find(stop_[i]);
    if (start == std::string::npos) continue;
    size_t end = start + stop_[i].size();
    if (end < best_end || (end == best_end && start < best_start)) {
      best_start = start;
      best_end = end;
      stop_index_ = static_cast<int32_t>(i);
    }
  }
  if (stopped()) {
    out.text = pending_.substr(0, best_start);
    out.stopped = true;
    out.stop_index = stop_index_;
    pending_.clear();
    return out;
  }

  size_t hold = std::max(partial_match_length(), incomplete_utf8_tail(pending_));
  size_t emit = pending_.size() - hold;
  out.text = pending_.substr(0, emit);
  pending_.erase(0, emit);
  return out;
}

std::string StopMatcher::flush() {
  std::string rest;
  rest.swap(pending_);
  return rest;  // empty after a match: feed() cleared it
}

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone: return "";
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
  }
  return "";
}

FinishChecker::FinishChecker(const SamplingParams& params, std::vector<int64_t> eos_token_ids)
    : max_tokens_(params.max_tokens) {
  TS_CHECK(max_tokens_ >= 1);
  if (!params.ignore_eos) stop_ids_ = std::move(eos_token_ids);
  stop_ids_.insert(stop_ids_.end(), params.stop_token_ids.begin(), params.stop_token_ids.end());
  std::sort(stop_ids_.begin(), stop_ids_.end());
}

FinishChecker::Decision FinishChecker::on_token(int32_t token, int64_t num_output_tokens) const {
  TS_CHECK(num_output_tokens >= 1);
  Decision d;
  if (std::binary_search(stop_ids_.begin(), stop_ids_.end(), static_cast<int64_t>(token))) {
    d.reason = FinishReason::kStop;
    d.hide_token_text = true;
  } else if (num_output_tokens >= max_tokens_) {
    d.reason = FinishReason::kLength;
  }
  return d;
}

}  // namespace trimserve
