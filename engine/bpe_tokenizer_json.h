// Parsing and validating a HF tokenizer.json into a plain TokenizerSpec.
//
// Supported: model.type "BPE" with byte-level pre-tokenization and decoding, i.e. what
// Qwen2/2.5/3, Llama 3 and GPT-2 style tokenizers ship:
//   normalizer     null | NFC | NFD | NFKC | NFKD | Sequence of at most one of those
//   pre_tokenizer  ByteLevel | Sequence[Split(Regex|String)..., ByteLevel]
//   decoder        ByteLevel
//   post_processor ignored: encode() never adds BOS/EOS (the chat template does that)
// Anything else is rejected with a Status naming the offending field, e.g.
// "model.type 'WordPiece' is not supported (expected BPE)".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/bpe_added_tokens.h"
#include "engine/bpe_model.h"
#include "engine/pretokenizer.h"
#include "engine/utf8_normalize.h"

namespace trimserve {

struct SplitSpec {
  std::string onig_pattern;  // Oniguruma syntax, as stored in the file
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
};

struct TokenizerSpec {
  BpeModelSpec model;
  std::vector<AddedToken> added_tokens;
  NormalizationForm normalizer = NormalizationForm::kNone;
  std::vector<SplitSpec> splits;   // the Split steps, in order
  bool add_prefix_space = false;   // ByteLevel.add_prefix_space
  bool byte_level_regex = false;   // ByteLevel.use_regex: split with PreTokenizer::kGpt2Pattern
};

// Parses the text of a tokenizer.json. Errors: kInvalidArgument for malformed JSON or
// fields of the wrong type, kUnimplemented for valid HF configurations we do not support.
// Messages do not name the file; the caller prefixes it.
Result<TokenizerSpec> parse_tokenizer_json(std::string_view json_text);

}  // namespace trimserve
