// The held-out datasets `trimserve eval` reads: JSON Lines, one object per line (blank lines are
// skipped, keys other than those below are ignored, ids must be unique within a file).
//
// recall (--task recall): a multi-turn dialogue that states facts early and asks for one last.
//   {"id": "d17", "turns": [{"user": "...", "assistant": "..."}, ...],
//    "question": "What was my locker code?", "answer": "4417"}
//   "id" a non-empty string; "turns" an array (may be empty) of {"user": string, "assistant":
//   string}; "question" and "answer" non-empty strings. The assistant texts are teacher-forced
//   (fed as given, never generated); the reply to the question is scored against "answer" by
//   answers_match() below.
//
// perplexity (--task perplexity): a plain text, scored token by token.
//   {"id": "sotu-1999", "text": "..."}
//   "id" a non-empty string, "text" a non-empty string (tokenized as plain text: no chat
//   template, special-token strings in it are ordinary text).
//
// Every error names the file and the 1-based line: "FILE:LINE: what is wrong"; a file with no
// example at all (or whose lines carry none of the task's keys) is "FILE: dataset has no
// questions" (recall) / "FILE: dataset has no texts" (perplexity). All are kInvalidArgument
// except an unreadable file (kNotFound); the CLI exits 2 on either.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace trimserve::cli {

struct DialogueTurn {
  std::string user;
  std::string assistant;
};

struct RecallExample {
  std::string id;
  int64_t line = 0;  // 1-based line in the file, for messages
  std::vector<DialogueTurn> turns;
  std::string question;
  std::string answer;
};

struct TextExample {
  std::string id;
  int64_t line = 0;
  std::string text;
};

// `name` is what messages call the input (the file's path).
Result<std::vector<RecallExample>> parse_recall_jsonl(std::istream& in, const std::string& name);
Result<std::vector<TextExample>> parse_text_jsonl(std::istream& in, const std::string& name);

// Open `path` and parse it; kNotFound "--data: cannot read PATH" when it cannot be opened.
Result<std::vector<RecallExample>> load_recall_dataset(const std::string& path);
Result<std::vector<TextExample>> load_text_dataset(const std::string& path);

// The recall scoring rule: trim whitespace, strip trailing '.', '!', '?' (and the whitespace
// they leave), lower-case ASCII letters.
std::string normalize_answer(std::string_view text);
// normalize_answer(predicted) == normalize_answer(answer).
bool answers_match(std::string_view predicted, std::string_view answer);

}  // namespace trimserve::cli
