// LogprobsJson renders SampleResults in OpenAI's two shapes: chat's content list (token, bytes,
// logprob, top_logprobs) and legacy completions' parallel arrays with text offsets; chunks
// carry only their own tokens; -inf becomes -9999. Token text and bytes come from a real
// (tiny) tokenizer, logprobs from the sampler's compute_logprobs on made-up logits.
#include "server/api/logprobs_json.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/sampler.h"
#include "engine/tokenizer.h"
#include "tests/support/tiny_models.h"

using namespace trimserve;
using namespace trimserve::api;

namespace {

std::unique_ptr<Tokenizer> tiny_tokenizer() {
  auto t = Tokenizer::load_model_dir(testing::tiny_model_dir("gqa2-untied-rg"));
  REQUIRE(t.ok());
  return std::move(*t);
}

// Logits over the tokenizer's vocabulary with `best` most likely, then best+1, ...
std::vector<float> logits_favouring(const Tokenizer& tok, int32_t best) {
  std::vector<float> logits(static_cast<size_t>(tok.vocab_size()), 0.0f);
  for (int32_t k = 0; k < 4; ++k) logits[static_cast<size_t>(best + k)] = 8.0f - 2.0f * static_cast<float>(k);
  return logits;
}

}  // namespace

TEST_CASE("chat logprobs: content entries with bytes and alternatives", "[api][logprobs]") {
  auto tok = tiny_tokenizer();
  const std::vector<int32_t> hello = tok->encode("Hello there");
  REQUIRE(hello.size() >= 2);
  LogprobsJson lp(*tok, /*text_completion=*/false);
  CHECK(lp.empty());
  CHECK(lp.take().is_null());
  for (int32_t id : hello) lp.add(compute_logprobs(logits_favouring(*tok, id), id, 2));
  const nlohmann::json j = lp.take();
  REQUIRE(j["content"].size() == hello.size());
  CHECK(j["refusal"].is_null());
  std::string text;
  for (size_t i = 0; i < hello.size(); ++i) {
    const nlohmann::json& e = j["content"][i];
    const int32_t ids[] = {hello[i]};
    CHECK(e["token"] == tok->decode(ids));
    std::string bytes;
    for (int b : e["bytes"]) bytes.push_back(static_cast<char>(b));
    CHECK(bytes == tok->id_to_bytes(hello[i]));
    text += bytes;
    REQUIRE(e["top_logprobs"].size() == 2);
    CHECK(e["top_logprobs"][0]["token"] == e["token"]);  // the sampled token is the likeliest
    CHECK(e["top_logprobs"][0]["logprob"] == e["logprob"]);
    CHECK(e["logprob"].get<double>() < 0.0);
    CHECK(e["top_logprobs"][1]["logprob"].get<double>() < e["logprob"].get<double>());
    // A proper distribution: exp(logprob) of the four favoured tokens sums to nearly 1.
    CHECK(std::exp(e["logprob"].get<double>()) > 0.5);
  }
  CHECK(text == "Hello there");
  CHECK(lp.empty());
  CHECK(lp.take().is_null());  // taken: the next chunk starts empty
}

TEST_CASE("legacy completion logprobs: parallel arrays and text offsets", "[api][logprobs]") {
  auto tok = tiny_tokenizer();
  const std::vector<int32_t> ids = tok->encode("one two three");
  REQUIRE(ids.size() >= 3);
  LogprobsJson lp(*tok, /*text_completion=*/true);
  lp.add(compute_logprobs(logits_favouring(*tok, ids[0]), ids[0], 0));
  const nlohmann::json first = lp.take();
  for (size_t i = 1; i < ids.size(); ++i) lp.add(compute_logprobs(logits_favouring(*tok, ids[i]), ids[i], 3));
  const nlohmann::json rest = lp.take();
  CHECK(first["tokens"].size() == 1);
  CHECK(first["text_offset"][0] == 0);
  CHECK(first["top_logprobs"][0].size() == 1);  // logprobs: 0 still reports the sampled token
  CHECK(!first.contains("refusal"));
  REQUIRE(rest["tokens"].size() == ids.size() - 1);
  // Offsets keep counting across chunks: each is where its token's text starts.
  int64_t offset = static_cast<int64_t>(first["tokens"][0].get<std::string>().size());
  for (size_t i = 0; i < rest["tokens"].size(); ++i) {
    CHECK(rest["text_offset"][i] == offset);
    offset += static_cast<int64_t>(rest["tokens"][i].get<std::string>().size());
    const nlohmann::json& top = rest["top_logprobs"][i];
    CHECK(top.size() == 3);
    CHECK(top[rest["tokens"][i].get<std::string>()] == rest["token_logprobs"][i]);
  }
}

TEST_CASE("a token the sampler could never draw has logprob -9999", "[api][logprobs]") {
  auto tok = tiny_tokenizer();
  std::vector<float> logits(static_cast<size_t>(tok->vocab_size()), 0.0f);
  logits[5] = -std::numeric_limits<float>::infinity();
  LogprobsJson lp(*tok, /*text_completion=*/false);
  lp.add(compute_logprobs(logits, 5, 1));
  const nlohmann::json j = lp.take();
  CHECK(j["content"][0]["logprob"] == -9999.0);
  CHECK(j["content"][0]["top_logprobs"][0]["logprob"].get<double>() > -9999.0);
}
