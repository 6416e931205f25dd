// Tests of engine/dtype.h and engine/safetensors.h: 16-bit float conversions, header
// validation of single files (every corruption the loader promises to name), and sharded
// checkpoints through model.safetensors.index.json.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "engine/dtype.h"
#include "engine/safetensors.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace trimserve;
using trimserve::testing::TempDir;

namespace {


struct Spec {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

std::string f32_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

std::string u16_bytes(const std::vector<uint16_t>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 2);
}

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return s;
}

// A well-formed file; `pad` spaces after the JSON make the header length odd or aligned.
std::string build(const std::vector<Spec>& specs, size_t pad = 0, json metadata = nullptr) {
  json header = json::object();
  if (!metadata.is_null()) header["__metadata__"] = metadata;
  std::string data;
  for (const Spec& s : specs) {
    header[s.name] = {{"dtype", s.dtype}, {"shape", s.shape},
                      {"data_offsets", {data.size(), data.size() + s.bytes.size()}}};
    data += s.bytes;
  }
  std::string text = header.dump() + std::string(pad, ' ');
  return le64(text.size()) + text + data;
}

std::string raw(const std::string& header_text, const std::string& data) {
  return le64(header_text.size()) + header_text + data;
}

void write(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

Status open_status(const std::string& path) {
  auto r = SafetensorsFile::open(path);
  return r.ok() ? Status() : r.status();
}

}  // namespace

TEST_CASE("dtype names and sizes", "[dtype]") {
  CHECK(dtype_from_name("BF16") == DType::kBF16);
  CHECK(dtype_from_name("F8_E4M3") == DType::kF8E4M3);
  CHECK_FALSE(dtype_from_name("bf16").has_value());
  CHECK_FALSE(dtype_from_name("Q4_0").has_value());
  CHECK(dtype_size(DType::kI64) == 8);
  CHECK(dtype_size(DType::kBF16) == 2);
  CHECK(std::string(dtype_name(DType::kBool)) == "BOOL");
  CHECK(is_weight_dtype(DType::kF16));
  CHECK_FALSE(is_weight_dtype(DType::kI64));
}

TEST_CASE("bf16 and f16 widen exactly", "[dtype]") {
  CHECK(bf16_to_f32(0x3F80) == 1.0f);
  CHECK(bf16_to_f32(0xC000) == -2.0f);
  CHECK(bf16_to_f32(0x3E20) == 0.15625f);
  CHECK(std::isinf(bf16_to_f32(0x7F80)));
  CHECK(std::isnan(bf16_to_f32(0x7FC0)));

  CHECK(f16_to_f32(0x3C00) == 1.0f);
  CHECK(f16_to_f32(0xC000) == -2.0f);
  CHECK(f16_to_f32(0x7BFF) == 65504.0f);
  CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(f16_to_f32(0x03FF) == std::ldexp(1023.0f, -24));  // largest subnormal
  CHECK(f16_to_f32(0x0400) == std::ldexp(1.0f, -14));  // smallest normal
  CHECK(std::signbit(f16_to_f32(0x8000)));
  CHECK(std::isinf(f16_to_f32(0xFC00)));
  CHECK(f16_to_f32(0xFC00) < 0);
  CHECK(std::isnan(f16_to_f32(0x7E00)));
}

TEST_CASE("narrowing round-trips every 16-bit value", "[dtype]") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    const float f = f16_to_f32(bits);
    if (std::isnan(f)) {
      CHECK(std::isnan(f16_to_f32(f32_to_f16(f))));
    } else if (f32_to_f16(f) != bits) {
      FAIL("f16 " << h << " does not round-trip");
    }
    const float b = bf16_to_f32(bits);
    if (std::isnan(b)) {
      CHECK(std::isnan(bf16_to_f32(f32_to_bf16(b))));
    } else if (f32_to_bf16(b) != bits) {
      FAIL("bf16 " << h << " does not round-trip");
    }
  }
}

