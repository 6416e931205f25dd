#include "engine/bpe_tokenizer_json.h"

#include <nlohmann/json.hpp>

namespace trimserve {
namespace {

using nlohmann::json;

std::string type_of(const json& j) { return j.is_null() ? "null" : j.type_name(); }

// Reads an optional boolean field; absent or null -> `fallback`.
Result<bool> get_bool(const json& obj, const char* key, bool fallback, const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) {
    return invalid_argument(where + "." + key + " must be a boolean, not " + type_of(*it));
  }
  return it->get<bool>();
}

// The "type" string of a component object ("" when the object has none).
Result<std::string> get_type(const json& obj, const std::string& where) {
  if (!obj.is_object()) return invalid_argument(where + " must be an object, not " + type_of(obj));
  const auto it = obj.find("type");
  if (it == obj.end()) return std::string();
  if (!it->is_string()) return invalid_argument(where + ".type must be a string");
  return it->get<std::string>();
}

Status parse_model(const json& root, BpeModelSpec& spec) {
  const auto it = root.find("model");
  if (it == root.end()) return invalid_argument("missing field 'model'");
  const json& model = *it;
  Result<std::string> type = get_type(model, "model");
  if (!type.ok()) return type.status();
  // Very old files omit model.type; a vocab plus merges can only be BPE.
  if (type->empty() && !(model.contains("vocab") && model.contains("merges"))) {
    return invalid_argument("model.type is missing");
  }
  if (!type->empty() && *type != "BPE") {
    return unimplemented("model.type '" + *type + "' is not supported (expected BPE)");
  }
  Result<bool> byte_fallback = get_bool(model, "byte_fallback", false, "model");
  if (!byte_fallback.ok()) return byte_fallback.status();
  if (*byte_fallback) {
    return unimplemented("model.byte_fallback is not supported (only byte-level BPE is)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const auto f = model.find(key);
    if (f != model.end() && !f->is_null() && !(f->is_string() && f->get<std::string>().empty())) {
      return unimplemented(std::string("model.") + key + " is not supported");
    }
  }
  if (const auto d = model.find("dropout"); d != model.end() && !d->is_null()) {
    if (!d->is_number()) return invalid_argument("model.dropout must be a number or null");
    if (d->get<double>() > 0.0) return unimplemented("model.dropout > 0 is not supported");
  }
  Result<bool> ignore_merges = get_bool(model, "ignore_merges", false, "model");
  if (!ignore_merges.ok()) return ignore_merges.status();
  spec.ignore_merges = *ignore_merges;

  const auto vocab = model.find("vocab");
  if (vocab == model.end() || !vocab->is_object()) {
    return invalid_argument("model.vocab must be an object mapping token -> id");
  }
  spec.vocab.reserve(vocab->size());
  for (const auto& [token, id] : vocab->items()) {
    if (!id.is_number_integer()) {
      return invalid_argument("model.vocab['" + token + "'] must be an integer id, not " +
                              type_of(id));
    }
    const auto value = id.get<int64_t>();
    if (value < 0 || value > INT32_MAX) {
      return invalid_argument("model.vocab['" + token + "'] = " + std::to_string(value) +
                              " is out of range");
    }
    spec.vocab.emplace_back(token, static_cast<int32_t>(value));
  }

  const auto merges = model.find("merges");
  if (merges == model.end() || !merges->is_array()) {
    return invalid_argument("model.merges must be an array");
  }
  spec.merges.reserve(merges->size());
  for (size_t i = 0; i < merges->size(); ++i) {
    const json& m = (*merges)[i];
    const std::string where = "model.merges[" + std::to_string(i) + "]";
    if (m.is_string()) {
      // Legacy form "left right"; byte-level tokens never contain a raw space.
      const auto& s = m.get_ref<const std::string&>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == s.size()) {
        return invalid_argument(where + " '" + s + "' is not of the form 'left right'");
      }
      spec.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      return invalid_argument(where + " must be a string 'a b' or a pair [a, b] of strings");
    }
  }
  return Status();
}

Status parse_added_tokens(const json& root, std::vector<AddedToken>& out) {
  const auto it = root.find("added_tokens");
  if (it == root.end() || it->is_null()) return Status();
  if (!it->is_array()) return invalid_argument("added_tokens must be an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& t = (*it)[i];
    const std::string where = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object()) return invalid_argument(where + " must be an object");
    const auto id = t.find("id");
    const auto content = t.find("content");
    if (id == t.end() || !id->is_number_integer() || id->get<int64_t>() < 0 ||
        id->get<int64_t>() > INT32_MAX) {
      return invalid_argument(where + ".id must be a non-negative integer");
    }
    if (content == t.end() || !content->is_string()) {
      return invalid_argument(where + ".content must be a string");
    }
    AddedToken token;
    token.id = static_cast<int32_t>(id->get<int64_t>());
    token.content = content->get<std::string>();
    // HF defaults: special false, normalized true (AddedToken::default()).
    struct Flag {
      const char* key;
      bool* field;
      bool fallback;
    };
    for (const Flag& f : {Flag{"special", &token.special, false}, Flag{"lstrip", &token.lstrip, false},
                          Flag{"rstrip", &token.rstrip, false},
                          Flag{"single_word", &token.single_word, false},
                          Flag{"normalized", &token.normalized, true}}) {
      Result<bool> v = get_bool(t, f.key, f.fallback, where);
      if (!v.ok()) return v.status();
      *f.field = *v;
    }
    out.push_back(std::move(token));
  }
  return Status();
}

