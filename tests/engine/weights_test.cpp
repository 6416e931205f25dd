// Tests of engine/weights.h: every tiny model loads with the right flags, shapes and values
// (checked against the tensor_samples.json that make_tiny_model.py writes beside the weights),
// and each way a checkpoint can be wrong yields an error naming the tensor and the file.
//
// Broken checkpoints are made by copying a tiny model into a temp dir and rewriting its
// safetensors file with SafetensorsFile + a small writer (drop, add, reshape, retype tensors).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "engine/weights.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_models.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace trimserve;
using trimserve::testing::TempDir;

namespace {

std::string tiny(const std::string& name) { return testing::tiny_model_dir(name); }

// A private copy of a tiny model inside `dir`, safe to damage.
std::string copy_of(const TempDir& dir, const std::string& shape) {
  const fs::path dst = dir.path() / shape;
  fs::copy(tiny(shape), dst, fs::copy_options::recursive);
  return dst.string();
}


json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

void write_json(const std::string& path, const json& j) { std::ofstream(path, std::ios::trunc) << j.dump(2); }

// One tensor to write: dtype name, shape and raw little-endian bytes.
struct RawTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};
using TensorMap = std::map<std::string, RawTensor>;

TensorMap read_all(const std::string& path) {
  auto file = SafetensorsFile::open(path);
  REQUIRE(file.ok());
  TensorMap out;
  for (const TensorView& v : (*file)->tensors()) {
    out[v.name] = {dtype_name(v.dtype), v.shape,
                   std::string(reinterpret_cast<const char*>(v.data), v.num_bytes)};
  }
  return out;
}

