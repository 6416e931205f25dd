// The embedded default model: what `serve`, `generate` and `eval` run when no --model (or
// model.path) is given. It is trained by the project itself (tools/retrain.sh), ships in the
// source tree as deploy/models/<kDefaultModelName>/, and is looked for, in order, at
//   1. <directory of the trimserve executable>/../share/trimserve/models/<name>  (installed)
//   2. <source tree of this build>/deploy/models/<name>                           (built here)
// so both an installed binary and build/trimserve find it without configuration.
#pragma once

#include <string>

#include "common/status.h"

namespace trimserve::cli {

inline constexpr const char* kDefaultModelName = "trimchat-6m";

// The first of the places above holding a config.json. kNotFound naming every place looked at
// (and how to give a model instead) otherwise.
Result<std::string> default_model_dir();

// `given` when not empty, else default_model_dir().
Result<std::string> model_dir_or_default(const std::string& given);

}  // namespace trimserve::cli
