// Added tokens (tokenizer.json "added_tokens"): strings such as "<|im_start|>" or "<think>"
// that are cut out of the text before normalization and pre-tokenization and map to one id.
//
// Matching follows HF tokenizers' AddedVocabulary exactly: leftmost-longest,
// non-overlapping matches scanned left to right; a `single_word` token only counts when not
// glued to a word character (Unicode \w) on either side; `lstrip` / `rstrip` make the token
// swallow the White_Space run on that side; special tokens can be switched off per call
// (HF's split_special_tokens), while non-special added tokens always match.
//
// Thread-safety: immutable after construction; split() may run concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trimserve {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;  // matched against normalized text (true) or raw text (false)
};

class AddedTokenMatcher {
 public:
  // One entry per token this matcher looks for: the string to find (the content, or the
  // normalized content for normalized tokens) and the token, which must outlive the matcher.
  // Empty patterns are ignored; of two equal patterns the first wins.
  explicit AddedTokenMatcher(const std::vector<std::pair<std::string, const AddedToken*>>& patterns);

  // A run of text: an added token (token != nullptr, possibly including stripped
  // whitespace) or plain text to normalize and pre-tokenize (token == nullptr).
  struct Span {
    size_t start;
    size_t end;
    const AddedToken* token;
  };

  // Cuts `text` (valid UTF-8) into spans that cover it in order; appends them to `out`.
  // Special tokens are only matched when `match_special` is true.
  void split(std::string_view text, bool match_special, std::vector<Span>& out) const;

  bool empty() const { return nodes_.size() <= 1; }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
    const AddedToken* token = nullptr;                        // a pattern ends here
  };

  // Longest pattern starting at text[pos]; sets `len`, or returns nullptr.
  const AddedToken* longest_at(std::string_view text, size_t pos, size_t& len) const;

  std::vector<Node> nodes_;  // nodes_[0] is the root
  bool first_byte_[256] = {};
};

}  // namespace trimserve
