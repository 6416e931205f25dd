// Writing a command's result files (bench, eval): the output directory, checked text files and
// the UTC date stamped into them — one place, so every command reports a failed write the same
// way instead of leaving a missing or truncated file behind silently.
#pragma once

#include <filesystem>
#include <string>

#include "common/status.h"

namespace trimserve::cli {

// Creates `dir` and its parents. kNotFound "cannot create DIR: reason" when it cannot.
Status make_output_dir(const std::filesystem::path& dir);

// Writes `text` to `path` (replacing it). kNotFound "cannot write PATH" when the write fails.
Status write_text_file(const std::filesystem::path& path, const std::string& text);

// Now, as ISO 8601 UTC ("2026-11-23T21:42:52Z").
std::string utc_timestamp();

}  // namespace trimserve::cli
