// Where the tiny random models written by tools/make_tiny_model.py (the CTest fixture
// fixture_tiny_models) live: $TRIMSERVE_TINY_MODELS/<name>, else <build>/tiny-models/<name>
// beside this test binary's tests/ directory (so a binary run by hand finds them too).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace trimserve::testing {

inline std::string tiny_model_dir(const std::string& name) {
  if (const char* dir = std::getenv("TRIMSERVE_TINY_MODELS")) return std::string(dir) + "/" + name;
  namespace fs = std::filesystem;
  return (fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "tiny-models" / name).string();
}

}  // namespace trimserve::testing
