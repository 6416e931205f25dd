#include "engine/bpe_added_tokens.h"

#include <algorithm>

#include "engine/utf8.h"

namespace trimserve {
namespace {

bool ends_with_word_char(std::string_view s) {
  return !s.empty() && unicode_is_word_char(utf8_prev(s, s.size()));
}

bool starts_with_word_char(std::string_view s) {
  size_t pos = 0;
  return !s.empty() && unicode_is_word_char(utf8_next(s, pos));
}

// Start of the White_Space run that ends `s` (s.size() if none).
size_t trailing_space_start(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t pos = start;
    if (!unicode_is_white_space(utf8_next(s, pos))) break;
    end = start;
  }
  return end;
}

// Length of the White_Space run that starts `s`.
size_t leading_space_len(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t next = pos;
    if (!unicode_is_white_space(utf8_next(s, next))) break;
    pos = next;
  }
  return pos;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(
    const std::vector<std::pair<std::string, const AddedToken*>>& patterns) {
  nodes_.emplace_back();
  for (const auto& [pattern, token] : patterns) {
    if (pattern.empty()) continue;  // HF ignores empty added tokens
    int32_t node = 0;
    for (char ch : pattern) {
      const auto byte = static_cast<unsigned char>(ch);
      auto& children = nodes_[node].children;
      auto it = std::lower_bound(children.begin(), children.end(), byte,
                                 [](const auto& child, unsigned char b) { return child.first < b; });
      if (it != children.end() && it->first == byte) {
        node = it->second;
      } else {
        const auto child = static_cast<int32_t>(nodes_.size());
        children.insert(it, {byte, child});
        nodes_.emplace_back();  // invalidates `children`; not used after this
        node = child;
      }
    }
    // Two tokens with the same pattern: the first listed wins, deterministically.
    if (nodes_[node].token == nullptr) nodes_[node].token = token;
    first_byte_[static_cast<unsigned char>(pattern[0])] = true;
  }
}

const AddedToken* AddedTokenMatcher::longest_at(std::string_view text, size_t pos,
                                                size_t& len) const {
  const AddedToken* best = nullptr;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const auto& children = nodes_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& child, unsigned char b) { return child.first < b; });
    if (it == children.end() || it->first != byte) break;
    node = it->second;
    if (nodes_[node].token != nullptr) {
      best = nodes_[node].token;
      len = i + 1 - pos;
    }
  }
  return best;
}

void AddedTokenMatcher::split(std::string_view text, bool match_special,
                              std::vector<Span>& out) const {
  size_t start_offset = 0;  // end of the last emitted span
  size_t search = 0;        // where the next match may start (end of the last raw match)
  while (search < text.size()) {
    // Leftmost-longest: the first position with any match, the longest match there.
    size_t len = 0;
    const AddedToken* token = nullptr;
    size_t start = search;
    for (; start < text.size(); ++start) {
      if (!first_byte_[static_cast<unsigned char>(text[start])]) continue;
      token = longest_at(text, start, len);
      if (token != nullptr) break;
    }
    if (token == nullptr) break;
    size_t stop = start + len;
    search = stop;
    if (token->special && !match_special) continue;
    if (token->single_word) {
      const bool space_before = start == 0 || !ends_with_word_char(text.substr(0, start));
      const bool space_after = stop == text.size() || !starts_with_word_char(text.substr(stop));
      if (!space_before || !space_after) continue;
    }
    // A match inside whitespace an rstrip token already swallowed (only possible for
    // tokens that begin with whitespace): skip it rather than emit overlapping spans.
    if (start < start_offset) continue;
    if (token->lstrip) start = std::max(trailing_space_start(text.substr(0, start)), start_offset);
    if (token->rstrip) stop += leading_space_len(text.substr(stop));
    if (start_offset < start) out.push_back({start_offset, start, nullptr});
    out.push_back({start, stop, token});
    start_offset = stop;
  }
  if (start_offset < text.size()) out.push_back({start_offset, text.size(), nullptr});
}

}  // namespace trimserve
