#include "engine/model_config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

namespace trimserve {
namespace {

using nlohmann::json;

constexpr const char* kSupportedArchitecture = "Qwen3ForCausalLM";

// Typed access to one config.json object. Every getter names the key in its error, so an
// operator can fix the file without reading our source.
class ConfigReader {
 public:
  ConfigReader(const json& obj, std::string source, std::string prefix = "")
      : obj_(obj), source_(std::move(source)), prefix_(std::move(prefix)) {}

  // Absent and null are the same: HF writes null for "not set".
  const json* get(const char* key) const {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  bool has(const char* key) const { return get(key) != nullptr; }

  Status error(const char* key, const std::string& expected, const json& got) const {
    return invalid_argument(where(key) + "expected " + expected + ", got " + got.dump());
  }
  std::string where(const char* key) const { return source_ + ": " + prefix_ + key + ": "; }

  // Integer >= min_value; `fallback` when absent (nullopt: the key is required).
  Result<int64_t> integer(const char* key, std::optional<int64_t> fallback, int64_t min_value,
                          const char* expected) const {
    const json* v = get(key);
    if (v == nullptr) {
      if (fallback) return *fallback;
      return invalid_argument(where(key) + "missing (expected " + expected + ")");
    }
    if (!v->is_number_integer()) return error(key, expected, *v);
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return error(key, expected, *v);
    }
    const int64_t x = v->get<int64_t>();
    if (x < min_value) return error(key, expected, *v);
    return x;
  }
  Result<int64_t> positive(const char* key, std::optional<int64_t> fallback = std::nullopt) const {
    return integer(key, fallback, 1, "a positive integer");
  }

  Result<double> number(const char* key, double fallback, const char* expected = "a number") const {
    const json* v = get(key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) return error(key, expected, *v);
    return v->get<double>();
  }

  Result<bool> boolean(const char* key, bool fallback) const {
    const json* v = get(key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) return error(key, "true or false", *v);
    return v->get<bool>();
  }

  Result<std::optional<std::string>> string(const char* key) const {
    const json* v = get(key);
    if (v == nullptr) return std::optional<std::string>();
    if (!v->is_string()) return error(key, "a string", *v);
    return std::optional<std::string>(v->get<std::string>());
  }

