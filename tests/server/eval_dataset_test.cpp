// The JSONL datasets of `trimserve eval` (server/cli/eval_dataset.h): what a valid line holds,
// every error naming the file and the line, the answer-matching rule; and the eval flags that
// can be checked without a model (server/cli/eval_options.h).
#include "server/cli/eval_dataset.h"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "server/cli/eval_options.h"

using namespace trimserve;
using namespace trimserve::cli;

namespace {

Result<std::vector<RecallExample>> recall(const std::string& text) {
  std::istringstream in(text);
  return parse_recall_jsonl(in, "d.jsonl");
}

Result<std::vector<TextExample>> texts(const std::string& text) {
  std::istringstream in(text);
  return parse_text_jsonl(in, "t.jsonl");
}

// The error message of a parse that must fail with kInvalidArgument.
template <class R>
std::string error_of(const R& r) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::kInvalidArgument);
  return r.status().message();
}

Result<EvalOptions> parse(std::vector<const char*> argv) {
  argv.insert(argv.begin(), "eval");
  return parse_eval_options(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
}

const char* const kGood =
    R"({"id": "d1", "turns": [{"user": "My code is 4417.", "assistant": "Noted."}], )"
    R"("question": "What was my code?", "answer": "4417", "distance": 12})";

}  // namespace

TEST_CASE("recall lines: turns, question, answer, line numbers; blank lines skipped", "[eval]") {
  auto r = recall(std::string(kGood) + "\n\n  \n" +
                  R"({"id": "d2", "turns": [], "question": "Q?", "answer": "A"})" + "\r\n");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  const RecallExample& a = (*r)[0];
  CHECK(a.id == "d1");
  CHECK(a.line == 1);
  REQUIRE(a.turns.size() == 1);
  CHECK(a.turns[0].user == "My code is 4417.");
  CHECK(a.turns[0].assistant == "Noted.");
  CHECK(a.question == "What was my code?");
  CHECK(a.answer == "4417");
  CHECK((*r)[1].line == 4);
  CHECK((*r)[1].turns.empty());
}

TEST_CASE("recall errors name the file and line", "[eval]") {
  const std::string good = std::string(kGood) + "\n";
  CHECK(error_of(recall(good + "{\"id\": \"x\",\n")).rfind("d.jsonl:2: invalid JSON: ", 0) == 0);
  CHECK(error_of(recall(good + "42\n")) == "d.jsonl:2: expected a JSON object, got number");
  CHECK(error_of(recall(R"({"turns": [], "question": "q", "answer": "a"})")) ==
        "d.jsonl:1: no \"id\"");
  CHECK(error_of(recall(R"({"id": 7, "turns": [], "question": "q", "answer": "a"})")) ==
        "d.jsonl:1: \"id\" must be a non-empty string, got 7");
  CHECK(error_of(recall(good + good)) == "d.jsonl:2: duplicate id \"d1\" (first on line 1)");
  CHECK(error_of(recall(R"({"id": "x", "question": "q", "answer": "a"})")) ==
        "d.jsonl:1: no \"turns\" array");
  CHECK(
      error_of(recall(
          R"({"id": "x", "turns": [{"user": "u", "assistant": 3}], "question": "q", "answer": "a"})")) ==
      "d.jsonl:1: turns[0] must be {\"user\": string, \"assistant\": string}");
  CHECK(error_of(recall(R"({"id": "x", "turns": [], "question": "", "answer": "a"})")) ==
        "d.jsonl:1: \"question\" must be a non-empty string, got \"\"");
  // One line without a question among lines with one: that line.
  CHECK(error_of(recall(good + R"({"id": "x", "turns": [], "question": "q"})")) ==
        "d.jsonl:2: no \"answer\": a recall line needs \"question\" and \"answer\"");
  // No line with a question at all (or no line at all): the dataset.
  CHECK(error_of(recall(R"({"id": "x", "text": "t"})"))
            .rfind("d.jsonl: dataset has no questions", 0) == 0);
  CHECK(error_of(recall("\n\n")).rfind("d.jsonl: dataset has no questions", 0) == 0);
}

TEST_CASE("perplexity lines: id and text", "[eval]") {
  auto r = texts(R"({"id": "a", "text": "Hello there."})"
                 "\n"
                 R"({"id": "b", "text": "<|im_end|>"})");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  CHECK((*r)[1].text == "<|im_end|>");
  CHECK((*r)[1].line == 2);
  CHECK(error_of(texts(R"({"id": "a", "text": "x"})"
                       "\n"
                       R"({"id": "b"})")) == "t.jsonl:2: no \"text\" string");
  CHECK(error_of(texts(R"({"id": "a", "text": ""})")) ==
        "t.jsonl:1: \"text\" must be a non-empty string, got \"\"");
  CHECK(error_of(texts(kGood)).rfind("t.jsonl: dataset has no texts", 0) == 0);
}

TEST_CASE("a missing file is kNotFound naming --data", "[eval]") {
  auto r = load_recall_dataset("/nonexistent/eval.jsonl");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::kNotFound);
  CHECK(r.status().message() == "--data: cannot read /nonexistent/eval.jsonl");
}

TEST_CASE("answers match after trimming, trailing .!? and case", "[eval]") {
  CHECK(normalize_answer("  Biscuit!\n") == "biscuit");
  CHECK(normalize_answer("4417. ") == "4417");
  CHECK(normalize_answer("Yes?!") == "yes");
  CHECK(normalize_answer("...") == "");
  CHECK(answers_match(" 12b.", "12B"));
  CHECK(answers_match("Blue and green", "blue and green!"));
  CHECK_FALSE(answers_match("4417 is the code", "4417"));
  CHECK_FALSE(answers_match("4,417", "4417"));
  CHECK_FALSE(answers_match("!4417", "4417"));  // only trailing punctuation goes
}

TEST_CASE("eval flags: lists, defaults and usage errors", "[eval]") {
  auto o = parse({"--model", "m", "--task", "perplexity", "--data", "d.jsonl", "--policies",
                  "trimkv, full,trimkv", "--budgets", "256,64,64"});
  REQUIRE(o.ok());
  CHECK(o->task == EvalTask::kPerplexity);
  CHECK(o->policies == std::vector<KvPolicy>{KvPolicy::kTrimKv, KvPolicy::kFull});
  CHECK(o->budgets == std::vector<int64_t>{64, 256});
  CHECK(o->prefill_chunk == 32);
  CHECK(o->max_answer_tokens == 16);

  auto msg = [](std::vector<const char*> extra) {
    std::vector<const char*> argv = {"--model", "m", "--task", "recall", "--data", "d.jsonl"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = parse(argv);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kInvalidArgument);
    return r.status().message();
  };
  CHECK(msg({"--policies", "full,,window"}) == "--policies: empty entry in 'full,,window'");
  CHECK(msg({"--policies", " "}).rfind("--policies is empty", 0) == 0);
  CHECK(msg({"--policies", "h2o"}) ==
        "--policies: unknown policy 'h2o' (valid: full, window, trimkv, trimkv-global)");
  CHECK(msg({"--budgets", "-3"}) == "--budgets: a budget must be >= 1, got -3");
  CHECK(msg({"--budgets", "64,"}) == "--budgets: expected an integer, got ''");
  CHECK(msg({"--prefill-chunk", "0"}) == "--prefill-chunk must be >= 1, got 0");
  CHECK(msg({"--max-tokens-per-doc", "100"}) == "--max-tokens-per-doc is for --task perplexity");
  CHECK(msg({"--task", "qa"}) == "--task: unknown task 'qa' (valid: recall, perplexity)");
}
