// Fuzz target: the daemon's YAML config loader — parse_config (YAML, every key decoded and
// type-checked with its path) and validate (the cross-key rules). Every input is either a
// config or an error naming a key; crashes, sanitizer reports and hangs are findings.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config_loader.h"
#include "config/validate.h"

using namespace trimserve;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = parse_config(text, "fuzz.yaml");
  if (config.ok()) (void)validate(*config);
  return 0;
}
