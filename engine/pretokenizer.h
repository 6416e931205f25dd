// Pre-tokenization: cutting normalized text into the "words" that BPE runs on, as HF's
// `pre_tokenizer` section describes (Split steps with a regex, then ByteLevel).
//
// HF tokenizers evaluates Split regexes with Oniguruma; we use PCRE2 (UTF + UCP, JIT when
// available). The two agree on the syntax these files use except for a few escapes whose
// Unicode meaning differs, which onig_to_pcre2() rewrites (notably `\s`: Oniguruma's
// includes U+0085 NEXT LINE, PCRE2's does not).
//
// Thread-safety: immutable after creation; split()/pre_tokenize() may run concurrently
// (PCRE2 compiled code is shared read-only; match data is per call).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace trimserve {

// Rewrites an Oniguruma (Ruby syntax) pattern into a PCRE2 pattern with the same meaning
// under PCRE2_UTF | PCRE2_UCP: `\s` -> White_Space (adds U+0085), `\h` -> hex digit,
// `\w` -> Unicode word (Alphabetic, Mark, Nd, Pc, Join_Control). Errors (kUnimplemented):
// constructs whose translation is not supported (`\S`, `\H`, `\W` inside a character
// class; nested character classes).
Result<std::string> onig_to_pcre2(std::string_view pattern);

// HF SplitDelimiterBehavior.
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// One HF `Split` step with a regex pattern.
class RegexSplit {
 public:
  // `onig_pattern` is the "Regex" string from tokenizer.json. Errors (kInvalidArgument):
  // the pattern does not compile (message has PCRE2's reason and offset).
  static Result<std::unique_ptr<RegexSplit>> create(std::string_view onig_pattern,
                                                    SplitBehavior behavior, bool invert);
  ~RegexSplit();
  RegexSplit(const RegexSplit&) = delete;
  RegexSplit& operator=(const RegexSplit&) = delete;

  // Calls `emit` with each non-empty piece of `text` (valid UTF-8), in order, as views into
  // `text`. Streams: no per-call buffers proportional to the text.
  void split(std::string_view text, const std::function<void(std::string_view)>& emit) const;

 private:
  RegexSplit() = default;
  // Calls `on_match(start, end)` for every match of the pattern in `text`, in order.
  template <class OnMatch>
  void for_each_match(std::string_view text, OnMatch&& on_match) const;

  struct Compiled;  // PCRE2 objects, kept out of this header
  std::unique_ptr<Compiled> compiled_;
  SplitBehavior behavior_ = SplitBehavior::kIsolated;
  bool invert_ = false;
};

// The whole pre_tokenizer of a byte-level BPE tokenizer: zero or more regex splits applied
// in order (each to every piece the previous one produced), then the ByteLevel step, which
// for each piece first prepends a space if asked (add_prefix_space) and then, with
// use_regex, splits it with the GPT-2 pattern (`byte_level_split`), in HF's order.
class PreTokenizer {
 public:
  PreTokenizer(std::vector<std::unique_ptr<RegexSplit>> splits, bool add_prefix_space,
               std::unique_ptr<RegexSplit> byte_level_split)
      : splits_(std::move(splits)),
        add_prefix_space_(add_prefix_space),
        byte_level_split_(std::move(byte_level_split)) {}

  // The pattern HF's ByteLevel pre-tokenizer uses when `use_regex` is true (it is built into
  // HF tokenizers, not stored in tokenizer.json).
  static constexpr std::string_view kGpt2Pattern =
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

  // Calls `emit` with each word of `text` (valid UTF-8), in order. The view passed to
  // `emit` is only valid during the call.
  void pre_tokenize(std::string_view text,
                    const std::function<void(std::string_view)>& emit) const;

 private:
  // Feeds `piece` through splits_[step...] and the ByteLevel step into `emit`.
  void run(size_t step, std::string_view piece,
           const std::function<void(std::string_view)>& emit) const;

  std::vector<std::unique_ptr<RegexSplit>> splits_;
  bool add_prefix_space_;
  std::unique_ptr<RegexSplit> byte_level_split_;  // null unless ByteLevel use_regex
};

}  // namespace trimserve
