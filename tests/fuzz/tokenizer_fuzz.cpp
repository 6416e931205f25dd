// Fuzz target: the tokenizer (the embedded model's byte-level BPE with its added tokens). The
// first input byte picks whether special tokens are parsed; the rest is text to encode. Then
// the ids are decoded (which must succeed: they came from the tokenizer), and the input read
// as little-endian 16-bit ids is decoded with checking (out-of-range ids are refused, not
// read). Crashes, sanitizer reports and a failed decode of encoded ids are findings.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "engine/tokenizer.h"

using namespace trimserve;

namespace {

std::unique_ptr<Tokenizer>& tokenizer() {
  static std::unique_ptr<Tokenizer> t;
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto t = Tokenizer::load_model_dir(TRIMSERVE_SOURCE_DIR "/deploy/models/trimchat-6m");
  if (!t.ok()) std::abort();
  tokenizer() = std::move(*t);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool parse_special = data[0] & 1;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::vector<int32_t> ids = tokenizer()->encode(text, parse_special);
  if (!tokenizer()->decode_checked(ids).ok()) std::abort();  // its own ids must decode
  std::vector<int32_t> raw;
  for (size_t i = 1; i + 1 < size; i += 2) raw.push_back(data[i] | (data[i + 1] << 8));
  (void)tokenizer()->decode_checked(raw);
  (void)tokenizer()->decode_checked(raw, /*skip_special=*/true);
  return 0;
}