void write_all(const std::string& path, const TensorMap& tensors) {
  json header = json::object();
  std::string data;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", t.dtype}, {"shape", t.shape},
                    {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  const std::string text = header.dump();
  std::string len(8, '\0');
  for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((text.size() >> (8 * i)) & 0xFF);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << len << text << data;
}

// Rewrites `<dir>/<file>` after `edit` changed its tensors.
void rewrite(const std::string& dir, const std::string& file, const std::function<void(TensorMap&)>& edit) {
  const std::string path = dir + "/" + file;
  TensorMap t = read_all(path);
  edit(t);
  write_all(path, t);
}

Status load_status(const std::string& dir) {
  auto r = load_model_weights(dir);
  return r.ok() ? Status() : r.status();
}

// The tensor a checkpoint name was loaded into.
const Tensor* find_tensor(const ModelWeights& w, const std::string& name) {
  if (name == "model.embed_tokens.weight") return &w.embed_tokens;
  if (name == "model.norm.weight") return &w.final_norm;
  if (name == "lm_head.weight") return &w.lm_head;
  if (name == "model.retention_gate.linear2.weight" || name == "model.retention_gate.down_proj.weight") {
    return &w.shared_gate_w2;
  }
  if (name == "model.retention_gate.bias") return &w.shared_gate_bias;
  const std::string prefix = "model.layers.";
  if (name.rfind(prefix, 0) != 0) return nullptr;
  const size_t dot = name.find('.', prefix.size());
  const size_t l = std::stoul(name.substr(prefix.size(), dot - prefix.size()));
  if (l >= w.layers.size()) return nullptr;
  const LayerWeights& L = w.layers[l];
  const std::string rest = name.substr(dot + 1);
  const std::map<std::string, const Tensor*> by_suffix = {
      {"input_layernorm.weight", &L.input_norm},
      {"self_attn.q_proj.weight", &L.q_proj},
      {"self_attn.k_proj.weight", &L.k_proj},
      {"self_attn.v_proj.weight", &L.v_proj},
      {"self_attn.o_proj.weight", &L.o_proj},
      {"self_attn.q_proj.bias", &L.q_bias},
      {"self_attn.k_proj.bias", &L.k_bias},
      {"self_attn.v_proj.bias", &L.v_bias},
      {"self_attn.o_proj.bias", &L.o_bias},
      {"self_attn.q_norm.weight", &L.q_norm},
      {"self_attn.k_norm.weight", &L.k_norm},
      {"post_attention_layernorm.weight", &L.post_attention_norm},
      {"mlp.gate_proj.weight", &L.gate_proj},
      {"mlp.up_proj.weight", &L.up_proj},
      {"mlp.down_proj.weight", &L.down_proj},
      {"self_attn.retention_gate.linear1.weight", &L.gate.w1},
      {"self_attn.retention_gate.gate_proj.weight", &L.gate.w1},
      {"self_attn.retention_gate.linear1.bias", &L.gate.b1},
      {"self_attn.retention_gate.up_proj.weight", &L.gate.w_up},
      {"self_attn.retention_gate.linear2.weight", L.gate.w2},
      {"self_attn.retention_gate.down_proj.weight", L.gate.w2},
      {"self_attn.retention_gate.bias", L.gate.bias},
  };
  auto it = by_suffix.find(rest);
  return it == by_suffix.end() ? nullptr : it->second;
}

// Compares every tensor with what make_tiny_model.py recorded: shape, a few exact values and
// the float64 sum taken in index order (the same arithmetic, so equality is exact).
void check_against_samples(const ModelWeights& w, const std::string& dir) {
  const json samples = read_json(dir + "/tensor_samples.json");
  for (auto it = samples.begin(); it != samples.end(); ++it) {
    INFO("tensor " << it.key());
    const Tensor* t = find_tensor(w, it.key());
    REQUIRE(t != nullptr);
    CHECK(t->shape == it.value()["shape"].get<std::vector<int64_t>>());
    for (const json& s : it.value()["samples"]) {
      const auto i = s[0].get<size_t>();
      REQUIRE(i < t->data.size());
      CHECK(t->data[i] == static_cast<float>(s[1].get<double>()));
    }
    double sum = 0.0;
    for (float v : t->data) sum += v;
    CHECK(sum == it.value()["sum"].get<double>());
  }
}

struct Expect {
  const char* name;
  RetentionGateKind gate;
  bool shared, qk_norm, tied, bias;
};

const Expect kShapes[] = {
    {"gqa1-tied-rg", RetentionGateKind::kRg, false, true, true, false},
    {"gqa2-untied-rg", RetentionGateKind::kRg, false, true, false, false},
    {"gqa4-noqknorm-shared", RetentionGateKind::kRg, true, false, false, false},
    {"gqa2-rg2", RetentionGateKind::kRg2, false, true, false, false},
    {"gqa2-rg3-shared", RetentionGateKind::kRg3, true, true, false, false},
    {"gqa2-nogate", RetentionGateKind::kNone, false, true, false, false},
    {"gqa2-bf16-sharded", RetentionGateKind::kRg, false, true, false, false},
    {"gqa2-f16", RetentionGateKind::kRg, false, true, false, false},
    {"gqa2-bias-linear-rope", RetentionGateKind::kRg, false, true, false, true},
    {"large", RetentionGateKind::kRg, false, true, false, false},
};

void check_structure(const ModelWeights& w, const Expect& e) {
  const ModelConfig& c = w.config;
  const int64_t C = c.hidden_size, D = c.head_dim, H = c.num_attention_heads,
                Hkv = c.num_key_value_heads, F = c.intermediate_size, V = c.vocab_size,
                I = c.retention_gate_intermediate_size;
  CHECK(c.retention_gate == e.gate);
  CHECK(c.retention_gate_shared_projection == e.shared);
  CHECK(c.qk_norm == e.qk_norm);
  CHECK(c.tie_word_embeddings == e.tied);
  CHECK(w.embed_tokens.shape == std::vector<int64_t>{V, C});
  CHECK(w.final_norm.shape == std::vector<int64_t>{C});
  CHECK(w.lm_head.empty() == e.tied);
  CHECK(&w.output_projection() == (e.tied ? &w.embed_tokens : &w.lm_head));
  CHECK(w.shared_gate_w2.empty() == !e.shared);
  REQUIRE(w.layers.size() == static_cast<size_t>(c.num_hidden_layers));
  for (const LayerWeights& l : w.layers) {
    CHECK(l.q_proj.shape == std::vector<int64_t>{H * D, C});
    CHECK(l.k_proj.shape == std::vector<int64_t>{Hkv * D, C});
    CHECK(l.v_proj.shape == std::vector<int64_t>{Hkv * D, C});
    CHECK(l.o_proj.shape == std::vector<int64_t>{C, H * D});
    CHECK(l.gate_proj.shape == std::vector<int64_t>{F, C});
    CHECK(l.down_proj.shape == std::vector<int64_t>{C, F});
    CHECK(l.q_norm.empty() == !e.qk_norm);
    CHECK(l.k_norm.empty() == !e.qk_norm);
    CHECK(l.q_bias.empty() == !e.bias);
    CHECK(l.v_bias.empty() == !e.bias);
    CHECK(l.o_bias.empty() == !e.bias);
    const RetentionGateWeights& g = l.gate;
    if (e.gate == RetentionGateKind::kNone) {
      CHECK(g.w1.empty());
      CHECK(g.w2 == nullptr);
      continue;
    }
    CHECK(g.w1.shape == std::vector<int64_t>{I, c.retention_gate_input_size()});
    CHECK(g.b1.empty() == (e.gate == RetentionGateKind::kRg3));
    CHECK(g.w_up.empty() == (e.gate != RetentionGateKind::kRg3));
    REQUIRE(g.w2 != nullptr);
    REQUIRE(g.bias != nullptr);
    CHECK(g.w2->shape == std::vector<int64_t>{Hkv, I});
    CHECK(g.bias->shape == std::vector<int64_t>{Hkv});
    if (e.shared) {
      CHECK(g.w2 == &w.shared_gate_w2);
      CHECK(g.bias == &w.shared_gate_bias);
      CHECK(g.own_w2.empty());
    } else {
      CHECK(g.w2 == &g.own_w2);
      CHECK(g.bias == &g.own_bias);
    }
  }
}

}  // namespace

