// `trimserve generate`: one prompt through the CPU engine with the TrimKV-managed KV cache.
// The flags and the --json / --logits-out outputs are a contract other tools call (issue 3).
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/cli/commands.h"
#include "server/cli/exit_codes.h"
#include "server/cli/generate_options.h"
#include "server/cli/generation_loop.h"
#include "server/cli/kv_dump.h"
#include "server/cli/model_bundle.h"
#include "server/cli/npy_writer.h"
#include "server/cli/session_turns.h"

namespace trimserve::cli {

namespace {

Result<Generation> run_one_shot(const ModelBundle& model, const GenerateOptions& opt,
                                std::vector<int32_t> prompt, nlohmann::json* kv_dump) {
  const int64_t total = static_cast<int64_t>(prompt.size()) + opt.sampling.max_tokens;
  auto ctx = make_generation_context(model, opt, total);
  if (!ctx.ok()) return ctx.status();
  SequenceRunnerOptions ro;
  ro.kv = opt.kv;
  ro.prefill_chunk = opt.prefill_chunk;
  auto runner = SequenceRunner::create(*ctx->engine, *ctx->pool, /*seq=*/1, ro);
  if (!runner.ok()) return runner.status();
  auto g = generate(*runner, model, opt, std::move(prompt), /*start=*/0, /*stream=*/!opt.json);
  if (g.ok() && kv_dump) *kv_dump = dump_kv(*ctx->pool, runner->seq(), model.weights->config);
  return g;
}

}  // namespace

int generate_main(int argc, char** argv) {
  auto opt = parse_generate_options(argc, argv);
  if (!opt.ok()) return report("generate", opt.status());
  if (opt->help) {
    print_generate_help(stdout);
    return kExitOk;
  }
  auto model = load_model_bundle(opt->model_dir, /*load_weights=*/true);
  if (!model.ok()) return report("generate", model.status());
  Status resolved = resolve_generate_options(*opt, *model);
  if (!resolved.ok()) return report("generate", resolved);
  if (opt->session_id) return run_session_turns(*opt, *model);
  auto prompt = build_prompt(*opt, *model);
  if (!prompt.ok()) return report("generate", prompt.status());

  nlohmann::json kv_dump;
  auto g = run_one_shot(*model, *opt, std::move(*prompt), opt->dump_kv_path ? &kv_dump : nullptr);
  if (!g.ok()) return report("generate", g.status());

  if (opt->logits_out) {
    Status s = write_npy_f32(*opt->logits_out, g->logits_rows,
                             static_cast<int64_t>(g->output.size()), model->weights->config.vocab_size);
    if (!s.ok()) return report("generate", s);
  }
  if (opt->dump_kv_path) {
    std::ofstream f(*opt->dump_kv_path);
    f << kv_dump.dump() << "\n";
    if (!f) return report("generate", not_found("cannot write " + *opt->dump_kv_path));
  }
  if (opt->json) {
    nlohmann::json j;
    j["text"] = g->text;
    j["token_ids"] = g->output;
    j["prompt_tokens"] = g->prompt.size();
    j["finish_reason"] = finish_reason_name(g->finish);
    j["kv"] = {{"retained", g->kv.retained}, {"offered", g->kv.offered}};
    j["kv_policy"] = kv_policy_name(opt->kv.policy);
    j["kv_budget"] = opt->kv.budget;
    j["timing"] = {{"prefill_s", g->prefill_s},
                   {"decode_s", g->decode_s},
                   {"prefill_tok_per_s", prefill_rate(*g)},
                   {"decode_tok_per_s", decode_rate(*g)}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
    std::fflush(stdout);  // the summary on stderr must follow the text, not interleave
    std::fprintf(stderr,
                 "[%zu prompt tokens, %zu generated, finish=%s, kv retained %lld of %lld offered, "
                 "prefill %.1f tok/s, decode %.1f tok/s]\n",
                 g->prompt.size(), g->output.size(), finish_reason_name(g->finish),
                 static_cast<long long>(g->kv.retained), static_cast<long long>(g->kv.offered),
                 prefill_rate(*g), decode_rate(*g));
  }
  return kExitOk;
}

}  // namespace trimserve::cli
