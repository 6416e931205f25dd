#include "config/config_node.h"

#include <cstdio>

namespace trimserve {

std::string ConfigNode::describe() const {
  switch (kind) {
    case Kind::kNull: return "null";
    case Kind::kMap: return "a mapping";
    case Kind::kList: return "a list";
    case Kind::kScalar: break;
  }
  // Long values (a pasted certificate, a whole key) are cut: the message must stay one
  // readable line, and it may be logged.
  constexpr size_t kMaxShown = 60;
  std::string out = "\"";
  for (size_t i = 0; i < scalar.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(scalar[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (scalar.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

}  // namespace trimserve