Result<NormalizationForm> unicode_form(const std::string& type) {
  if (type == "NFC") return NormalizationForm::kNfc;
  if (type == "NFD") return NormalizationForm::kNfd;
  if (type == "NFKC") return NormalizationForm::kNfkc;
  if (type == "NFKD") return NormalizationForm::kNfkd;
  return unimplemented("normalizer type '" + type + "' is not supported");
}

Status parse_normalizer(const json& root, NormalizationForm& form) {
  const auto it = root.find("normalizer");
  if (it == root.end() || it->is_null()) return Status();
  Result<std::string> type = get_type(*it, "normalizer");
  if (!type.ok()) return type.status();
  if (*type != "Sequence") {
    Result<NormalizationForm> f = unicode_form(*type);
    if (!f.ok()) return f.status();
    form = *f;
    return Status();
  }
  const auto list = it->find("normalizers");
  if (list == it->end() || !list->is_array()) {
    return invalid_argument("normalizer.normalizers must be an array");
  }
  if (list->size() > 1) {
    return unimplemented("a normalizer Sequence of more than one step is not supported");
  }
  for (const json& n : *list) {
    Result<std::string> t = get_type(n, "normalizer.normalizers[0]");
    if (!t.ok()) return t.status();
    Result<NormalizationForm> f = unicode_form(*t);
    if (!f.ok()) return f.status();
    form = *f;
  }
  return Status();
}

// Escapes a literal string for use as a regex (HF Split with a "String" pattern).
std::string regex_quote(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}-/#&~ ").find(c) != std::string_view::npos) {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

Result<SplitSpec> parse_split(const json& p, const std::string& where) {
  SplitSpec split;
  const auto pattern = p.find("pattern");
  if (pattern == p.end() || !pattern->is_object()) {
    return invalid_argument(where + ".pattern must be an object {\"Regex\": ...}");
  }
  if (const auto r = pattern->find("Regex"); r != pattern->end() && r->is_string()) {
    split.onig_pattern = r->get<std::string>();
  } else if (const auto s = pattern->find("String"); s != pattern->end() && s->is_string()) {
    split.onig_pattern = regex_quote(s->get<std::string>());
  } else {
    return invalid_argument(where + ".pattern must hold a string 'Regex' or 'String'");
  }
  const auto behavior = p.find("behavior");
  const std::string b = behavior != p.end() && behavior->is_string() ? behavior->get<std::string>() : "";
  if (b == "Isolated") split.behavior = SplitBehavior::kIsolated;
  else if (b == "Removed") split.behavior = SplitBehavior::kRemoved;
  else if (b == "MergedWithPrevious") split.behavior = SplitBehavior::kMergedWithPrevious;
  else if (b == "MergedWithNext") split.behavior = SplitBehavior::kMergedWithNext;
  else if (b == "Contiguous") split.behavior = SplitBehavior::kContiguous;
  else return invalid_argument(where + ".behavior '" + b + "' is not a known split behavior");
  Result<bool> invert = get_bool(p, "invert", false, where);
  if (!invert.ok()) return invert.status();
  split.invert = *invert;
  return split;
}

