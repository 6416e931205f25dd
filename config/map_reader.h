// MapReader: typed reads of one mapping of a ConfigNode tree, with the key path and source
// position in every error. Decoding code reads each key it knows; finish() then rejects the
// keys nobody asked for (typos) and repeated keys.
//
// Errors are sticky: the first one is kept in the shared DecodeContext and every later read is
// a no-op, so decoding code is a straight list of reads with one check at the end.
// A key that is absent, or present with a null value (`key:` or `key: ~`), keeps the value
// already in the output (the in-class default).
//
// Message shape: "<path>: <what was wrong> (at <source>:<line>:<column>)", e.g.
//   server.port: expected an integer in [0, 65535], got "http" (at trimserve.yaml:3:9)
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "config/config_node.h"

namespace trimserve {

// State shared by all readers of one document.
class DecodeContext {
 public:
  explicit DecodeContext(std::string source) : source_(std::move(source)) {}

  bool failed() const { return !status_.ok(); }
  const Status& status() const { return status_; }
  // Records the error unless one is already recorded. `path` empty = the whole document.
  void fail(const std::string& path, ConfigMark mark, const std::string& message);

  // " (at trimserve.yaml:3:9)", or "" when the mark is unknown.
  std::string location(ConfigMark mark) const;
  const std::string& source() const { return source_; }

  // Where each key path that was present in the document was written (for errors found
  // later, by validate()).
  void record(const std::string& path, ConfigMark mark) { marks_[path] = mark; }
  ConfigMark mark_of(const std::string& path) const;

  // Every key path a reader asked for, present or not, in order (lets tests check that the
  // example config documents every key).
  const std::vector<std::string>& queried_keys() const { return queried_; }
  void note_queried(const std::string& path) { queried_.push_back(path); }

 private:
  std::string source_;
  Status status_;
  std::map<std::string, ConfigMark> marks_;
  std::vector<std::string> queried_;
};

// "server" + "port" -> "server.port"; "" + "server" -> "server".
std::string join_key_path(const std::string& parent, std::string_view key);

class MapReader {
 public:
  // `node` may be null (section absent) or kNull: all reads keep defaults. Any other non-map
  // node is an error ("<path>: expected a mapping, got ...").
  MapReader(const ConfigNode* node, std::string path, DecodeContext* ctx);

  const std::string& path() const { return path_; }
  DecodeContext* context() const { return ctx_; }

  void read_string(std::string_view key, std::string* out);
  void read_bool(std::string_view key, bool* out);
  // Integers within [min, max], inclusive.
  void read_int(std::string_view key, int64_t* out, int64_t min, int64_t max);
  void read_int(std::string_view key, int* out, int min, int max);
  // Unset stays unset on null; a value must be in [0, INT64_MAX].
  void read_optional_uint(std::string_view key, std::optional<uint64_t>* out);
  // Numbers within [min, max]; `max_open` makes the upper bound exclusive.
  void read_number(std::string_view key, double* out, double min, double max,
                   bool max_open = false);
  void read_optional_number(std::string_view key, std::optional<double>* out, double min,
                            double max, bool max_open = false);
  // Byte sizes ("8MiB", 4096) of at least `min` bytes.
  void read_byte_size(std::string_view key, int64_t* out, int64_t min = 0);
  // Durations in seconds ("30", "1.5s", "500ms", "5m", "2h").
  void read_duration_s(std::string_view key, double* out);
  // Lists of strings. `secret` keeps element values out of messages (API keys).
  void read_string_list(std::string_view key, std::vector<std::string>* out, bool secret = false);

  // One of a fixed set of names: "unknown value 'x' (expected a|b|c)".
  template <class E>
  void read_choice(std::string_view key, E* out,
                   std::initializer_list<std::pair<std::string_view, E>> choices) {
    const ConfigNode* node = find(key);
    if (!node) return;
    std::string names;
    for (const auto& choice : choices) {
      names += (names.empty() ? "" : "|") + std::string(choice.first);
    }
    if (node->kind != ConfigNode::Kind::kScalar) {
      fail(key, *node, "expected one of " + names + ", got " + node->describe());
      return;
    }
    for (const auto& [name, value] : choices) {
      if (node->scalar == name) {
        *out = value;
        return;
      }
    }
    fail(key, *node, "unknown value '" + node->scalar + "' (expected " + names + ")");
  }

  // A nested mapping (possibly absent: then all its reads keep defaults).
  MapReader child(std::string_view key);

  // The value under `key`, marking the key as known; nullptr when absent, null, or after an
  // error. For values with a shape of their own (kvpool.capacity, tenants).
  const ConfigNode* find(std::string_view key);

  // Records an error at `node` for path "<this path>.<key>" (key may hold "[i]" suffixes).
  void fail(std::string_view key, const ConfigNode& node, const std::string& message);

  // Rejects repeated keys and keys no read asked for. Call after all reads.
  void finish();

 private:
  const ConfigNode* node_;  // null or a map
  std::string path_;
  DecodeContext* ctx_;
  std::vector<std::string> known_;
};

}  // namespace trimserve
