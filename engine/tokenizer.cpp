#include "engine/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/check.h"
#include "engine/bpe_model.h"
#include "engine/bpe_tokenizer_json.h"
#include "engine/pretokenizer.h"
#include "engine/utf8.h"

namespace trimserve {
namespace {

// Added-token ids index flat arrays, like vocab ids (see bpe_model.cpp).
constexpr int64_t kMaxAddedTokenId = int64_t{1} << 24;

}  // namespace

Tokenizer::~Tokenizer() = default;

Result<std::unique_ptr<Tokenizer>> Tokenizer::load_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return not_found(path + ": no such file");
  if (!std::filesystem::is_regular_file(path, ec)) return invalid_argument(path + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(path + ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return data_loss(path + ": read error");
  return from_json(text.str(), path);
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::load_model_dir(const std::string& dir) {
  return load_file((std::filesystem::path(dir) / "tokenizer.json").string());
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_json(std::string_view json_text,
                                                        const std::string& source_name) {
  Result<TokenizerSpec> spec = parse_tokenizer_json(json_text);
  if (!spec.ok()) return spec.status().with_context(source_name);
  Result<std::unique_ptr<Tokenizer>> tok = build(std::move(*spec));
  if (!tok.ok()) return tok.status().with_context(source_name);
  return tok;
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::build(TokenizerSpec spec) {
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  Result<std::unique_ptr<BpeModel>> model = BpeModel::build(spec.model);
  if (!model.ok()) return model.status();
  t->model_ = std::move(*model);
  t->normalizer_ = spec.normalizer;

  int64_t max_id = t->model_->max_id();
  for (const AddedToken& a : spec.added_tokens) {
    if (a.id >= kMaxAddedTokenId) {
      return invalid_argument("added token '" + a.content + "' has out-of-range id " +
                              std::to_string(a.id));
    }
    max_id = std::max<int64_t>(max_id, a.id);
  }
  t->vocab_size_ = max_id + 1;
  t->added_tokens_ = std::move(spec.added_tokens);
  t->added_index_.assign(static_cast<size_t>(t->vocab_size_), -1);
  for (size_t i = 0; i < t->added_tokens_.size(); ++i) {
    const AddedToken& a = t->added_tokens_[i];
    if (t->added_index_[a.id] >= 0) {
      return invalid_argument("added tokens '" + t->added_tokens_[t->added_index_[a.id]].content +
                              "' and '" + a.content + "' share id " + std::to_string(a.id));
    }
    t->added_index_[a.id] = static_cast<int32_t>(i);
  }
  std::vector<std::pair<std::string, const AddedToken*>> raw_patterns;
  std::vector<std::pair<std::string, const AddedToken*>> normalized_patterns;
  for (const AddedToken& a : t->added_tokens_) {
    if (!a.normalized) {
      raw_patterns.emplace_back(a.content, &a);
    } else {
      // Normalized tokens are looked for in normalized text, so normalize the pattern too.
      std::string storage;
      normalized_patterns.emplace_back(unicode_normalize(t->normalizer_, a.content, storage), &a);
    }
  }
  t->raw_matcher_ = std::make_unique<AddedTokenMatcher>(raw_patterns);
  t->normalized_matcher_ = std::make_unique<AddedTokenMatcher>(normalized_patterns);

  std::vector<std::unique_ptr<RegexSplit>> splits;
  for (size_t i = 0; i < spec.splits.size(); ++i) {
    const SplitSpec& s = spec.splits[i];
    Result<std::unique_ptr<RegexSplit>> split = RegexSplit::create(s.onig_pattern, s.behavior, s.invert);
    if (!split.ok()) return split.status().with_context("pre_tokenizer split " + std::to_string(i));
    splits.push_back(std::move(*split));
  }
  std::unique_ptr<RegexSplit> byte_level_split;
  if (spec.byte_level_regex) {
    Result<std::unique_ptr<RegexSplit>> split =
        RegexSplit::create(PreTokenizer::kGpt2Pattern, SplitBehavior::kIsolated, false);
    TS_CHECK(split.ok());  // a constant pattern that is known to compile
    byte_level_split = std::move(*split);
  }
  t->pre_tokenizer_ = std::make_unique<PreTokenizer>(std::move(splits), spec.add_prefix_space,
                                                     std::move(byte_level_split));
  return t;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  std::string repaired;
  if (!utf8_is_valid(text)) {
    repaired = utf8_lossy(text);
    text = repaired;
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  std::vector<AddedTokenMatcher::Span> spans;
  raw_matcher_->split(text, parse_special, spans);
  for (const auto& span : spans) {
    if (span.token != nullptr) {
      ids.push_back(span.token->id);
    } else {
      encode_section(text.substr(span.start, span.end - span.start), parse_special, ids);
    }
  }
  return ids;
}

void Tokenizer::encode_section(std::string_view section, bool parse_special,
                               std::vector<int32_t>& out) const {
  std::string storage;
  const std::string_view normalized = unicode_normalize(normalizer_, section, storage);
  if (normalized_matcher_->empty()) {
    encode_plain(normalized, out);
    return;
  }
  std::vector<AddedTokenMatcher::Span> spans;
  normalized_matcher_->split(normalized, parse_special, spans);
  for (const auto& span : spans) {
    if (span.token != nullptr) {
      out.push_back(span.token->id);
    } else {
      encode_plain(normalized.substr(span.start, span.end - span.start), out);
    }
  }
}

void Tokenizer::encode_plain(std::string_view text, std::vector<int32_t>& out) const {
  pre_tokenizer_->pre_tokenize(text, [&](std::string_view word) { model_->encode_word(word, out); });
}

const AddedToken* Tokenizer::added_token_for_id(int32_t id) const {
  if (id < 0 || id >= vocab_size_) return nullptr;
  const int32_t index = added_index_[id];
  return index < 0 ? nullptr : &added_tokens_[index];
}

bool Tokenizer::append_bytes(int32_t id, bool skip_special, std::string& out) const {
  if (const AddedToken* a = added_token_for_id(id)) {
    if (!(skip_special && a->special)) out.append(a->content);
    return true;
  }
  const std::string* bytes = model_->id_to_bytes(id);
  if (bytes == nullptr) return false;
  out.append(*bytes);
  return true;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string bytes;
  for (int32_t id : ids) append_bytes(id, skip_special, bytes);
  return utf8_lossy(bytes);
}

Result<std::string> Tokenizer::decode_checked(std::span<const int32_t> ids, bool skip_special) const {
  std::string bytes;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!append_bytes(ids[i], skip_special, bytes)) {
      return out_of_range("token id " + std::to_string(ids[i]) + " at index " +
                          std::to_string(i) + " is not in the vocabulary (size " +
                          std::to_string(vocab_size_) + ")");
    }
  }
  return utf8_lossy(bytes);
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  for (const AddedToken& a : added_tokens_) {
    if (a.content == token) return a.id;
  }
  return model_->token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* a = added_token_for_id(id)) return a->content;
  if (const std::string* t = model_->id_to_token(id)) return *t;
  return std::nullopt;
}

std::string Tokenizer::id_to_bytes(int32_t id) const {
  std::string out;
  append_bytes(id, /*skip_special=*/false, out);
  return out;
}

bool Tokenizer::is_valid_id(int32_t id) const {
  return added_token_for_id(id) != nullptr || model_->id_to_bytes(id) != nullptr;
}

bool Tokenizer::is_special(int32_t id) const {
  const AddedToken* a = added_token_for_id(id);
  return a != nullptr && a->special;
}

std::string Tokenizer::normalize(std::string_view text) const {
  std::string storage;
  return std::string(unicode_normalize(normalizer_, text, storage));
}

}  // namespace trimserve
