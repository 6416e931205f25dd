// Flags of `trimserve generate` (the contract of issue 3), parsed and checked before any
// weight is touched where possible; the KV flags and the prompt need the model to resolve.
//
//   trimserve generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3 | --messages FILE.json)
//     [--max-tokens N] [--temperature F] [--top-p F] [--top-k N] [--min-p F] [--seed N]
//     [--presence-penalty F] [--frequency-penalty F] [--repetition-penalty F]
//     [--stop TEXT] [--stop-token-ids 1,2] [--ignore-eos]
//     [--kv-policy full|window|trimkv|trimkv-global] [--kv-budget M] [--kv-buffer N]
//     [--window-sinks N] [--floor-ratio F] [--prefill-chunk N] [--page-size N] [--threads N]
//     [--logits-out FILE.npy] [--dump-kv FILE.json] [--json] [--enable-thinking true|false]
//   trimserve generate --model DIR --session-id ID [--session-dir DIR] [options]
//                                                        (one turn per stdin line)
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "engine/sampling_params.h"
#include "kvpool/types.h"
#include "server/cli/cli_args.h"
#include "server/cli/model_bundle.h"

namespace trimserve::cli {

struct GenerateOptions {
  bool help = false;
  std::string model_dir;
  std::optional<std::string> prompt;
  std::optional<std::vector<int64_t>> prompt_ids;
  std::optional<std::string> messages_file;
  std::optional<std::string> session_id;  // multi-turn mode: turns come from stdin
  std::optional<std::string> session_dir;  // persist the session there (needs session_id)
  std::optional<bool> enable_thinking;  // unset: the template's default
  SamplingParams sampling;
  CliArgs args{{}, {}};     // kept to resolve the KV flags once the model is known
  SequenceKvConfig kv;      // resolved by resolve_generate_options
  int64_t prefill_chunk = 512;
  int64_t page_size = 16;
  int threads = 0;
  std::optional<std::string> logits_out;
  std::optional<std::string> dump_kv_path;
  bool want_logits = false;
  bool json = false;
};

// Usage errors name the flag. Sampling params are validated against the model later.
Result<GenerateOptions> parse_generate_options(int argc, char** argv);
void print_generate_help(std::FILE* out);

// Resolves the KV flags against the model and validates the sampling params (vocab size).
Status resolve_generate_options(GenerateOptions& opt, const ModelBundle& model);

// Renders `messages` with the model's chat template (generation prompt added) and encodes it.
// Errors: no chat template, a template error, an empty result.
Result<std::vector<int32_t>> encode_chat(const GenerateOptions& opt, const ModelBundle& model,
                                         const nlohmann::ordered_json& messages);

// Errors unless prompt + max_tokens fits the model's context (kOutOfRange).
Status check_context_length(const GenerateOptions& opt, const ModelBundle& model, size_t prompt_tokens);

// The prompt's token ids: --prompt-ids as given (checked against V), --prompt encoded,
// --messages rendered with the chat template (generation prompt added) then encoded. Errors:
// out-of-range ids, an unreadable/invalid messages file, no chat template, an empty prompt,
// a prompt + max_tokens longer than max_position_embeddings (kOutOfRange).
Result<std::vector<int32_t>> build_prompt(const GenerateOptions& opt, const ModelBundle& model);

}  // namespace trimserve::cli
