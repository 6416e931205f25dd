#include "engine/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "engine/jinja_value.h"

namespace trimserve {

namespace {

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open '" + path.string() + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return data_loss("error reading '" + path.string() + "'");
  return ss.str();
}

// A special token in tokenizer_config.json: "text", {"content": "text", ...} or null.
std::optional<std::string> token_text(const nlohmann::json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  return std::nullopt;
}

Status check_messages(const nlohmann::ordered_json& messages) {
  if (!messages.is_array()) return invalid_argument("messages must be a JSON array");
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return invalid_argument(where + " must be a JSON object");
    auto role = m.find("role");
    if (role == m.end()) return invalid_argument(where + " has no \"role\"");
    if (!role->is_string()) return invalid_argument(where + ".role must be a string");
  }
  return Status();
}

Result<jinja::Value> to_value(const nlohmann::ordered_json& j, const char* what) {
  auto v = jinja::from_json(j);
  if (!v.ok()) return v.status().with_context(what);
  return v;
}

}  // namespace

Result<ChatTemplate> ChatTemplate::parse(const std::string& source,
                                         std::optional<std::string> bos_token,
                                         std::optional<std::string> eos_token) {
  auto t = jinja::Template::parse(source);
  if (!t.ok()) return t.status().with_context("chat template");
  ChatTemplate ct;
  ct.templates_.emplace("default", std::move(t).value());
  ct.bos_token_ = std::move(bos_token);
  ct.eos_token_ = std::move(eos_token);
  return ct;
}

Result<ChatTemplate> ChatTemplate::load_model_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path root(dir);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return not_found("model directory '" + dir + "' does not exist");

  nlohmann::json config = nlohmann::json::object();
  const fs::path config_path = root / "tokenizer_config.json";
  if (fs::exists(config_path, ec)) {
    auto text = read_file(config_path);
    if (!text.ok()) return text.status();
    config = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (config.is_discarded() || !config.is_object()) {
      return data_loss("'" + config_path.string() + "' is not a JSON object");
    }
  }

  std::vector<std::pair<std::string, std::string>> sources;
  const fs::path jinja_path = root / "chat_template.jinja";
  if (fs::exists(jinja_path, ec)) {
    auto text = read_file(jinja_path);
    if (!text.ok()) return text.status();
    sources.emplace_back("default", std::move(text).value());
  } else if (auto it = config.find("chat_template"); it != config.end() && !it->is_null()) {
    if (it->is_string()) {
      sources.emplace_back("default", it->get<std::string>());
    } else if (it->is_array()) {
      for (const auto& entry : *it) {
        auto name = entry.find("name");
        auto tmpl = entry.find("template");
        if (!entry.is_object() || name == entry.end() || tmpl == entry.end() ||
            !name->is_string() || !tmpl->is_string()) {
          return data_loss("chat_template list entries must be {\"name\", \"template\"} strings");
        }
        sources.emplace_back(name->get<std::string>(), tmpl->get<std::string>());
      }
    } else {
      return data_loss("chat_template must be a string or a list of named templates");
    }
  }
  if (sources.empty()) return not_found("model directory '" + dir + "' has no chat template");

  ChatTemplate ct;
  for (auto& [name, source] : sources) {
    auto t = jinja::Template::parse(source);
    if (!t.ok()) return t.status().with_context("chat template '" + name + "'");
    ct.templates_.insert_or_assign(name, std::move(t).value());
  }
  if (ct.templates_.find("default") == ct.templates_.end()) {
    return not_found("model has several chat templates but none named \"default\"");
  }
  ct.bos_token_ = token_text(config, "bos_token");
  ct.eos_token_ = token_text(config, "eos_token");
  return ct;
}

Result<std::string> ChatTemplate::render(const nlohmann::ordered_json& messages,
                                         const ChatRenderOptions& options) const {
  TS_RETURN_IF_ERROR(check_messages(messages));
  if (!options.extra.is_null() && !options.extra.is_object()) {
    return invalid_argument("extra template variables must be a JSON object");
  }

  // Later entries override earlier ones, which gives transformers' precedence.
  std::vector<std::pair<std::string, jinja::Value>> context;
  const auto& bos = options.bos_token ? options.bos_token : bos_token_;
  const auto& eos = options.eos_token ? options.eos_token : eos_token_;
  if (bos) context.emplace_back("bos_token", jinja::Value::string(*bos));
  if (eos) context.emplace_back("eos_token", jinja::Value::string(*eos));
  if (options.extra.is_object()) {
    for (const auto& [key, value] : options.extra.items()) {
      auto v = to_value(value, "extra template variable");
      if (!v.ok()) return v.status();
      context.emplace_back(key, std::move(v).value());
    }
  }
  auto msgs = to_value(messages, "messages");
  if (!msgs.ok()) return msgs.status();
  context.emplace_back("messages", std::move(msgs).value());
  auto tools = to_value(options.tools, "tools");
  if (!tools.ok()) return tools.status();
  context.emplace_back("tools", std::move(tools).value());
  auto docs = to_value(options.documents, "documents");
  if (!docs.ok()) return docs.status();
  context.emplace_back("documents", std::move(docs).value());
  context.emplace_back("add_generation_prompt", jinja::Value::boolean(options.add_generation_prompt));
  if (options.enable_thinking) {
    context.emplace_back("enable_thinking", jinja::Value::boolean(*options.enable_thinking));
  }

  auto chosen = templates_.find("default");
  if (!options.tools.is_null()) {
    if (auto tool_use = templates_.find("tool_use"); tool_use != templates_.end()) chosen = tool_use;
  }
  jinja::RenderOptions render_options;
  render_options.limits = options.limits;
  auto out = chosen->second.render(context, render_options);
  if (!out.ok()) return out.status().with_context("chat template");
  return out;
}

}  // namespace trimserve
