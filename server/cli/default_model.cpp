#include "server/cli/default_model.h"

#include <filesystem>
#include <system_error>
#include <vector>

namespace trimserve::cli {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> candidates() {
  std::vector<fs::path> dirs;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path().parent_path() / "share" / "trimserve" / "models" / kDefaultModelName);
#ifdef TRIMSERVE_SOURCE_DIR
  dirs.push_back(fs::path(TRIMSERVE_SOURCE_DIR) / "deploy" / "models" / kDefaultModelName);
#endif
  return dirs;
}

}  // namespace

Result<std::string> default_model_dir() {
  std::string looked;
  for (const fs::path& dir : candidates()) {
    std::error_code ec;
    if (fs::is_regular_file(dir / "config.json", ec)) return dir.lexically_normal().string();
    looked += (looked.empty() ? "" : ", ") + dir.lexically_normal().string();
  }
  return not_found(std::string("no model given, and the embedded default model ") + kDefaultModelName +
                   " is not where it ships (looked in " + (looked.empty() ? "nowhere" : looked) +
                   "); give one with --model DIR");
}

Result<std::string> model_dir_or_default(const std::string& given) {
  if (!given.empty()) return given;
  return default_model_dir();
}

}  // namespace trimserve::cli
