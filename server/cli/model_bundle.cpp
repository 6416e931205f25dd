#include "server/cli/model_bundle.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace trimserve::cli {

namespace {

// generation_config.json may list more EOS ids than config.json (Qwen3 instruct models end
// turns with <|im_end|> and documents with <|endoftext|>).
Status add_generation_config_eos(const std::string& dir, std::vector<int64_t>& eos) {
  const auto path = std::filesystem::path(dir) / "generation_config.json";
  std::ifstream f(path);
  if (!f) return Status();  // optional file
  auto j = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return invalid_argument(path.string() + ": not a JSON object");
  }
  auto add = [&](const nlohmann::json& v) {
    if (v.is_number_integer() && std::find(eos.begin(), eos.end(), v.get<int64_t>()) == eos.end()) {
      eos.push_back(v.get<int64_t>());
    }
  };
  if (auto it = j.find("eos_token_id"); it != j.end()) {
    if (it->is_array()) {
      for (const auto& v : *it) add(v);
    } else {
      add(*it);
    }
  }
  return Status();
}

}  // namespace

Result<ModelBundle> load_model_bundle(const std::string& dir, bool load_weights) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return not_found("model directory '" + dir + "' does not exist");
  ModelBundle b;
  b.dir = dir;
  if (load_weights) {
    auto w = load_model_weights(dir);
    if (!w.ok()) return w.status();
    b.weights = std::shared_ptr<const ModelWeights>(std::move(*w));
  }
  auto tok = Tokenizer::load_model_dir(dir);
  if (!tok.ok()) return tok.status();
  b.tokenizer = std::move(*tok);
  if (fs::exists(fs::path(dir) / "tokenizer_config.json")) {
    auto tmpl = ChatTemplate::load_model_dir(dir);
    if (tmpl.ok()) {
      b.chat_template = std::move(*tmpl);
    } else if (tmpl.status().code() != ErrorCode::kNotFound) {
      return tmpl.status();  // a template that is there but broken is an error, not "none"
    }
  }
  if (b.weights) b.eos_token_ids = b.weights->config.eos_token_ids;
  TS_RETURN_IF_ERROR(add_generation_config_eos(dir, b.eos_token_ids));
  return b;
}

}  // namespace trimserve::cli