TEST_CASE("narrowing rounds to nearest even", "[dtype]") {
  // 1 + 2^-11 is halfway between f16 1.0 and its successor: ties to the even 1.0.
  CHECK(f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);
  CHECK(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);  // tie to even upward
  CHECK(f32_to_f16(65519.0f) == 0x7BFF);
  CHECK(f32_to_f16(65520.0f) == 0x7C00);  // overflows to infinity
  CHECK(f32_to_f16(std::ldexp(1.0f, -25)) == 0x0000);  // half the smallest subnormal: tie to 0
  CHECK(f32_to_f16(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3F80);  // tie to even
  CHECK(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3F82);
  CHECK(f32_to_bf16(std::bit_cast<float>(0x3F808001u)) == 0x3F81);  // above the tie
#if defined(__FLT16_MAX__)
  // The compiler's own conversion is an independent reference for random values.
  std::mt19937 gen(7);
  std::uniform_int_distribution<uint32_t> any;
  for (int i = 0; i < 200000; ++i) {
    const float f = std::bit_cast<float>(any(gen));
    if (std::isnan(f)) continue;
    const auto ref = std::bit_cast<uint16_t>(static_cast<_Float16>(f));
    if (f32_to_f16(f) != ref) FAIL("f32_to_f16(" << f << ") != " << ref);
  }
#endif
}

TEST_CASE("widen_to_f32 reads unaligned data", "[dtype]") {
  std::string buf(1, 'x');
  buf += u16_bytes({0x3F80, 0xC000, 0x3E20});
  float out[3];
  widen_to_f32(buf.data() + 1, DType::kBF16, 3, out);
  CHECK(out[0] == 1.0f);
  CHECK(out[1] == -2.0f);
  CHECK(out[2] == 0.15625f);
}

TEST_CASE("a valid file exposes its tensors and metadata", "[safetensors]") {
  TempDir dir("ts_safetensors");
  const std::string path = dir.file("model.safetensors");
  // pad = 3 makes the data start at an odd offset: views must still read correctly.
  write(path, build({{"a", "F32", {2, 2}, f32_bytes({1, 2, 3, 4})},
                     {"b", "BF16", {3}, u16_bytes({0x3F80, 0xC000, 0x3E20})},
                     {"c", "F16", {1}, u16_bytes({0x3C00})},
                     {"empty", "F32", {0, 4}, ""},
                     {"ids", "I64", {1}, std::string(8, '\0')}},
                    3, {{"format", "pt"}}));
  auto file = SafetensorsFile::open(path);
  REQUIRE(file.ok());
  CHECK((*file)->file_name() == "model.safetensors");
  CHECK((*file)->tensors().size() == 5);
  CHECK((*file)->metadata().at("format") == "pt");
  const TensorView* a = (*file)->find("a");
  REQUIRE(a != nullptr);
  CHECK(a->shape == std::vector<int64_t>{2, 2});
  CHECK(a->dtype == DType::kF32);
  auto ta = tensor_to_f32(*a);
  REQUIRE(ta.ok());
  CHECK(ta->data == std::vector<float>{1, 2, 3, 4});
  auto tb = tensor_to_f32(*(*file)->find("b"));
  REQUIRE(tb.ok());
  CHECK(tb->data == std::vector<float>{1.0f, -2.0f, 0.15625f});
  auto tc = tensor_to_f32(*(*file)->find("c"));
  REQUIRE(tc.ok());
  CHECK(tc->data == std::vector<float>{1.0f});
  auto te = tensor_to_f32(*(*file)->find("empty"));
  REQUIRE(te.ok());
  CHECK(te->data.empty());
  CHECK(te->shape == std::vector<int64_t>{0, 4});
  CHECK((*file)->find("nope") == nullptr);

  auto ids = tensor_to_f32(*(*file)->find("ids"));
  REQUIRE_FALSE(ids.ok());
  CHECK(ids.status().code() == ErrorCode::kInvalidArgument);
  CHECK(ids.status().message() == "ids in model.safetensors: dtype I64, expected F32, F16 or BF16");
}

TEST_CASE("an empty header is a valid file with no tensors", "[safetensors]") {
  TempDir dir("ts_safetensors");
  write(dir.file("e.safetensors"), raw("{}", ""));
  auto file = SafetensorsFile::open(dir.file("e.safetensors"));
  REQUIRE(file.ok());
  CHECK((*file)->tensors().empty());
}

TEST_CASE("corrupt files are rejected with the reason", "[safetensors]") {
  TempDir dir("ts_safetensors");
  const std::string path = dir.file("m.safetensors");
  const std::string good = build({{"x", "F32", {4}, f32_bytes({1, 2, 3, 4})},
                                  {"y", "F32", {2}, f32_bytes({5, 6})}});

  SECTION("missing file") {
    Status s = open_status(dir.file("absent.safetensors"));
    CHECK(s.code() == ErrorCode::kNotFound);
    CHECK(s.message().find("absent.safetensors") != std::string::npos);
  }
  SECTION("shorter than the length prefix") {
    write(path, "abc");
    Status s = open_status(path);
    CHECK(s.code() == ErrorCode::kDataLoss);
    CHECK(s.message() == "m.safetensors: file truncated: 3 bytes is too small for a safetensors header");
  }
  SECTION("header length larger than the file") {
    write(path, le64(1000) + "{}");
    Status s = open_status(path);
    CHECK(s.code() == ErrorCode::kDataLoss);
    CHECK(s.message() == "m.safetensors: header length 1000 is larger than the file (10 bytes)");
  }
  SECTION("huge header length") {
    write(path, le64(~0ull) + "{}");
    CHECK(open_status(path).code() == ErrorCode::kDataLoss);
  }
  SECTION("header garbage") {
    write(path, raw("{\"x\": {\"dtype\": \"F32\", garbage", ""));
    Status s = open_status(path);
    CHECK(s.code() == ErrorCode::kDataLoss);
    CHECK(s.message().rfind("m.safetensors: header is not valid JSON: ", 0) == 0);
  }
  SECTION("header is not an object") {
    write(path, raw("[1, 2]", ""));
    CHECK(open_status(path).message() == "m.safetensors: header is not a JSON object");
  }
  SECTION("truncated data") {
    write(path, good.substr(0, good.size() - 4));
    Status s = open_status(path);
    CHECK(s.code() == ErrorCode::kDataLoss);
    const size_t header_end = good.size() - 24;
    CHECK(s.message() == "m.safetensors: file truncated: tensor y data ends at byte " +
                             std::to_string(header_end + 24) + " but the file has " +
                             std::to_string(good.size() - 4) + " bytes");
  }
  SECTION("unknown dtype") {
    write(path, raw(R"({"x":{"dtype":"Q4","shape":[2],"data_offsets":[0,1]}})", "a"));
    CHECK(open_status(path).message() == "m.safetensors: tensor x: unknown dtype 'Q4'");
  }
  SECTION("size does not match shape") {
    write(path, raw(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, 'a')));
    CHECK(open_status(path).message() ==
          "m.safetensors: tensor x: shape [3] of F32 needs 12 bytes but data_offsets span 8");
  }
  SECTION("bad offsets") {
    write(path, raw(R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[2,1]}})", "ab"));
    CHECK(open_status(path).message().find("bad \"data_offsets\" [2,1]") != std::string::npos);
    write(path, raw(R"({"x":{"dtype":"U8","shape":[1]}})", "a"));
    CHECK(open_status(path).message().find("(missing)") != std::string::npos);
  }
  SECTION("bad shape") {
    write(path, raw(R"({"x":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", "a"));
    CHECK(open_status(path).message() == "m.safetensors: tensor x: shape has a bad dimension -1");
    write(path, raw(R"({"x":{"dtype":"U8","shape":"1","data_offsets":[0,1]}})", "a"));
    CHECK(open_status(path).message() == "m.safetensors: tensor x: missing or non-array \"shape\"");
  }
  SECTION("overlapping tensors") {
    write(path, raw(R"({"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                    R"("y":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})",
                    "abc"));
    CHECK(open_status(path).message() == "m.safetensors: tensors x [0, 2) and y [1, 3) overlap");
  }
  SECTION("out-of-order offsets are fine when they tile the data") {
    write(path, raw(R"({"x":{"dtype":"U8","shape":[2],"data_offsets":[1,3]},)"
                    R"("y":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
                    "abc"));
    auto file = SafetensorsFile::open(path);
    REQUIRE(file.ok());
    CHECK(*(*file)->find("y")->data == 'a');
    CHECK(*(*file)->find("x")->data == 'b');
  }
  SECTION("a gap between tensors") {
    write(path, raw(R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", "ab"));
    CHECK(open_status(path).message() ==
          "m.safetensors: 1 unreferenced bytes before tensor x (data_offsets must tile the data "
          "without gaps)");
  }
  SECTION("trailing bytes") {
    write(path, good + "zz");
    CHECK(open_status(path).message() == "m.safetensors: 2 trailing bytes after the last tensor's data");
  }
  SECTION("__metadata__ of the wrong type") {
    write(path, raw(R"({"__metadata__":[1]})", ""));
    CHECK(open_status(path).message() == "m.safetensors: __metadata__ is not a JSON object");
  }
}

TEST_CASE("checkpoint directories: single file and shards", "[safetensors]") {
  TempDir dir("ts_safetensors");
  const std::string index = dir.file("model.safetensors.index.json");
  const std::string s1 = "model-00001-of-00002.safetensors";
  const std::string s2 = "model-00002-of-00002.safetensors";
  auto write_index = [&](const json& weight_map) {
    write(index, json{{"metadata", {{"total_size", 24}}}, {"weight_map", weight_map}}.dump());
  };
  write(dir.file(s1), build({{"a", "F32", {2}, f32_bytes({1, 2})}}));
  write(dir.file(s2), build({{"b", "F32", {4}, f32_bytes({3, 4, 5, 6})}}));

  SECTION("no weights at all") {
    auto c = SafetensorsCheckpoint::open_dir(dir.str());
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().code() == ErrorCode::kNotFound);
    CHECK(c.status().message().find("no model.safetensors or model.safetensors.index.json") !=
          std::string::npos);
  }
  SECTION("missing directory") {
    auto c = SafetensorsCheckpoint::open_dir(dir.file("nope"));
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().code() == ErrorCode::kNotFound);
    CHECK(c.status().message() == "model directory '" + dir.file("nope") + "' does not exist");
  }
  SECTION("sharded") {
    write_index({{"a", s1}, {"b", s2}});
    auto c = SafetensorsCheckpoint::open_dir(dir.str());
    REQUIRE(c.ok());
    CHECK((*c)->names() == std::vector<std::string>{"a", "b"});
    CHECK((*c)->files_description() == s1 + ", " + s2);
    REQUIRE((*c)->find("b") != nullptr);
    CHECK((*c)->find("b")->file_name == s2);
    CHECK(tensor_to_f32(*(*c)->find("b"))->data == std::vector<float>{3, 4, 5, 6});
  }
  SECTION("index names a missing shard") {
    write_index({{"a", s1}, {"b", s2}, {"c", "model-00003-of-00003.safetensors"}});
    auto c = SafetensorsCheckpoint::open_dir(dir.str());
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().code() == ErrorCode::kNotFound);
    CHECK(c.status().message().find("shard model-00003-of-00003.safetensors (listed for c) does not exist") !=
          std::string::npos);
  }
  SECTION("index places a tensor in the wrong shard") {
    write_index({{"a", s2}, {"b", s2}});
    auto c = SafetensorsCheckpoint::open_dir(dir.str());
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().message() == "model.safetensors.index.json lists a in " + s2 +
                                      " but that file has no such tensor");
  }
  SECTION("a shard tensor the index does not list") {
    write_index({{"b", s2}});
    write(dir.file(s2), build({{"b", "F32", {1}, f32_bytes({1})}, {"z", "F32", {1}, f32_bytes({2})}}));
    auto c = SafetensorsCheckpoint::open_dir(dir.str());
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().message() == "z in " + s2 + ": tensor not listed in model.safetensors.index.json");
  }
  SECTION("shard names must stay inside the directory") {
    write_index({{"a", "../" + s1}});
    auto c = SafetensorsCheckpoint::open_dir(dir.str());
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().code() == ErrorCode::kInvalidArgument);
    CHECK(c.status().message().find("is not a plain file name") != std::string::npos);
  }
  SECTION("malformed index") {
    write(index, "{\"weight_map\": [");
    auto c = SafetensorsCheckpoint::open_dir(dir.str());
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().message().rfind("model.safetensors.index.json: not valid JSON", 0) == 0);
    write(index, "{\"weight_map\": {\"a\": 3}}");
    c = SafetensorsCheckpoint::open_dir(dir.str());
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().message() ==
          "model.safetensors.index.json: weight_map[\"a\"]: expected a file name, got 3");
  }
  SECTION("a corrupt shard reports the shard") {
    write_index({{"a", s1}, {"b", s2}});
    write(dir.file(s2), "xx");
    auto c = SafetensorsCheckpoint::open_dir(dir.str());
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().code() == ErrorCode::kDataLoss);
    CHECK(c.status().message().rfind(s2 + ": file truncated", 0) == 0);
  }
  SECTION("model.safetensors wins over an index, as in transformers") {
    write_index({{"a", s1}, {"b", s2}});
    write(dir.file("model.safetensors"), build({{"only", "F32", {1}, f32_bytes({9})}}));
    auto c = SafetensorsCheckpoint::open_dir(dir.str());
    REQUIRE(c.ok());
    CHECK((*c)->names() == std::vector<std::string>{"only"});
    CHECK((*c)->files_description() == "model.safetensors");
  }
}
