// `trimserve generate --session-id ID`: a multi-turn conversation replayed from the CLI.
//
// Each stdin line is one user turn: a JSON string (the user's message) or a message object
// ({"role": ..., "content": ...}). Every turn re-renders the whole conversation with the chat
// template, and the session (kvpool SessionStore + KvPool) reuses the compressed KV cache for
// the longest common token prefix with what the previous turns fed — rolling back where the
// re-rendered history diverges (e.g. a template that drops <think> blocks) — so only the rest
// is prefilled. One JSON object per generated turn on stdout: turn, text, prompt_tokens,
// cached_tokens, cache ("new" | "memory" | "disk": where the reused prefix came from),
// completion_tokens, finish_reason, kv {retained, offered}. A line whose message has role
// "assistant" joins the conversation without generating (replaying a recorded conversation).
//
// With --session-dir the session is written there after every turn (scheduler/
// session_manager.h) and a later run with the same --session-id resumes from the file.
#pragma once

#include "server/cli/generate_options.h"
#include "server/cli/model_bundle.h"

namespace trimserve::cli {

// Returns the process exit code; a bad line is reported with its line number (exit 2 at the
// end), the session continues with the next line.
int run_session_turns(const GenerateOptions& opt, const ModelBundle& model);

}  // namespace trimserve::cli
