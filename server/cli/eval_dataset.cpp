#include "server/cli/eval_dataset.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

namespace trimserve::cli {

namespace {

using nlohmann::json;

// Reads one line per call; calls `fn(object, lineno)` for every non-blank line that parses as
// a JSON object. The first error (a syntax error, a non-object, or fn's) stops the scan.
Status for_each_object(std::istream& in, const std::string& name,
                       const std::function<Status(const json&, int64_t)>& fn) {
  std::string line;
  for (int64_t lineno = 1; std::getline(in, line); ++lineno) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    json j;
    try {
      j = json::parse(line);
    } catch (const json::parse_error& e) {
      std::string what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
      if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
      return invalid_argument(name + ":" + std::to_string(lineno) + ": invalid JSON: " + what);
    }
    if (!j.is_object()) {
      return invalid_argument(name + ":" + std::to_string(lineno) +
                              ": expected a JSON object, got " + j.type_name());
    }
    TS_RETURN_IF_ERROR(fn(j, lineno));
  }
  if (in.bad()) return invalid_argument(name + ": read error");
  return Status();
}

std::string where(const std::string& name, int64_t lineno) {
  return name + ":" + std::to_string(lineno) + ": ";
}

// The value of a key that must be a non-empty string; nullopt when the key is absent.
Result<std::optional<std::string>> string_field(const json& j, const char* key,
                                                const std::string& at) {
  auto it = j.find(key);
  if (it == j.end()) return std::optional<std::string>();
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    return invalid_argument(at + "\"" + key + "\" must be a non-empty string, got " +
                            (it->is_string() ? std::string("\"\"") : it->dump()));
  }
  return std::optional<std::string>(it->get<std::string>());
}

// Checks "id" (required, unique) and returns it.
Result<std::string> read_id(const json& j, const std::string& at, int64_t lineno,
                            std::map<std::string, int64_t>& seen) {
  auto id = string_field(j, "id", at);
  if (!id.ok()) return id.status();
  if (!*id) return invalid_argument(at + "no \"id\"");
  auto [it, inserted] = seen.emplace(**id, lineno);
  if (!inserted) {
    return invalid_argument(at + "duplicate id \"" + **id + "\" (first on line " +
                            std::to_string(it->second) + ")");
  }
  return **id;
}

Result<std::vector<DialogueTurn>> read_turns(const json& j, const std::string& at) {
  auto it = j.find("turns");
  if (it == j.end()) return invalid_argument(at + "no \"turns\" array");
  if (!it->is_array())
    return invalid_argument(at + "\"turns\" must be an array, got " + it->type_name());
  std::vector<DialogueTurn> turns;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& t = (*it)[i];
    auto user = t.is_object() ? t.find("user") : t.end();
    auto assistant = t.is_object() ? t.find("assistant") : t.end();
    if (!t.is_object() || user == t.end() || !user->is_string() || assistant == t.end() ||
        !assistant->is_string()) {
      return invalid_argument(at + "turns[" + std::to_string(i) +
                              "] must be {\"user\": string, \"assistant\": string}");
    }
    turns.push_back({user->get<std::string>(), assistant->get<std::string>()});
  }
  return turns;
}

}  // namespace

Result<std::vector<RecallExample>> parse_recall_jsonl(std::istream& in, const std::string& name) {
  std::vector<RecallExample> out;
  std::map<std::string, int64_t> seen;
  bool any_question = false;
  Status first_missing;  // the first line without question/answer, reported if others have one
  Status s = for_each_object(in, name, [&](const json& j, int64_t lineno) -> Status {
    const std::string at = where(name, lineno);
    auto id = read_id(j, at, lineno, seen);
    if (!id.ok()) return id.status();
    auto question = string_field(j, "question", at);
    if (!question.ok()) return question.status();
    auto answer = string_field(j, "answer", at);
    if (!answer.ok()) return answer.status();
    if (*question || *answer) any_question = true;
    if (!*question || !*answer) {
      if (first_missing.ok()) {
        first_missing = invalid_argument(at + "no \"" + (*question ? "answer" : "question") +
                                         "\": a recall line needs \"question\" and \"answer\"");
      }
      return Status();
    }
    auto turns = read_turns(j, at);
    if (!turns.ok()) return turns.status();
    out.push_back({*id, lineno, std::move(*turns), **question, **answer});
    return Status();
  });
  if (!s.ok()) return s;
  if (!any_question) {
    return invalid_argument(name +
                            ": dataset has no questions (recall lines are {\"id\", "
                            "\"turns\", \"question\", \"answer\"})");
  }
  if (!first_missing.ok()) return first_missing;
  return out;
}

Result<std::vector<TextExample>> parse_text_jsonl(std::istream& in, const std::string& name) {
  std::vector<TextExample> out;
  std::map<std::string, int64_t> seen;
  bool any_text = false;
  Status first_missing;
  Status s = for_each_object(in, name, [&](const json& j, int64_t lineno) -> Status {
    const std::string at = where(name, lineno);
    auto id = read_id(j, at, lineno, seen);
    if (!id.ok()) return id.status();
    auto text = string_field(j, "text", at);
    if (!text.ok()) return text.status();
    if (!*text) {
      if (first_missing.ok()) first_missing = invalid_argument(at + "no \"text\" string");
      return Status();
    }
    any_text = true;
    out.push_back({*id, lineno, **text});
    return Status();
  });
  if (!s.ok()) return s;
  if (!any_text) {
    return invalid_argument(name +
                            ": dataset has no texts (perplexity lines are {\"id\", \"text\"})");
  }
  if (!first_missing.ok()) return first_missing;
  return out;
}

Result<std::vector<RecallExample>> load_recall_dataset(const std::string& path) {
  std::error_code ec;
  std::ifstream f(path);
  if (!f || std::filesystem::is_directory(path, ec))
    return not_found("--data: cannot read " + path);
  return parse_recall_jsonl(f, path);
}

Result<std::vector<TextExample>> load_text_dataset(const std::string& path) {
  std::error_code ec;
  std::ifstream f(path);
  if (!f || std::filesystem::is_directory(path, ec))
    return not_found("--data: cannot read " + path);
  return parse_text_jsonl(f, path);
}

std::string normalize_answer(std::string_view text) {
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  size_t begin = 0, end = text.size();
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && (is_space(text[end - 1]) || text[end - 1] == '.' || text[end - 1] == '!' ||
                         text[end - 1] == '?')) {
    --end;
  }
  std::string out(text.substr(begin, end - begin));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool answers_match(std::string_view predicted, std::string_view answer) {
  return normalize_answer(predicted) == normalize_answer(answer);
}

}  // namespace trimserve::cli
