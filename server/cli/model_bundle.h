// ModelBundle: what a command needs from one Hugging Face model directory — the validated
// weights, the tokenizer and (when tokenizer_config.json has one) the chat template — loaded
// with errors that name the file at fault.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/chat_template.h"
#include "engine/tokenizer.h"
#include "engine/weights.h"

namespace trimserve::cli {

struct ModelBundle {
  std::string dir;
  std::shared_ptr<const ModelWeights> weights;  // null when loaded with load_weights = false
  std::unique_ptr<Tokenizer> tokenizer;
  std::optional<ChatTemplate> chat_template;     // absent when the model ships none
  // Tokens that end generation: config.json eos_token_id plus generation_config.json's.
  std::vector<int64_t> eos_token_ids;
};

// Errors: the directory is missing (kNotFound), config.json / tokenizer.json / weights invalid
// (their loaders' messages, prefixed by the directory).
Result<ModelBundle> load_model_bundle(const std::string& dir, bool load_weights);

}  // namespace trimserve::cli
