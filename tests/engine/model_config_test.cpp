// Tests of engine/model_config.h: config.json parsing, defaults, TrimKV keys, and one error
// message per kind of bad input (an operator reads these, so the exact text matters).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/model_config.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace trimserve;

namespace {

// The smallest config.json the parser accepts, as a real Qwen3 checkpoint spells it.
json minimal() {
  return {{"architectures", {"Qwen3ForCausalLM"}},
          {"model_type", "qwen3"},
          {"vocab_size", 512},
          {"hidden_size", 64},
          {"intermediate_size", 128},
          {"num_hidden_layers", 2},
          {"num_attention_heads", 4}};
}

Result<ModelConfig> parse(const json& j) { return parse_model_config(j.dump(), "config.json"); }

std::string error_of(const json& j) {
  auto r = parse(j);
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

ErrorCode code_of(const json& j) {
  auto r = parse(j);
  REQUIRE_FALSE(r.ok());
  return r.status().code();
}

json with(json j, const std::string& key, json value) {
  j[key] = std::move(value);
  return j;
}

// $TRIMSERVE_TINY_MODELS, else <build>/tiny-models beside this binary's tests/ folder.
std::string tiny_models() {
  if (const char* dir = std::getenv("TRIMSERVE_TINY_MODELS")) return dir;
  return (fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "tiny-models").string();
}

}  // namespace

TEST_CASE("a minimal Qwen3 config gets transformers' defaults", "[model_config]") {
  auto r = parse(minimal());
  REQUIRE(r.ok());
  const ModelConfig& c = *r;
  CHECK(c.architecture == "Qwen3ForCausalLM");
  CHECK(c.model_type == "qwen3");
  CHECK(c.vocab_size == 512);
  CHECK(c.num_key_value_heads == 4);  // defaults to H
  CHECK(c.head_dim == 16);            // defaults to C / H
  CHECK(c.max_position_embeddings == 32768);
  CHECK(c.rms_norm_eps == 1e-6);
  CHECK(c.rope_theta == 10000.0);
  CHECK(c.rope_scaling.type == "default");
  CHECK_FALSE(c.tie_word_embeddings);
  CHECK_FALSE(c.attention_bias);
  CHECK(c.hidden_act == "silu");
  CHECK(c.eos_token_ids.empty());
  CHECK(c.bos_token_id == -1);
  CHECK(c.retention_gate == RetentionGateKind::kNone);
  CHECK_FALSE(c.has_retention_gates());
  CHECK(c.memory_size == 0);
  CHECK(c.retention_gate_input_size() == 0);
}

TEST_CASE("a full Qwen3-4B style config", "[model_config]") {
  json j = minimal();
  j.update({{"vocab_size", 151936}, {"hidden_size", 2560}, {"intermediate_size", 9728},
            {"num_hidden_layers", 36}, {"num_attention_heads", 32}, {"num_key_value_heads", 8},
            {"head_dim", 128}, {"max_position_embeddings", 40960}, {"rms_norm_eps", 1e-06},
            {"rope_theta", 1000000}, {"rope_scaling", nullptr}, {"tie_word_embeddings", true},
            {"attention_bias", false}, {"attention_dropout", 0.0}, {"bos_token_id", 151643},
            {"eos_token_id", 151645}, {"hidden_act", "silu"}, {"initializer_range", 0.02},
            {"max_window_layers", 36}, {"sliding_window", nullptr}, {"use_sliding_window", false},
            {"torch_dtype", "bfloat16"}, {"transformers_version", "4.51.0"}, {"use_cache", true}});
  auto r = parse(j);
  REQUIRE(r.ok());
  CHECK(r->num_key_value_heads == 8);
  CHECK(r->head_dim == 128);  // not C / H: Qwen3 sets it explicitly
  CHECK(r->rope_theta == 1000000.0);
  CHECK(r->tie_word_embeddings);
  CHECK(r->eos_token_ids == std::vector<int64_t>{151645});
  CHECK(r->bos_token_id == 151643);
  CHECK(r->torch_dtype == "bfloat16");
}

TEST_CASE("architecture detection", "[model_config]") {
  SECTION("model_type alone is enough") {
    json j = minimal();
    j.erase("architectures");
    auto r = parse(j);
    REQUIRE(r.ok());
    CHECK(r->architecture == "Qwen3ForCausalLM");
  }
  SECTION("unsupported architecture") {
    json j = with(minimal(), "architectures", {"LlamaForCausalLM"});
    CHECK(code_of(j) == ErrorCode::kUnimplemented);
    CHECK(error_of(j) ==
          "config.json: architectures: unsupported 'LlamaForCausalLM' (supported: Qwen3ForCausalLM)");
  }
  SECTION("unsupported model_type without architectures") {
    json j = with(minimal(), "model_type", "llama");
    j.erase("architectures");
    CHECK(code_of(j) == ErrorCode::kUnimplemented);
    CHECK(error_of(j) == "config.json: model_type: unsupported 'llama' (supported: qwen3)");
  }
  SECTION("neither key") {
    json j = minimal();
    j.erase("architectures");
    j.erase("model_type");
    CHECK(code_of(j) == ErrorCode::kInvalidArgument);
    CHECK(error_of(j).rfind("config.json: architectures: missing", 0) == 0);
  }
  SECTION("architectures of the wrong type") {
    CHECK(error_of(with(minimal(), "architectures", "Qwen3ForCausalLM")) ==
          "config.json: architectures: expected a non-empty list of strings, got \"Qwen3ForCausalLM\"");
    CHECK(error_of(with(minimal(), "architectures", json::array())) ==
          "config.json: architectures: expected a non-empty list of strings, got []");
  }
}

TEST_CASE("wrong JSON types name the key, the expectation and the value", "[model_config]") {
  CHECK(error_of(with(minimal(), "num_hidden_layers", "two")) ==
        "config.json: num_hidden_layers: expected a positive integer, got \"two\"");
  CHECK(error_of(with(minimal(), "hidden_size", 0)) ==
        "config.json: hidden_size: expected a positive integer, got 0");
  CHECK(error_of(with(minimal(), "vocab_size", 12.5)) ==
        "config.json: vocab_size: expected a positive integer, got 12.5");
  CHECK(error_of(with(minimal(), "num_attention_heads", true)) ==
        "config.json: num_attention_heads: expected a positive integer, got true");
  CHECK(error_of(with(minimal(), "tie_word_embeddings", "yes")) ==
        "config.json: tie_word_embeddings: expected true or false, got \"yes\"");
  CHECK(error_of(with(minimal(), "attention_bias", 1)) ==
        "config.json: attention_bias: expected true or false, got 1");
  CHECK(error_of(with(minimal(), "rms_norm_eps", "1e-6")) ==
        "config.json: rms_norm_eps: expected a positive number, got \"1e-6\"");
  CHECK(error_of(with(minimal(), "rms_norm_eps", 0)) ==
        "config.json: rms_norm_eps: expected a positive number, got 0");
  CHECK(error_of(with(minimal(), "rope_theta", "big")) ==
        "config.json: rope_theta: expected a positive number, got \"big\"");
  CHECK(error_of(with(minimal(), "hidden_act", 3)) ==
        "config.json: hidden_act: expected a string, got 3");
  CHECK(error_of(with(minimal(), "eos_token_id", "<|im_end|>")) ==
        "config.json: eos_token_id: expected a non-negative integer or a list of them, got \"<|im_end|>\"");
  CHECK(error_of(with(minimal(), "eos_token_id", {1, "x"})) ==
        "config.json: eos_token_id: expected a non-negative integer or a list of them, got [1,\"x\"]");
  CHECK(error_of(with(minimal(), "bos_token_id", -3)) ==
        "config.json: bos_token_id: expected a non-negative integer, got -3");
  CHECK(error_of(with(minimal(), "max_position_embeddings", {1})) ==
        "config.json: max_position_embeddings: expected a positive integer, got [1]");
  CHECK(error_of(with(minimal(), "memory_size", "512")) ==
        "config.json: memory_size: expected a positive integer, got \"512\"");
  CHECK(error_of(with(minimal(), "retention_gate", 2)) ==
        "config.json: retention_gate: expected a string, got 2");
  CHECK(error_of(with(with(minimal(), "memory_size", 64), "buffer_size", -1)) ==
        "config.json: buffer_size: expected a non-negative integer, got -1");
  CHECK(error_of(with(with(minimal(), "memory_size", 64), "retention_gate_shared_projection", "no")) ==
        "config.json: retention_gate_shared_projection: expected true or false, got \"no\"");
  CHECK(code_of(with(minimal(), "num_hidden_layers", "two")) == ErrorCode::kInvalidArgument);

  json missing = minimal();
  missing.erase("intermediate_size");
  CHECK(error_of(missing) == "config.json: intermediate_size: missing (expected a positive integer)");
}

TEST_CASE("cross-field checks", "[model_config]") {
  CHECK(error_of(with(minimal(), "num_key_value_heads", 3)) ==
        "config.json: num_key_value_heads: 3 does not divide num_attention_heads 4");
  CHECK(error_of(with(minimal(), "hidden_size", 66)) ==
        "config.json: head_dim: missing, and hidden_size 66 is not a multiple of num_attention_heads 4");
  auto r = parse(with(with(minimal(), "hidden_size", 66), "head_dim", 16));
  REQUIRE(r.ok());  // an explicit head_dim need not divide C
  CHECK(r->head_dim == 16);
  CHECK(error_of(with(minimal(), "head_dim", 15)) ==
        "config.json: head_dim: must be even for rotary embeddings, got 15");
  CHECK(code_of(with(minimal(), "hidden_act", "gelu")) == ErrorCode::kUnimplemented);
  CHECK(error_of(with(minimal(), "hidden_act", "gelu")) ==
        "config.json: hidden_act: unsupported 'gelu' (supported: silu)");
}

TEST_CASE("sliding-window attention is refused", "[model_config]") {
  json j = minimal();
  j.update({{"use_sliding_window", true}, {"sliding_window", 4096}, {"max_window_layers", 1}});
  CHECK(code_of(j) == ErrorCode::kUnimplemented);
  // Qwen3 ships use_sliding_window with max_window_layers == L: no layer slides.
  j["max_window_layers"] = 2;
  CHECK(parse(j).ok());
  json types = with(minimal(), "layer_types", {"full_attention", "sliding_attention"});
  CHECK(error_of(types) ==
        "config.json: layer_types: unsupported 'sliding_attention' (supported: full_attention)");
  CHECK(parse(with(minimal(), "layer_types", {"full_attention", "full_attention"})).ok());
}

TEST_CASE("rope_scaling", "[model_config]") {
  SECTION("linear, old 'type' spelling") {
    auto r = parse(with(minimal(), "rope_scaling", {{"type", "linear"}, {"factor", 2.0}}));
    REQUIRE(r.ok());
    CHECK(r->rope_scaling.type == "linear");
    CHECK(r->rope_scaling.factor == 2.0);
  }
  SECTION("yarn") {
    auto r = parse(with(minimal(), "rope_scaling",
                        {{"rope_type", "yarn"}, {"factor", 4}, {"original_max_position_embeddings", 32768}}));
    REQUIRE(r.ok());
    CHECK(r->rope_scaling.type == "yarn");
    CHECK(r->rope_scaling.factor == 4.0);
    CHECK(r->rope_scaling.original_max_position_embeddings == 32768);
    CHECK(r->rope_scaling.beta_fast == 32.0);
    CHECK(r->rope_scaling.beta_slow == 1.0);
  }
  SECTION("llama3") {
    auto r = parse(with(minimal(), "rope_scaling",
                        {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}}));
    REQUIRE(r.ok());
    CHECK(r->rope_scaling.type == "llama3");
    CHECK(r->rope_scaling.original_max_position_embeddings == 8192);
    CHECK(error_of(with(minimal(), "rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}})) ==
          "config.json: rope_scaling.original_max_position_embeddings: missing (required by llama3)");
  }
  SECTION("default needs no factor") {
    auto r = parse(with(minimal(), "rope_scaling", {{"rope_type", "default"}}));
    REQUIRE(r.ok());
    CHECK(r->rope_scaling.factor == 1.0);
  }
  SECTION("errors") {
    CHECK(code_of(with(minimal(), "rope_scaling", {{"rope_type", "longrope"}, {"factor", 2}})) ==
          ErrorCode::kUnimplemented);
    CHECK(error_of(with(minimal(), "rope_scaling", {{"rope_type", "longrope"}, {"factor", 2}})) ==
          "config.json: rope_scaling.rope_type: unsupported 'longrope' (supported: default, linear, "
          "dynamic, yarn, llama3)");
    CHECK(error_of(with(minimal(), "rope_scaling", {{"rope_type", "linear"}})) ==
          "config.json: rope_scaling.factor: missing (expected a number >= 1)");
    CHECK(error_of(with(minimal(), "rope_scaling", {{"rope_type", "linear"}, {"factor", "2"}})) ==
          "config.json: rope_scaling.factor: expected a number >= 1, got \"2\"");
    CHECK(error_of(with(minimal(), "rope_scaling", {{"rope_type", "linear"}, {"factor", 0.5}})) ==
          "config.json: rope_scaling.factor: expected a number >= 1, got 0.5");
    CHECK(error_of(with(minimal(), "rope_scaling", "linear")) ==
          "config.json: rope_scaling: expected null or an object, got \"linear\"");
  }
  SECTION("transformers v5 rope_parameters") {
    auto r = parse(with(minimal(), "rope_parameters", {{"rope_type", "default"}, {"rope_theta", 5e5}}));
    REQUIRE(r.ok());
    CHECK(r->rope_theta == 500000.0);
    CHECK(r->rope_scaling.type == "default");
  }
}

TEST_CASE("eos_token_id as an int or a list", "[model_config]") {
  auto r = parse(with(minimal(), "eos_token_id", {7, 3}));
  REQUIRE(r.ok());
  CHECK(r->eos_token_ids == std::vector<int64_t>{7, 3});
  r = parse(with(minimal(), "eos_token_id", nullptr));
  REQUIRE(r.ok());
  CHECK(r->eos_token_ids.empty());
}

TEST_CASE("TrimKV keys", "[model_config]") {
  SECTION("memory_size alone means rg with the reference defaults") {
    auto r = parse(with(minimal(), "memory_size", 512));
    REQUIRE(r.ok());
    CHECK(r->retention_gate == RetentionGateKind::kRg);
    CHECK(r->memory_size == 512);
    CHECK(r->buffer_size == 128);
    CHECK(r->retention_gate_intermediate_size == 512);
    CHECK_FALSE(r->retention_gate_shared_projection);
    CHECK(r->floor_budget_ratio == 0.0);
    CHECK(r->retention_gate_input_size() == 64);  // C
  }
  SECTION("rg2 / rg3 with everything set") {
    json j = minimal();
    j.update({{"num_key_value_heads", 2}, {"retention_gate", "rg3"}, {"memory_size", 32},
              {"buffer_size", 8}, {"retention_gate_intermediate_size", 24},
              {"retention_gate_shared_projection", true}, {"floor_budget_ratio", 0.25}});
    auto r = parse(j);
    REQUIRE(r.ok());
    CHECK(r->retention_gate == RetentionGateKind::kRg3);
    CHECK(r->memory_size == 32);
    CHECK(r->buffer_size == 8);
    CHECK(r->retention_gate_intermediate_size == 24);
    CHECK(r->retention_gate_shared_projection);
    CHECK(r->floor_budget_ratio == 0.25);
    CHECK(r->retention_gate_input_size() == 2 * 16 * 2);  // 2 * D * Hkv
    j["retention_gate"] = "rg2";
    CHECK(parse(j)->retention_gate == RetentionGateKind::kRg2);
  }
  SECTION("retention_gate without memory_size") {
    auto r = parse(with(minimal(), "retention_gate", "rg"));
    REQUIRE(r.ok());
    CHECK(r->retention_gate == RetentionGateKind::kRg);
    CHECK(r->memory_size == 1024);
  }
  SECTION("bad values") {
    CHECK(error_of(with(minimal(), "retention_gate", "rg4")) ==
          "config.json: retention_gate: expected \"rg\", \"rg2\" or \"rg3\", got \"rg4\"");
    CHECK(error_of(with(with(minimal(), "memory_size", 8), "floor_budget_ratio", 1.0)) ==
          "config.json: floor_budget_ratio: expected a number in [0, 1), got 1.0");
    CHECK(error_of(with(with(minimal(), "memory_size", 8), "floor_budget_ratio", -0.5)) ==
          "config.json: floor_budget_ratio: expected a number in [0, 1), got -0.5");
    CHECK(error_of(with(minimal(), "memory_size", 0)) ==
          "config.json: memory_size: expected a positive integer, got 0");
  }
  SECTION("names") {
    CHECK(std::string(retention_gate_name(RetentionGateKind::kNone)) == "none");
    CHECK(std::string(retention_gate_name(RetentionGateKind::kRg)) == "rg");
    CHECK(std::string(retention_gate_name(RetentionGateKind::kRg2)) == "rg2");
    CHECK(std::string(retention_gate_name(RetentionGateKind::kRg3)) == "rg3");
  }
}

TEST_CASE("malformed JSON", "[model_config]") {
  auto r = parse_model_config("{\"vocab_size\": 12,", "config.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::kInvalidArgument);
  CHECK(r.status().message().rfind("config.json: not valid JSON: ", 0) == 0);
  CHECK(r.status().message().find("parse error") != std::string::npos);
  r = parse_model_config("[1]", "config.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "config.json: expected a JSON object at the top level");
}

TEST_CASE("load_model_config reads <dir>/config.json", "[model_config]") {
  std::string tmpl = (fs::temp_directory_path() / "ts_model_config_XXXXXX").string();
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  const fs::path dir = tmpl;

  auto r = load_model_config((dir / "absent").string());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::kNotFound);
  CHECK(r.status().message() == "model directory '" + (dir / "absent").string() + "' does not exist");

  r = load_model_config(dir.string());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::kNotFound);
  CHECK(r.status().message() == (dir / "config.json").string() + " does not exist");

  std::ofstream(dir / "config.json") << with(minimal(), "num_hidden_layers", "two").dump();
  r = load_model_config(dir.string());
  REQUIRE_FALSE(r.ok());
  // The source is the file's path, so the message still reads "...config.json: <key>: ...".
  CHECK(r.status().message() == (dir / "config.json").string() +
                                    ": num_hidden_layers: expected a positive integer, got \"two\"");

  std::ofstream(dir / "config.json", std::ios::trunc) << minimal().dump();
  r = load_model_config(dir.string() + "/");
  REQUIRE(r.ok());
  CHECK(r->num_hidden_layers == 2);
  fs::remove_all(dir);
}

TEST_CASE("every tiny model's config parses", "[model_config][tiny]") {
  struct Expect {
    const char* name;
    int64_t C, L, H, Hkv, D, F;
    RetentionGateKind gate;
    bool shared, tied, bias;
  };
  const Expect expects[] = {
      {"gqa1-tied-rg", 64, 2, 4, 4, 16, 192, RetentionGateKind::kRg, false, true, false},
      {"gqa2-untied-rg", 64, 3, 4, 2, 32, 160, RetentionGateKind::kRg, false, false, false},
      {"gqa4-noqknorm-shared", 128, 2, 8, 2, 16, 256, RetentionGateKind::kRg, true, false, false},
      {"gqa2-rg2", 64, 2, 4, 2, 24, 128, RetentionGateKind::kRg2, false, false, false},
      {"gqa2-rg3-shared", 64, 3, 4, 2, 16, 128, RetentionGateKind::kRg3, true, false, false},
      {"gqa2-nogate", 64, 2, 4, 2, 16, 128, RetentionGateKind::kNone, false, false, false},
      {"gqa2-bf16-sharded", 96, 3, 4, 2, 24, 256, RetentionGateKind::kRg, false, false, false},
      {"gqa2-f16", 64, 2, 4, 2, 16, 192, RetentionGateKind::kRg, false, false, false},
      {"gqa2-bias-linear-rope", 64, 2, 4, 2, 16, 128, RetentionGateKind::kRg, false, false, true},
      {"large", 512, 8, 8, 2, 64, 1536, RetentionGateKind::kRg, false, false, false},
  };
  const std::string root = tiny_models();
  for (const Expect& e : expects) {
    INFO(e.name);
    auto r = load_model_config(root + "/" + e.name);
    REQUIRE(r.ok());
    CHECK(r->hidden_size == e.C);
    CHECK(r->num_hidden_layers == e.L);
    CHECK(r->num_attention_heads == e.H);
    CHECK(r->num_key_value_heads == e.Hkv);
    CHECK(r->head_dim == e.D);
    CHECK(r->intermediate_size == e.F);
    CHECK(r->retention_gate == e.gate);
    CHECK(r->retention_gate_shared_projection == e.shared);
    CHECK(r->tie_word_embeddings == e.tied);
    CHECK(r->attention_bias == e.bias);
    CHECK(r->vocab_size % 64 == 0);
    CHECK_FALSE(r->eos_token_ids.empty());
    if (r->has_retention_gates()) {
      CHECK(r->memory_size > 0);
      CHECK(r->buffer_size > 0);
      CHECK(r->retention_gate_intermediate_size > 0);
    } else {
      CHECK(r->memory_size == 0);
    }
  }
  auto linear = load_model_config(root + "/gqa2-bias-linear-rope");
  REQUIRE(linear.ok());
  CHECK(linear->rope_scaling.type == "linear");
  CHECK(linear->rope_scaling.factor == 2.0);
  auto floor = load_model_config(root + "/gqa2-untied-rg");
  REQUIRE(floor.ok());
  CHECK(floor->floor_budget_ratio == 0.25);
  CHECK(floor->eos_token_ids.size() == 2);
}
