// Tokenizer: a HF tokenizer.json of the byte-level BPE kind that Qwen2/2.5/3 ship (GPT-2 and
// Llama 3 files have the same shape), reproducing HF tokenizers' encode/decode id for id and
// byte for byte (checked against a reference on the real Qwen3 file, see
// tests/engine/tokenizer_reference_test.cpp).
//
// encode(text) = for each run between added tokens (matched on the raw text, see
// bpe_added_tokens.h): normalize (NFC for Qwen3) -> match normalized added tokens ->
// pre-tokenize (the file's Split regex, then ByteLevel) -> BPE each word. It never adds
// BOS/EOS; chat templates spell those out.
// decode(ids) = the tokens' bytes concatenated, then invalid UTF-8 replaced by U+FFFD
// exactly like HF's decode (Rust from_utf8_lossy).
//
// Thread-safety: a loaded Tokenizer is immutable apart from an internal, mutex-guarded BPE
// word cache; every const method may be called from any number of threads concurrently.
// Errors: loading reports untrusted-file problems as Status naming the file; encode/decode
// never fail (see each method for how odd input is handled).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/bpe_added_tokens.h"
#include "engine/utf8_normalize.h"

namespace trimserve {

class BpeModel;
class PreTokenizer;
struct TokenizerSpec;

class Tokenizer {
 public:
  // Loads a tokenizer.json. Errors: kNotFound (no such file), kInvalidArgument (malformed
  // JSON, wrong field types, vocab/merges inconsistent), kUnimplemented (a valid HF
  // tokenizer of an unsupported kind, e.g. "model.type 'WordPiece' is not supported
  // (expected BPE)"). Every message starts with the file path.
  static Result<std::unique_ptr<Tokenizer>> load_file(const std::string& tokenizer_json_path);

  // load_file(dir + "/tokenizer.json").
  static Result<std::unique_ptr<Tokenizer>> load_model_dir(const std::string& dir);

  // Same as load_file, from the JSON text; `source_name` prefixes error messages.
  static Result<std::unique_ptr<Tokenizer>> from_json(std::string_view json_text,
                                                      const std::string& source_name);

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Token ids of `text`. Invalid UTF-8 in `text` is first repaired (each maximal invalid
  // subsequence -> U+FFFD), since HF only ever sees valid strings; callers that must reject
  // such input check utf8_is_valid() (engine/utf8.h) themselves. With parse_special false,
  // special added tokens (<|im_start|>, <|endoftext|>, ...) in the text are tokenized as
  // plain text, so user content cannot inject them; non-special added tokens (<think>,
  // <tool_call>, ...) still match, as with HF's split_special_tokens=True.
  std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const;

  // Text of `ids`. Ids that are not in the vocabulary contribute nothing (HF behaviour);
  // use decode_checked() for ids from users. skip_special drops special added tokens.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  // decode() that fails with kOutOfRange naming the first id that is not in the vocabulary.
  Result<std::string> decode_checked(std::span<const int32_t> ids, bool skip_special = false) const;

  // Largest token id + 1, counting added tokens (151669 for Qwen3; the model's embedding
  // table may be larger).
  int64_t vocab_size() const { return vocab_size_; }

  // Id of a token in HF's spelling: an added token's content ("<|im_end|>") or a vocab
  // entry in byte-level form ("Ġhello").
  std::optional<int32_t> token_to_id(std::string_view token) const;

  // HF spelling of `id`, or nullopt if `id` is not in the vocabulary.
  std::optional<std::string> id_to_token(int32_t id) const;

  // Raw bytes `id` decodes to (possibly a fragment of a UTF-8 character); empty if `id`
  // is not in the vocabulary.
  std::string id_to_bytes(int32_t id) const;

  // Appends the raw bytes of `id` to `out` unless skip_special and `id` is special.
  // Returns false (appending nothing) if `id` is not in the vocabulary.
  bool append_bytes(int32_t id, bool skip_special, std::string& out) const;

  bool is_valid_id(int32_t id) const;
  // True for added tokens flagged "special" (<|im_start|>, <|endoftext|>; not <think>).
  bool is_special(int32_t id) const;

  const std::vector<AddedToken>& added_tokens() const { return added_tokens_; }

  // The normalizer alone (exposed for tests): `text` must be valid UTF-8.
  std::string normalize(std::string_view text) const;

 private:
  Tokenizer() = default;
  static Result<std::unique_ptr<Tokenizer>> build(TokenizerSpec spec);

  const AddedToken* added_token_for_id(int32_t id) const;
  // Normalizes, matches normalized added tokens, pre-tokenizes and BPEs one run of text.
  void encode_section(std::string_view section, bool parse_special, std::vector<int32_t>& out) const;
  // Pre-tokenizes and BPEs normalized text that holds no added token.
  void encode_plain(std::string_view text, std::vector<int32_t>& out) const;

  std::unique_ptr<BpeModel> model_;
  std::vector<AddedToken> added_tokens_;
  std::vector<int32_t> added_index_;  // id -> index into added_tokens_, or -1
  std::unique_ptr<AddedTokenMatcher> raw_matcher_;         // tokens with normalized=false
  std::unique_ptr<AddedTokenMatcher> normalized_matcher_;  // tokens with normalized=true
  NormalizationForm normalizer_ = NormalizationForm::kNone;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  int64_t vocab_size_ = 0;
};

}  // namespace trimserve
