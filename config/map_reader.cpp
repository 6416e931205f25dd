#include "config/map_reader.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <limits>

#include "config/units.h"

namespace trimserve {
namespace {

std::string int_range_text(int64_t min, int64_t max) {
  if (max == std::numeric_limits<int64_t>::max()) {
    return "an integer >= " + std::to_string(min);
  }
  return "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
}

std::string number_range_text(double min, double max, bool max_open) {
  constexpr double kHuge = std::numeric_limits<double>::max();
  if (min == -kHuge && max == kHuge) return "a number";
  if (max == kHuge) return "a number >= " + format_number(min);
  return "a number in [" + format_number(min) + ", " + format_number(max) + (max_open ? ")" : "]");
}

}  // namespace

void DecodeContext::fail(const std::string& path, ConfigMark mark, const std::string& message) {
  if (failed()) return;
  const std::string where = path.empty() ? source_ : path;
  status_ = invalid_argument(where + ": " + message + location(mark));
}

std::string DecodeContext::location(ConfigMark mark) const {
  if (mark.line <= 0) return "";
  return " (at " + source_ + ":" + std::to_string(mark.line) + ":" +
         std::to_string(mark.column) + ")";
}

ConfigMark DecodeContext::mark_of(const std::string& path) const {
  auto it = marks_.find(path);
  return it == marks_.end() ? ConfigMark{} : it->second;
}

std::string join_key_path(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  if (!key.empty() && key.front() == '[') return parent + std::string(key);
  return parent + "." + std::string(key);
}

MapReader::MapReader(const ConfigNode* node, std::string path, DecodeContext* ctx)
    : node_(nullptr), path_(std::move(path)), ctx_(ctx) {
  if (!node || node->kind == ConfigNode::Kind::kNull) return;
  if (node->kind != ConfigNode::Kind::kMap) {
    ctx_->fail(path_, node->mark, "expected a mapping, got " + node->describe());
    return;
  }
  node_ = node;
}

const ConfigNode* MapReader::find(std::string_view key) {
  known_.emplace_back(key);
  const std::string path = join_key_path(path_, key);
  ctx_->note_queried(path);
  if (!node_ || ctx_->failed()) return nullptr;
  for (const ConfigMapEntry& entry : node_->entries) {
    if (entry.key != key) continue;
    ctx_->record(path, entry.value.kind == ConfigNode::Kind::kNull ? entry.key_mark
                                                                   : entry.value.mark);
    return entry.value.kind == ConfigNode::Kind::kNull ? nullptr : &entry.value;
  }
  return nullptr;
}

void MapReader::fail(std::string_view key, const ConfigNode& node, const std::string& message) {
  ctx_->fail(join_key_path(path_, key), node.mark, message);
}

void MapReader::read_string(std::string_view key, std::string* out) {
  const ConfigNode* node = find(key);
  if (!node) return;
  if (node->kind != ConfigNode::Kind::kScalar) {
    fail(key, *node, "expected a string, got " + node->describe());
    return;
  }
  *out = node->scalar;
}

void MapReader::read_bool(std::string_view key, bool* out) {
  const ConfigNode* node = find(key);
  if (!node) return;
  if (node->kind == ConfigNode::Kind::kScalar) {
    std::string text = node->scalar;
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    // YAML 1.2 booleans only: "yes"/"on" are too easy to mistake for strings.
    if (text == "true" || text == "false") {
      *out = text == "true";
      return;
    }
  }
  fail(key, *node, "expected true or false, got " + node->describe());
}

void MapReader::read_int(std::string_view key, int64_t* out, int64_t min, int64_t max) {
  const ConfigNode* node = find(key);
  if (!node) return;
  std::optional<int64_t> value;
  if (node->kind == ConfigNode::Kind::kScalar) value = parse_integer(node->scalar);
  if (!value || *value < min || *value > max) {
    fail(key, *node, "expected " + int_range_text(min, max) + ", got " + node->describe());
    return;
  }
  *out = *value;
}

void MapReader::read_int(std::string_view key, int* out, int min, int max) {
  int64_t value = *out;
  read_int(key, &value, min, max);
  *out = static_cast<int>(value);  // in [min, max] whether or not the read succeeded
}

void MapReader::read_optional_uint(std::string_view key, std::optional<uint64_t>* out) {
  const ConfigNode* node = find(key);
  if (!node) return;
  std::optional<int64_t> value;
  if (node->kind == ConfigNode::Kind::kScalar) value = parse_integer(node->scalar);
  if (!value || *value < 0) {
    fail(key, *node,
         "expected " + int_range_text(0, std::numeric_limits<int64_t>::max()) +
             " or null, got " + node->describe());
    return;
  }
  *out = static_cast<uint64_t>(*value);
}

void MapReader::read_number(std::string_view key, double* out, double min, double max,
                            bool max_open) {
  std::optional<double> value = *out;
  read_optional_number(key, &value, min, max, max_open);
  if (value) *out = *value;
}

void MapReader::read_optional_number(std::string_view key, std::optional<double>* out,
                                     double min, double max, bool max_open) {
  const ConfigNode* node = find(key);
  if (!node) return;
  std::optional<double> value;
  if (node->kind == ConfigNode::Kind::kScalar) value = parse_number(node->scalar);
  if (!value || *value < min || *value > max || (max_open && *value == max)) {
    fail(key, *node,
         "expected " + number_range_text(min, max, max_open) + ", got " + node->describe());
    return;
  }
  *out = *value;
}

void MapReader::read_byte_size(std::string_view key, int64_t* out, int64_t min) {
  const ConfigNode* node = find(key);
  if (!node) return;
  std::optional<int64_t> value;
  if (node->kind == ConfigNode::Kind::kScalar) value = parse_byte_size(node->scalar);
  if (!value || *value < min) {
    const std::string bound = min > 0 ? " >= " + format_byte_size(min) : "";
    fail(key, *node,
         "expected a byte size" + bound + " (e.g. 4096, 16KiB, 8MiB, 2GiB), got " +
             node->describe());
    return;
  }
  *out = *value;
}

void MapReader::read_duration_s(std::string_view key, double* out) {
  const ConfigNode* node = find(key);
  if (!node) return;
  std::optional<double> value;
  if (node->kind == ConfigNode::Kind::kScalar) value = parse_duration_s(node->scalar);
  if (!value) {
    fail(key, *node,
         "expected a duration in seconds (e.g. 30, 1.5s, 500ms, 5m, 2h), got " +
             node->describe());
    return;
  }
  *out = *value;
}

void MapReader::read_string_list(std::string_view key, std::vector<std::string>* out,
                                 bool secret) {
  const ConfigNode* node = find(key);
  if (!node) return;
  const auto shown = [&](const ConfigNode& n) {
    return secret && n.kind == ConfigNode::Kind::kScalar ? std::string("a string")
                                                         : n.describe();
  };
  if (node->kind != ConfigNode::Kind::kList) {
    fail(key, *node, "expected a list of strings, got " + shown(*node));
    return;
  }
  std::vector<std::string> values;
  for (size_t i = 0; i < node->items.size(); ++i) {
    const ConfigNode& item = node->items[i];
    if (item.kind != ConfigNode::Kind::kScalar) {
      fail(std::string(key) + "[" + std::to_string(i) + "]", item,
           "expected a string, got " + shown(item));
      return;
    }
    ctx_->record(join_key_path(path_, key) + "[" + std::to_string(i) + "]", item.mark);
    values.push_back(item.scalar);
  }
  *out = std::move(values);
}

MapReader MapReader::child(std::string_view key) {
  const ConfigNode* node = find(key);
  return MapReader(node, join_key_path(path_, key), ctx_);
}

void MapReader::finish() {
  if (!node_ || ctx_->failed()) return;
  const auto& entries = node_->entries;
  for (size_t i = 0; i < entries.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (entries[j].key == entries[i].key) {
        ctx_->fail(join_key_path(path_, entries[i].key), entries[i].key_mark,
                   "duplicate key (first set at line " +
                       std::to_string(entries[j].key_mark.line) + ")");
        return;
      }
    }
  }
  for (const ConfigMapEntry& entry : entries) {
    if (std::find(known_.begin(), known_.end(), entry.key) != known_.end()) continue;
    std::string expected;
    for (const std::string& k : known_) expected += (expected.empty() ? "" : ", ") + k;
    ctx_->fail(join_key_path(path_, entry.key), entry.key_mark,
               "unknown key (expected one of: " + expected + ")");
    return;
  }
}

}  // namespace trimserve
