// StreamingDecoder: turns generated token ids into text deltas as they arrive.
//
// A token may end in the middle of a UTF-8 character (byte-level BPE splits emoji and CJK
// across tokens), so push() returns only the text that has become final and holds back a
// trailing incomplete sequence until a later token completes it. Bytes that can never
// become valid are emitted as U+FFFD immediately; flush() emits the held tail (one U+FFFD
// for a truncated character). The concatenation of every push() and the final flush() is
// exactly Tokenizer::decode() of all ids pushed.
//
// Thread-safety: one decoder per sequence, used by one thread at a time (it mutates its
// pending bytes). The Tokenizer must outlive it.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tokenizer.h"

namespace trimserve {

class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special = false)
      : tokenizer_(&tokenizer), skip_special_(skip_special) {}

  // Appends `id` and returns the text that became complete (possibly empty). Ids not in the
  // vocabulary contribute nothing, as in Tokenizer::decode().
  std::string push(int32_t id);

  // Returns everything still held back (a truncated character becomes U+FFFD) and resets
  // the decoder for reuse.
  std::string flush();

  // Bytes held back waiting for the rest of a character.
  size_t num_pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::string pending_;  // undecoded bytes: always a valid prefix of one UTF-8 character
};

}  // namespace trimserve