Status parse_byte_level(const json& p, const std::string& where, TokenizerSpec& spec) {
  Result<bool> prefix = get_bool(p, "add_prefix_space", false, where);
  if (!prefix.ok()) return prefix.status();
  Result<bool> use_regex = get_bool(p, "use_regex", true, where);  // HF default: true
  if (!use_regex.ok()) return use_regex.status();
  spec.add_prefix_space = *prefix;
  spec.byte_level_regex = *use_regex;
  return Status();
}

Status parse_pre_tokenizer(const json& root, TokenizerSpec& spec) {
  constexpr const char* kNeedByteLevel =
      "pre_tokenizer has no ByteLevel step (only byte-level BPE is supported)";
  const auto it = root.find("pre_tokenizer");
  if (it == root.end() || it->is_null()) return unimplemented(kNeedByteLevel);
  Result<std::string> type = get_type(*it, "pre_tokenizer");
  if (!type.ok()) return type.status();
  if (*type == "ByteLevel") return parse_byte_level(*it, "pre_tokenizer", spec);
  if (*type != "Sequence") {
    return unimplemented("pre_tokenizer type '" + *type + "' is not supported (" +
                         kNeedByteLevel + ")");
  }
  const auto list = it->find("pretokenizers");
  if (list == it->end() || !list->is_array()) {
    return invalid_argument("pre_tokenizer.pretokenizers must be an array");
  }
  bool seen_byte_level = false;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string where = "pre_tokenizer.pretokenizers[" + std::to_string(i) + "]";
    Result<std::string> t = get_type((*list)[i], where);
    if (!t.ok()) return t.status();
    if (seen_byte_level) {
      return unimplemented(where + ": steps after ByteLevel are not supported");
    }
    if (*t == "Split") {
      Result<SplitSpec> split = parse_split((*list)[i], where);
      if (!split.ok()) return split.status();
      spec.splits.push_back(std::move(*split));
    } else if (*t == "ByteLevel") {
      TS_RETURN_IF_ERROR(parse_byte_level((*list)[i], where, spec));
      seen_byte_level = true;
    } else {
      return unimplemented(where + ": pre-tokenizer type '" + *t + "' is not supported");
    }
  }
  if (!seen_byte_level) return unimplemented(kNeedByteLevel);
  return Status();
}

Status check_decoder(const json& root) {
  const auto it = root.find("decoder");
  if (it == root.end() || it->is_null()) {
    return unimplemented("decoder is missing (expected ByteLevel)");
  }
  Result<std::string> type = get_type(*it, "decoder");
  if (!type.ok()) return type.status();
  if (*type != "ByteLevel") {
    return unimplemented("decoder type '" + *type + "' is not supported (expected ByteLevel)");
  }
  return Status();
}

}  // namespace

Result<TokenizerSpec> parse_tokenizer_json(std::string_view json_text) {
  json root;
  try {
    root = json::parse(json_text.begin(), json_text.end());
  } catch (const json::exception& e) {
    // nlohmann reports the line and column; the exception stays inside this function.
    return invalid_argument(std::string("malformed JSON: ") + e.what());
  }
  if (!root.is_object()) return invalid_argument("top level must be a JSON object");
  TokenizerSpec spec;
  TS_RETURN_IF_ERROR(parse_model(root, spec.model));
  TS_RETURN_IF_ERROR(parse_added_tokens(root, spec.added_tokens));
  TS_RETURN_IF_ERROR(parse_normalizer(root, spec.normalizer));
  TS_RETURN_IF_ERROR(parse_pre_tokenizer(root, spec));
  TS_RETURN_IF_ERROR(check_decoder(root));
  return spec;
}

}  // namespace trimserve
