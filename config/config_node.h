// ConfigNode: a parsed config document as a small tree of scalars, mappings and lists, each
// carrying its source position. The loader builds it from YAML (config_loader.cpp is the only
// yaml-cpp user); decoding into DaemonConfig works on this tree, so it neither sees yaml-cpp
// nor its exceptions.
#pragma once

#include <string>
#include <vector>

namespace trimserve {

// 1-based position in the source text; line 0 means unknown.
struct ConfigMark {
  int line = 0;
  int column = 0;
};

struct ConfigMapEntry;

struct ConfigNode {
  enum class Kind { kNull, kScalar, kMap, kList };

  Kind kind = Kind::kNull;
  ConfigMark mark;
  std::string scalar;                   // kScalar: the text as written (quotes removed)
  std::vector<ConfigMapEntry> entries;  // kMap: in file order; keys may repeat (the decoder
                                        // rejects duplicates with their position)
  std::vector<ConfigNode> items;        // kList

  // For "got ..." in messages: "\"http\"" for a scalar (quoted, escaped), "a mapping",
  // "a list", "null".
  std::string describe() const;
};

struct ConfigMapEntry {
  std::string key;
  ConfigMark key_mark;
  ConfigNode value;
};

}  // namespace trimserve