 private:
  const json& obj_;
  std::string source_;
  std::string prefix_;
};

// Assigns the value of a Result to `dst` or returns its error from the enclosing function.
#define MC_ASSIGN_OR_RETURN(dst, expr)       \
  do {                                       \
    auto ts_result_ = (expr);                \
    if (!ts_result_.ok()) return ts_result_.status(); \
    dst = std::move(ts_result_).value();     \
  } while (0)

Status parse_architecture(const ConfigReader& r, const std::string& source, ModelConfig& c) {
  std::optional<std::string> model_type;
  MC_ASSIGN_OR_RETURN(model_type, r.string("model_type"));
  if (model_type) c.model_type = *model_type;

  const json* archs = r.get("architectures");
  if (archs == nullptr) {
    // No architectures list: model_type alone identifies the family.
    if (c.model_type == "qwen3") {
      c.architecture = kSupportedArchitecture;
      return Status::ok_status();
    }
    if (!model_type) {
      return invalid_argument(source + ": architectures: missing (expected [\"" +
                              kSupportedArchitecture + "\"] or model_type \"qwen3\")");
    }
    return unimplemented(source + ": model_type: unsupported '" + c.model_type +
                         "' (supported: qwen3)");
  }
  if (!archs->is_array() || archs->empty()) {
    return r.error("architectures", "a non-empty list of strings", *archs);
  }
  for (const json& a : *archs) {
    if (!a.is_string()) return r.error("architectures", "a non-empty list of strings", *archs);
    const std::string name = a.get<std::string>();
    if (name != kSupportedArchitecture) {
      return unimplemented(source + ": architectures: unsupported '" + name +
                           "' (supported: " + kSupportedArchitecture + ")");
    }
  }
  c.architecture = kSupportedArchitecture;
  if (!model_type) c.model_type = "qwen3";
  if (c.model_type != "qwen3") {
    return unimplemented(source + ": model_type: unsupported '" + c.model_type +
                         "' (supported: qwen3)");
  }
  return Status::ok_status();
}

Status parse_rope_scaling(const json& rs, const std::string& source, const std::string& key,
                          RopeScaling& out) {
  if (!rs.is_object()) {
    return invalid_argument(source + ": " + key + ": expected null or an object, got " + rs.dump());
  }
  const ConfigReader r(rs, source, key + ".");
  std::optional<std::string> type;
  MC_ASSIGN_OR_RETURN(type, r.string("rope_type"));
  if (!type) MC_ASSIGN_OR_RETURN(type, r.string("type"));  // pre-4.45 spelling
  out.type = type.value_or("default");
  if (out.type != "default" && out.type != "linear" && out.type != "dynamic" &&
      out.type != "yarn" && out.type != "llama3") {
    return unimplemented(source + ": " + key + ".rope_type: unsupported '" + out.type +
                         "' (supported: default, linear, dynamic, yarn, llama3)");
  }
  if (out.type == "default") return Status::ok_status();

  const json* factor = r.get("factor");
  if (factor == nullptr) return invalid_argument(r.where("factor") + "missing (expected a number >= 1)");
  MC_ASSIGN_OR_RETURN(out.factor, r.number("factor", 1.0, "a number >= 1"));
  if (!(out.factor >= 1.0) || !std::isfinite(out.factor)) {
    return r.error("factor", "a number >= 1", *factor);
  }
  MC_ASSIGN_OR_RETURN(out.original_max_position_embeddings,
                      r.integer("original_max_position_embeddings", int64_t{0}, 1,
                                "a positive integer"));
  if (out.type == "llama3") {
    MC_ASSIGN_OR_RETURN(out.low_freq_factor, r.number("low_freq_factor", 1.0));
    MC_ASSIGN_OR_RETURN(out.high_freq_factor, r.number("high_freq_factor", 4.0));
    if (out.original_max_position_embeddings == 0) {
      return invalid_argument(r.where("original_max_position_embeddings") +
                              "missing (required by llama3)");
    }
    if (!(out.high_freq_factor > out.low_freq_factor)) {
      return invalid_argument(r.where("high_freq_factor") + "must be greater than low_freq_factor");
    }
  }
  if (out.type == "yarn") {
    MC_ASSIGN_OR_RETURN(out.beta_fast, r.number("beta_fast", 32.0));
    MC_ASSIGN_OR_RETURN(out.beta_slow, r.number("beta_slow", 1.0));
    MC_ASSIGN_OR_RETURN(out.attention_factor, r.number("attention_factor", 0.0));
  }
  return Status::ok_status();
}

Status parse_retention_gate(const ConfigReader& r, const std::string& source, ModelConfig& c) {
  std::optional<std::string> gate;
  MC_ASSIGN_OR_RETURN(gate, r.string("retention_gate"));
  if (gate) {
    if (*gate == "rg") {
      c.retention_gate = RetentionGateKind::kRg;
    } else if (*gate == "rg2") {
      c.retention_gate = RetentionGateKind::kRg2;
    } else if (*gate == "rg3") {
      c.retention_gate = RetentionGateKind::kRg3;
    } else {
      return invalid_argument(source + ": retention_gate: expected \"rg\", \"rg2\" or \"rg3\", got \"" +
                              *gate + "\"");
    }
  } else if (r.has("memory_size")) {
    c.retention_gate = RetentionGateKind::kRg;  // the TrimKV default
  }
  // TrimKVQwen3Config defaults, used when the checkpoint leaves a key out.
  MC_ASSIGN_OR_RETURN(c.memory_size, r.positive("memory_size", int64_t{1024}));
  MC_ASSIGN_OR_RETURN(c.buffer_size, r.integer("buffer_size", int64_t{128}, 0,
                                               "a non-negative integer"));
  MC_ASSIGN_OR_RETURN(c.retention_gate_intermediate_size,
                      r.positive("retention_gate_intermediate_size", int64_t{512}));
  MC_ASSIGN_OR_RETURN(c.retention_gate_shared_projection,
                      r.boolean("retention_gate_shared_projection", false));
  MC_ASSIGN_OR_RETURN(c.floor_budget_ratio, r.number("floor_budget_ratio", 0.0, "a number in [0, 1)"));
  if (!(c.floor_budget_ratio >= 0.0 && c.floor_budget_ratio < 1.0)) {
    return r.error("floor_budget_ratio", "a number in [0, 1)", *r.get("floor_budget_ratio"));
  }
  if (!c.has_retention_gates()) {
    // Keep a gate-less config free of TrimKV numbers so nobody mistakes them for real.
    c.memory_size = c.buffer_size = c.retention_gate_intermediate_size = 0;
    c.retention_gate_shared_projection = false;
    c.floor_budget_ratio = 0.0;
  }
  return Status::ok_status();
}

Status parse_eos(const ConfigReader& r, ModelConfig& c) {
  const json* eos = r.get("eos_token_id");
  if (eos == nullptr) return Status::ok_status();
  const char* expected = "a non-negative integer or a list of them";
  if (eos->is_number_integer()) {
    if (eos->get<int64_t>() < 0) return r.error("eos_token_id", expected, *eos);
    c.eos_token_ids.push_back(eos->get<int64_t>());
    return Status::ok_status();
  }
  if (!eos->is_array()) return r.error("eos_token_id", expected, *eos);
  for (const json& e : *eos) {
    if (!e.is_number_integer() || e.get<int64_t>() < 0) return r.error("eos_token_id", expected, *eos);
    c.eos_token_ids.push_back(e.get<int64_t>());
  }
  return Status::ok_status();
}

Status parse_unsupported_attention(const ConfigReader& r, const std::string& source,
                                   const ModelConfig& c) {
  // Sliding-window layers would change the attention math; refuse rather than compute the
  // wrong thing. Qwen3 checkpoints ship use_sliding_window: false.
  bool sliding = false;
  MC_ASSIGN_OR_RETURN(sliding, r.boolean("use_sliding_window", false));
  if (sliding) {
    int64_t max_window_layers = 0;
    MC_ASSIGN_OR_RETURN(max_window_layers,
                        r.integer("max_window_layers", c.num_hidden_layers, 0, "a non-negative integer"));
    if (r.has("sliding_window") && max_window_layers < c.num_hidden_layers) {
      return unimplemented(source + ": use_sliding_window: sliding-window attention is not supported");
    }
  }
  if (const json* types = r.get("layer_types")) {
    if (!types->is_array()) return r.error("layer_types", "a list of strings", *types);
    for (const json& t : *types) {
      if (!t.is_string()) return r.error("layer_types", "a list of strings", *types);
      if (t.get<std::string>() != "full_attention") {
        return unimplemented(source + ": layer_types: unsupported '" + t.get<std::string>() +
                             "' (supported: full_attention)");
      }
    }
  }
  return Status::ok_status();
}

}  // namespace

const char* retention_gate_name(RetentionGateKind kind) {
  switch (kind) {
    case RetentionGateKind::kNone: return "none";
    case RetentionGateKind::kRg: return "rg";
    case RetentionGateKind::kRg2: return "rg2";
    case RetentionGateKind::kRg3: return "rg3";
  }
  return "unknown";
}

int64_t ModelConfig::retention_gate_input_size() const {
  switch (retention_gate) {
    case RetentionGateKind::kNone: return 0;
    case RetentionGateKind::kRg: return hidden_size;
    case RetentionGateKind::kRg2:
    case RetentionGateKind::kRg3: return 2 * head_dim * num_key_value_heads;
  }
  return 0;
}

Result<ModelConfig> parse_model_config(const std::string& json_text, const std::string& source) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    return invalid_argument(source + ": not valid JSON: " + e.what());
  }
  if (!root.is_object()) return invalid_argument(source + ": expected a JSON object at the top level");

  const ConfigReader r(root, source);
  ModelConfig c;
  TS_RETURN_IF_ERROR(parse_architecture(r, source, c));

  MC_ASSIGN_OR_RETURN(c.vocab_size, r.positive("vocab_size"));
  MC_ASSIGN_OR_RETURN(c.hidden_size, r.positive("hidden_size"));
  MC_ASSIGN_OR_RETURN(c.intermediate_size, r.positive("intermediate_size"));
  MC_ASSIGN_OR_RETURN(c.num_hidden_layers, r.positive("num_hidden_layers"));
  MC_ASSIGN_OR_RETURN(c.num_attention_heads, r.positive("num_attention_heads"));
  MC_ASSIGN_OR_RETURN(c.num_key_value_heads, r.positive("num_key_value_heads", c.num_attention_heads));
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return invalid_argument(r.where("num_key_value_heads") + std::to_string(c.num_key_value_heads) +
                            " does not divide num_attention_heads " +
                            std::to_string(c.num_attention_heads));
  }
  if (!r.has("head_dim") && c.hidden_size % c.num_attention_heads != 0) {
    return invalid_argument(r.where("head_dim") + "missing, and hidden_size " +
                            std::to_string(c.hidden_size) + " is not a multiple of num_attention_heads " +
                            std::to_string(c.num_attention_heads));
  }
  MC_ASSIGN_OR_RETURN(c.head_dim, r.positive("head_dim", c.hidden_size / c.num_attention_heads));
  if (c.head_dim % 2 != 0) {
    return invalid_argument(r.where("head_dim") + "must be even for rotary embeddings, got " +
                            std::to_string(c.head_dim));
  }
  // Absent-key defaults follow transformers' Qwen3Config.
  MC_ASSIGN_OR_RETURN(c.max_position_embeddings, r.positive("max_position_embeddings", int64_t{32768}));
  MC_ASSIGN_OR_RETURN(c.rms_norm_eps, r.number("rms_norm_eps", 1e-6, "a positive number"));
  if (!(c.rms_norm_eps > 0.0)) return r.error("rms_norm_eps", "a positive number", *r.get("rms_norm_eps"));

  // transformers v5 moves rope_theta and the scaling into rope_parameters.
  const json* rope_params = r.get("rope_parameters");
  if (rope_params != nullptr && !rope_params->is_object()) {
    return r.error("rope_parameters", "null or an object", *rope_params);
  }
  double theta_default = 10000.0;
  if (rope_params != nullptr) {
    MC_ASSIGN_OR_RETURN(theta_default, ConfigReader(*rope_params, source, "rope_parameters.")
                                           .number("rope_theta", 10000.0, "a positive number"));
  }
  MC_ASSIGN_OR_RETURN(c.rope_theta, r.number("rope_theta", theta_default, "a positive number"));
  if (!(c.rope_theta > 0.0)) {
    return invalid_argument(r.where("rope_theta") + "expected a positive number, got " +
                            std::to_string(c.rope_theta));
  }
  if (const json* rs = r.get("rope_scaling")) {
    TS_RETURN_IF_ERROR(parse_rope_scaling(*rs, source, "rope_scaling", c.rope_scaling));
  } else if (rope_params != nullptr) {
    TS_RETURN_IF_ERROR(parse_rope_scaling(*rope_params, source, "rope_parameters", c.rope_scaling));
  }

  MC_ASSIGN_OR_RETURN(c.tie_word_embeddings, r.boolean("tie_word_embeddings", false));
  MC_ASSIGN_OR_RETURN(c.attention_bias, r.boolean("attention_bias", false));
  std::optional<std::string> text;
  MC_ASSIGN_OR_RETURN(text, r.string("hidden_act"));
  c.hidden_act = text.value_or("silu");
  if (c.hidden_act != "silu") {
    return unimplemented(source + ": hidden_act: unsupported '" + c.hidden_act + "' (supported: silu)");
  }
  MC_ASSIGN_OR_RETURN(text, r.string("torch_dtype"));
  if (!text) MC_ASSIGN_OR_RETURN(text, r.string("dtype"));  // transformers v5 spelling
  c.torch_dtype = text.value_or("bfloat16");
  TS_RETURN_IF_ERROR(parse_eos(r, c));
  MC_ASSIGN_OR_RETURN(c.bos_token_id, r.integer("bos_token_id", int64_t{-1}, 0, "a non-negative integer"));
  TS_RETURN_IF_ERROR(parse_unsupported_attention(r, source, c));
  TS_RETURN_IF_ERROR(parse_retention_gate(r, source, c));
  return c;
}

Result<ModelConfig> load_model_config(const std::string& model_dir) {
  struct stat st {};
  if (::stat(model_dir.c_str(), &st) != 0) {
    return not_found("model directory '" + model_dir + "' does not exist");
  }
  if (!S_ISDIR(st.st_mode)) return invalid_argument("'" + model_dir + "' is not a directory");
  const std::string path =
      model_dir + (model_dir.empty() || model_dir.back() == '/' ? "" : "/") + "config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (::stat(path.c_str(), &st) != 0) return not_found(path + " does not exist");
    return invalid_argument(path + ": cannot read: " + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_model_config(text.str(), path);
}

}  // namespace trimserve
