#include "config/config_loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/config_decode.h"
#include "config/map_reader.h"
#include "config/validate.h"

namespace trimserve {
namespace {

// A config file is a few KiB; anything near this is a mistake (a model file passed as
// --config), and refusing it early avoids parsing gigabytes.
constexpr size_t kMaxConfigBytes = 4 << 20;
// Far deeper than any valid config; stops recursion through self-referencing aliases
// (`&a [*a]`), which yaml-cpp resolves into a cyclic graph.
constexpr int kMaxDepth = 32;

ConfigMark to_mark(const YAML::Mark& mark) {
  if (mark.is_null()) return {};
  return {mark.line + 1, mark.column + 1};
}

Status yaml_error(const std::string& source, const YAML::Mark& mark, const std::string& what) {
  std::string where;
  if (!mark.is_null()) {
    where = " at line " + std::to_string(mark.line + 1) + ", column " +
            std::to_string(mark.column + 1);
  }
  return invalid_argument(source + ": invalid YAML" + where + ": " + what);
}

Status convert(const YAML::Node& node, int depth, const std::string& source, ConfigNode* out) {
  out->mark = to_mark(node.Mark());
  if (depth > kMaxDepth) {
    return yaml_error(source, node.Mark(), "nested deeper than " + std::to_string(kMaxDepth) +
                                               " levels");
  }
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out->kind = ConfigNode::Kind::kNull;
      return Status();
    case YAML::NodeType::Scalar:
      out->kind = ConfigNode::Kind::kScalar;
      out->scalar = node.Scalar();
      return Status();
    case YAML::NodeType::Sequence:
      out->kind = ConfigNode::Kind::kList;
      for (const YAML::Node& item : node) {
        out->items.emplace_back();
        TS_RETURN_IF_ERROR(convert(item, depth + 1, source, &out->items.back()));
      }
      return Status();
    case YAML::NodeType::Map:
      out->kind = ConfigNode::Kind::kMap;
      for (const auto& pair : node) {
        if (pair.first.Type() != YAML::NodeType::Scalar) {
          return yaml_error(source, pair.first.Mark(), "mapping keys must be plain names");
        }
        ConfigMapEntry entry;
        entry.key = pair.first.Scalar();
        entry.key_mark = to_mark(pair.first.Mark());
        TS_RETURN_IF_ERROR(convert(pair.second, depth + 1, source, &entry.value));
        out->entries.push_back(std::move(entry));
      }
      return Status();
  }
  return yaml_error(source, node.Mark(), "unsupported node");
}

// validate() knows key paths but not positions; the decoder recorded where each key was
// written. Uses the innermost recorded path that encloses the one in the message
// ("tenants[0].limits.kv_share" when written, else "tenants[0].limits", else "tenants[0]").
Status add_location(const Status& status, const DecodeContext& ctx) {
  const std::string& message = status.message();
  const size_t colon = message.find(": ");
  if (colon == std::string::npos) return status;
  std::string path = message.substr(0, colon);
  while (!path.empty()) {
    ConfigMark mark = ctx.mark_of(path);
    if (mark.line > 0) return Status(status.code(), message + ctx.location(mark));
    const size_t cut = path.find_last_of(".[");
    if (cut == std::string::npos) break;
    path.resize(cut);
  }
  return status;
}

// Counts the documents of a YAML stream through the parser's events, stopping at the second.
// YAML::LoadAll is not used: yaml-cpp 0.7 never finishes some streams (one starting with ','
// yields empty documents forever, found by tests/fuzz/config_fuzz), so a stream whose next
// document starts where the last one did is a parse error here.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  std::vector<YAML::Mark> starts;
};

// kOk with the number of documents (0, 1 or 2 meaning "more than one"), or the parse error.
Result<int> count_documents(const std::string& yaml_text, const std::string& source_name) {
  std::istringstream in(yaml_text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  while (counter.starts.size() < 2 && parser.HandleNextDocument(counter)) {
    const auto& s = counter.starts;
    if (s.size() == 2 && s[0].pos == s[1].pos) {
      return yaml_error(source_name, s[1], "unexpected character (not a YAML document)");
    }
  }
  return static_cast<int>(counter.starts.size());
}

}  // namespace

Result<ConfigNode> parse_config_tree(const std::string& yaml_text,
                                     const std::string& source_name) {
  try {
    Result<int> documents = count_documents(yaml_text, source_name);
    if (!documents.ok()) return documents.status();
    if (*documents > 1) {
      return invalid_argument(source_name + ": expected one YAML document, found more than one");
    }
    ConfigNode root;
    if (*documents == 0) return root;
    TS_RETURN_IF_ERROR(convert(YAML::Load(yaml_text), 0, source_name, &root));
    return root;
  } catch (const YAML::Exception& e) {
    return yaml_error(source_name, e.mark, e.msg);
  } catch (const std::exception& e) {
    return invalid_argument(source_name + ": cannot parse YAML: " + e.what());
  }
}

Result<DaemonConfig> parse_config(const std::string& yaml_text, const std::string& source_name) {
  Result<ConfigNode> tree = parse_config_tree(yaml_text, source_name);
  if (!tree.ok()) return tree.status();
  DecodeContext ctx(source_name);
  Result<DaemonConfig> config = decode_config(*tree, &ctx);
  if (!config.ok()) return config.status();
  Status valid = validate(*config);
  if (!valid.ok()) return add_location(valid, ctx);
  return config;
}

Result<DaemonConfig> load_config(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return invalid_argument("config file '" + path + "': is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return not_found("config file '" + path + "': cannot open (" + std::strerror(errno) + ")");
  }
  // Read in blocks rather than by size: `--config <(generate-config)` is a pipe.
  std::string text;
  char block[16384];
  while (in.read(block, sizeof block) || in.gcount() > 0) {
    text.append(block, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) {
      return invalid_argument("config file '" + path + "': larger than " +
                              std::to_string(kMaxConfigBytes >> 20) +
                              " MiB, too large for a config file");
    }
  }
  if (in.bad()) return invalid_argument("config file '" + path + "': read error");
  return parse_config(text, path);
}

}  // namespace trimserve