TEST_CASE("every tiny model loads with the right structure and values", "[weights][tiny]") {
  for (const Expect& e : kShapes) {
    INFO("shape " << e.name);
    auto w = load_model_weights(tiny(e.name));
    if (!w.ok()) FAIL(w.status().to_string());
    check_structure(**w, e);
    check_against_samples(**w, tiny(e.name));
  }
}

TEST_CASE("rg2/rg3 gates read [k, v] input widths", "[weights][tiny]") {
  auto w = load_model_weights(tiny("gqa2-rg3-shared"));
  REQUIRE(w.ok());
  CHECK((*w)->layers[0].gate.w1.shape == std::vector<int64_t>{32, 2 * 16 * 2});
  CHECK((*w)->layers[0].gate.w_up.shape == std::vector<int64_t>{32, 2 * 16 * 2});
}

TEST_CASE("loader errors name the tensor and the file", "[weights]") {
  TempDir tmp;

  SECTION("missing directory") {
    Status s = load_status("/nonexistent/trimserve-model");
    CHECK(s.code() == ErrorCode::kNotFound);
    CHECK(s.message().find("/nonexistent/trimserve-model") != std::string::npos);
  }
  SECTION("missing weights file") {
    const std::string dir = copy_of(tmp, "gqa2-nogate");
    fs::remove(dir + "/model.safetensors");
    Status s = load_status(dir);
    CHECK(s.code() == ErrorCode::kNotFound);
    CHECK(s.message().find("no model.safetensors or model.safetensors.index.json") != std::string::npos);
  }
  SECTION("truncated file") {
    const std::string dir = copy_of(tmp, "gqa2-nogate");
    const std::string path = dir + "/model.safetensors";
    const auto size = fs::file_size(path);
    fs::resize_file(path, size - 100);
    Status s = load_status(dir);
    CHECK(s.code() == ErrorCode::kDataLoss);
    // Tensors are stored sorted by name, so the last one is the one cut short.
    CHECK(s.message().rfind("model.safetensors: file truncated: tensor model.norm.weight data ends at byte " +
                                std::to_string(size) + " but the file has " + std::to_string(size - 100) +
                                " bytes",
                            0) == 0);
  }
  SECTION("header garbage") {
    const std::string dir = copy_of(tmp, "gqa2-nogate");
    std::fstream f(dir + "/model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    f << "garbage!";
    f.close();
    Status s = load_status(dir);
    CHECK(s.code() == ErrorCode::kDataLoss);
    CHECK(s.message().rfind("model.safetensors: header is not valid JSON", 0) == 0);
  }
  SECTION("wrong shape") {
    const std::string dir = copy_of(tmp, "gqa2-untied-rg");
    rewrite(dir, "model.safetensors", [](TensorMap& t) {
      RawTensor& k = t["model.layers.1.self_attn.k_proj.weight"];  // [64, 64] for Hkv*D = 64
      k.shape = {128, 64};
      k.bytes += k.bytes;
    });
    Status s = load_status(dir);
    CHECK(s.code() == ErrorCode::kInvalidArgument);
    CHECK(s.message() ==
          "model.layers.1.self_attn.k_proj.weight in model.safetensors: shape [128, 64], expected [64, 64]");
  }
  SECTION("wrong shape in a shard") {
    const std::string dir = copy_of(tmp, "gqa2-bf16-sharded");
    const json index = read_json(dir + "/model.safetensors.index.json");
    const std::string name = "model.layers.2.mlp.up_proj.weight";
    const std::string shard = index["weight_map"][name];
    rewrite(dir, shard, [&](TensorMap& t) { t[name].shape = {96, 256}; });
    Status s = load_status(dir);
    CHECK(s.message() == name + " in " + shard + ": shape [96, 256], expected [256, 96]");
  }
  SECTION("missing tensor") {
    const std::string dir = copy_of(tmp, "gqa2-nogate");
    rewrite(dir, "model.safetensors", [](TensorMap& t) { t.erase("model.norm.weight"); });
    Status s = load_status(dir);
    CHECK(s.code() == ErrorCode::kNotFound);
    CHECK(s.message() == "missing tensor model.norm.weight (looked in model.safetensors)");
  }
  SECTION("missing gate tensor when config.json says rg") {
    const std::string dir = copy_of(tmp, "gqa2-f16");
    rewrite(dir, "model.safetensors",
            [](TensorMap& t) { t.erase("model.layers.1.self_attn.retention_gate.linear1.bias"); });
    CHECK(load_status(dir).message() ==
          "missing tensor model.layers.1.self_attn.retention_gate.linear1.bias (looked in model.safetensors)");
  }
  SECTION("missing shared projection") {
    const std::string dir = copy_of(tmp, "gqa2-rg3-shared");
    rewrite(dir, "model.safetensors", [](TensorMap& t) { t.erase("model.retention_gate.down_proj.weight"); });
    CHECK(load_status(dir).message() ==
          "missing tensor model.retention_gate.down_proj.weight (looked in model.safetensors)");
  }
  SECTION("missing tensor in a sharded checkpoint lists the shards") {
    const std::string dir = copy_of(tmp, "gqa2-bf16-sharded");
    json index = read_json(dir + "/model.safetensors.index.json");
    const std::string shard = index["weight_map"]["model.norm.weight"];
    index["weight_map"].erase("model.norm.weight");
    write_json(dir + "/model.safetensors.index.json", index);
    rewrite(dir, shard, [](TensorMap& t) { t.erase("model.norm.weight"); });
    CHECK(load_status(dir).message() ==
          "missing tensor model.norm.weight (looked in model-00001-of-00002.safetensors, "
          "model-00002-of-00002.safetensors)");
  }
  SECTION("extra tensors") {
    const std::string dir = copy_of(tmp, "gqa2-nogate");
    rewrite(dir, "model.safetensors", [](TensorMap& t) {
      t["model.layers.0.mlp.extra.weight"] = {"F32", {1}, std::string(4, '\0')};
      t["model.layers.0.self_attn.rotary_emb.inv_freq"] = {"F32", {1}, std::string(4, '\0')};
    });
    Status s = load_status(dir);
    CHECK(s.code() == ErrorCode::kInvalidArgument);
    // inv_freq buffers are tolerated; anything else is named with its file.
    CHECK(s.message() == "unexpected tensor model.layers.0.mlp.extra.weight in model.safetensors");
  }
  SECTION("a shared-projection flag that disagrees with the tensors") {
    const std::string dir = copy_of(tmp, "gqa2-rg3-shared");
    json config = read_json(dir + "/config.json");
    config["retention_gate"] = "rg3";
    config["retention_gate_shared_projection"] = false;
    write_json(dir + "/config.json", config);
    Status s = load_status(dir);
    CHECK(s.message() == "missing tensor model.layers.0.self_attn.retention_gate.down_proj.weight "
                         "(looked in model.safetensors)");
  }
  SECTION("extra gate tensors get a hint about the gate config") {
    const std::string dir = copy_of(tmp, "gqa2-untied-rg");
    rewrite(dir, "model.safetensors",
            [](TensorMap& t) { t["model.retention_gate.bias"] = {"F32", {2}, std::string(8, '\0')}; });
    CHECK(load_status(dir).message() ==
          "unexpected tensor model.retention_gate.bias in model.safetensors; config.json says "
          "retention_gate=rg, retention_gate_shared_projection=false");
  }
  SECTION("dtype I64 for a weight") {
    const std::string dir = copy_of(tmp, "gqa2-nogate");
    rewrite(dir, "model.safetensors", [](TensorMap& t) {
      RawTensor& n = t["model.norm.weight"];  // [64] f32 -> [64] i64
      n.dtype = "I64";
      n.bytes += n.bytes;
    });
    Status s = load_status(dir);
    CHECK(s.code() == ErrorCode::kInvalidArgument);
    CHECK(s.message() == "model.norm.weight in model.safetensors: dtype I64, expected F32, F16 or BF16");
  }
  SECTION("index.json pointing to a missing shard") {
    const std::string dir = copy_of(tmp, "gqa2-bf16-sharded");
    fs::remove(dir + "/model-00002-of-00002.safetensors");
    Status s = load_status(dir);
    CHECK(s.code() == ErrorCode::kNotFound);
    CHECK(s.message().rfind("model.safetensors.index.json: shard model-00002-of-00002.safetensors (listed for ", 0) == 0);
  }
  SECTION("q_norm in some layers only") {
    const std::string dir = copy_of(tmp, "gqa2-untied-rg");
    rewrite(dir, "model.safetensors", [](TensorMap& t) { t.erase("model.layers.2.self_attn.k_norm.weight"); });
    Status s = load_status(dir);
    CHECK(s.message() ==
          "q_norm/k_norm must exist in every layer or in none (model.layers.0.self_attn.q_norm.weight exists): "
          "missing tensor model.layers.2.self_attn.k_norm.weight (looked in model.safetensors)");
  }
  SECTION("config.json errors come first") {
    const std::string dir = copy_of(tmp, "gqa2-nogate");
    json config = read_json(dir + "/config.json");
    config["architectures"] = {"LlamaForCausalLM"};
    write_json(dir + "/config.json", config);
    Status s = load_status(dir);
    CHECK(s.code() == ErrorCode::kUnimplemented);
    CHECK(s.message().find("config.json: architectures: unsupported 'LlamaForCausalLM'") != std::string::npos);
  }
}

TEST_CASE("tied checkpoints may carry an identical lm_head", "[weights]") {
  TempDir tmp;
  const std::string dir = copy_of(tmp, "gqa1-tied-rg");
  rewrite(dir, "model.safetensors", [](TensorMap& t) { t["lm_head.weight"] = t["model.embed_tokens.weight"]; });
  auto w = load_model_weights(dir);
  REQUIRE(w.ok());
  CHECK((*w)->lm_head.empty());

  rewrite(dir, "model.safetensors", [](TensorMap& t) { t["lm_head.weight"].bytes[0] ^= 1; });
  Status s = load_status(dir);
  CHECK(s.message() ==
        "lm_head.weight in model.safetensors: config.json says tie_word_embeddings but it differs from "
        "model.embed_tokens.weight");
}

TEST_CASE("gates are inferred from tensors when config.json has no TrimKV keys", "[weights]") {
  TempDir tmp;
  for (const char* shape : {"gqa2-rg2", "gqa2-rg3-shared", "gqa2-untied-rg"}) {
    INFO(shape);
    const std::string dir = copy_of(tmp, shape);
    json config = read_json(dir + "/config.json");
    const json original = config;
    for (const char* key : {"memory_size", "buffer_size", "retention_gate", "retention_gate_intermediate_size",
                            "retention_gate_shared_projection", "floor_budget_ratio"}) {
      config.erase(key);
    }
    write_json(dir + "/config.json", config);
    auto w = load_model_weights(dir);
    if (!w.ok()) FAIL(w.status().to_string());
    const ModelConfig& c = (*w)->config;
    CHECK(retention_gate_name(c.retention_gate) == original["retention_gate"].get<std::string>());
    CHECK(c.retention_gate_intermediate_size == original["retention_gate_intermediate_size"].get<int64_t>());
    CHECK(c.retention_gate_shared_projection == original["retention_gate_shared_projection"].get<bool>());
    CHECK(c.memory_size == 1024);  // the TrimKV reference defaults
    CHECK(c.buffer_size == 128);
    check_against_samples(**w, dir);
  }
}

// Run by tests/tools/convert_trimkv_test.py with TRIMSERVE_CONVERTED_MODEL (a converter output)
// and TRIMSERVE_CONVERTED_EXPECT (the tiny model it must equal). Hidden from the default run.
TEST_CASE("a converted TrimKV checkpoint loads like the original", "[.convert]") {
  const char* converted = std::getenv("TRIMSERVE_CONVERTED_MODEL");
  const char* expect = std::getenv("TRIMSERVE_CONVERTED_EXPECT");
  REQUIRE(converted != nullptr);
  REQUIRE(expect != nullptr);
  auto a = load_model_weights(converted);
  if (!a.ok()) FAIL(a.status().to_string());
  auto b = load_model_weights(expect);
  REQUIRE(b.ok());
  CHECK((*a)->config.retention_gate == (*b)->config.retention_gate);
  CHECK((*a)->config.memory_size == (*b)->config.memory_size);
  CHECK((*a)->config.buffer_size == (*b)->config.buffer_size);
  CHECK((*a)->config.floor_budget_ratio == (*b)->config.floor_budget_ratio);
  CHECK((*a)->config.retention_gate_shared_projection == (*b)->config.retention_gate_shared_projection);
  check_against_samples(**a, expect);
}
