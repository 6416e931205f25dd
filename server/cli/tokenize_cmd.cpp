// `trimserve tokenize` (a contract other tools call, issue 3):
//   default     each stdin line is a JSON string -> prints a JSON array of ids per line
//   --decode    each stdin line is a JSON array of ids -> prints a JSON string per line
//   --chat FILE ({"messages": [...], "add_generation_prompt": true, ...}) -> prints
//               {"prompt": "...", "ids": [...]}
// A bad line is reported on stderr with its line number and the command exits 2 after
// processing the remaining lines (so one bad input does not hide the others' answers).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "server/cli/cli_args.h"
#include "server/cli/commands.h"
#include "server/cli/default_model.h"
#include "server/cli/exit_codes.h"
#include "server/cli/model_bundle.h"

namespace trimserve::cli {

namespace {

void print_help() {
  std::printf(
      "usage: trimserve tokenize [--model DIR] [--decode | --chat FILE.json] [--no-special]\n\n"
      "  (default)      each stdin line is a JSON string; prints its token ids as a JSON array\n"
      "  --decode       each stdin line is a JSON array of ids; prints the text as a JSON string\n"
      "  --chat FILE    renders {\"messages\": [...], \"add_generation_prompt\": bool,\n"
      "                 \"enable_thinking\": bool, \"tools\": [...]} with the model's chat template;\n"
      "                 prints {\"prompt\": \"...\", \"ids\": [...]}\n"
      "  --no-special   treat special-token text as plain text when encoding\n"
      "  --skip-special drop special tokens when decoding\n");
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int render_chat(const ModelBundle& model, const std::string& path, bool parse_special) {
  std::ifstream f(path);
  if (!f) return report("tokenize", not_found("--chat: cannot read " + path));
  // ordered_json: the template's tojson output (tool schemas, arguments) follows key order.
  auto doc = nlohmann::ordered_json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("messages")) {
    return report("tokenize", invalid_argument("--chat: " + path +
                                               " must be a JSON object with a \"messages\" array"));
  }
  if (!model.chat_template) {
    return report("tokenize", failed_precondition("the model has no chat template"));
  }
  ChatRenderOptions ro;
  ro.add_generation_prompt = doc.value("add_generation_prompt", false);
  if (doc.contains("enable_thinking") && doc["enable_thinking"].is_boolean()) {
    ro.enable_thinking = doc["enable_thinking"].get<bool>();
  }
  if (doc.contains("tools")) ro.tools = doc["tools"];
  auto text = model.chat_template->render(doc["messages"], ro);
  if (!text.ok()) return report("tokenize", text.status());
  nlohmann::json out = {{"prompt", *text}, {"ids", model.tokenizer->encode(*text, parse_special)}};
  std::printf("%s\n", dump(out).c_str());
  return kExitOk;
}

}  // namespace

int tokenize_main(int argc, char** argv) {
  CliArgs args({"model", "chat"}, {"decode", "no-special", "skip-special", "help"});
  if (Status s = args.parse(argc, argv); !s.ok()) return report("tokenize", s);
  if (args.has("help")) {
    print_help();
    return kExitOk;
  }
  auto model_dir = model_dir_or_default(args.get_or("model", ""));
  if (!model_dir.ok()) return report("tokenize", model_dir.status());
  if (args.has("decode") && args.has("chat")) {
    return report("tokenize", invalid_argument("--decode and --chat are exclusive"));
  }
  auto model = load_model_bundle(*model_dir, /*load_weights=*/false);
  if (!model.ok()) return report("tokenize", model.status());
  const bool parse_special = !args.has("no-special");
  if (auto chat = args.get("chat")) return render_chat(*model, *chat, parse_special);

  const bool decode = args.has("decode");
  int rc = kExitOk;
  std::string line;
  for (int64_t lineno = 1; std::getline(std::cin, line); ++lineno) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    auto bad = [&](const std::string& why) {
      std::fprintf(stderr, "trimserve tokenize: line %lld: %s\n", static_cast<long long>(lineno), why.c_str());
      std::printf("null\n");  // keep output lines aligned with input lines
      rc = kExitUsage;
    };
    if (!decode) {
      if (!j.is_string()) {
        bad("expected a JSON string");
        continue;
      }
      std::printf("%s\n", dump(model->tokenizer->encode(j.get<std::string>(), parse_special)).c_str());
    } else {
      if (!j.is_array()) {
        bad("expected a JSON array of token ids");
        continue;
      }
      std::vector<int32_t> ids;
      bool ok = true;
      for (const auto& v : j) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
            v.get<int64_t>() >= model->tokenizer->vocab_size()) {
          ok = false;
          break;
        }
        ids.push_back(v.get<int32_t>());
      }
      if (!ok) {
        bad("token ids must be integers in [0, " + std::to_string(model->tokenizer->vocab_size()) + ")");
        continue;
      }
      std::printf("%s\n", dump(model->tokenizer->decode(ids, args.has("skip-special"))).c_str());
    }
    std::fflush(stdout);
  }
  return rc;
}

}  // namespace trimserve::cli
