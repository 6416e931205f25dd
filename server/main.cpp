// trimserve: subcommand dispatch. Exit codes (DESIGN.md §6): 0 ok, 2 bad usage/config,
// 1 runtime error.
#include <cstdio>
#include <cstring>
#include <string>

#include "server/cli/commands.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);  // argv[0] is the subcommand name
};

const Command kCommands[] = {
    {"serve", "run the daemon: the OpenAI-compatible HTTP API and the gRPC API",
     trimserve::cli::serve_main},
    {"client", "chat with a running daemon over gRPC (interactive or scripted)",
     trimserve::cli::client_main},
    {"generate", "generate text from a model directory with the CPU engine",
     trimserve::cli::generate_main},
    {"tokenize", "encode/decode text or render a chat with a model's tokenizer",
     trimserve::cli::tokenize_main},
    {"eval", "evaluate KV policies and budgets on a dataset: recall accuracy or perplexity",
     trimserve::cli::eval_main},
    {"bench", "benchmarks: 'bench sessions', 'bench batching', 'bench http' (a running server)",
     trimserve::cli::bench_main},
};

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: trimserve <command> [options]\n\n"
               "trimserve is a multi-tenant LLM serving daemon whose KV cache is managed by\n"
               "learned retention scores (TrimKV).\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out, "\n'trimserve <command> --help' describes a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return 0;
  }
  for (const Command& c : kCommands) {
    if (name == c.name) return c.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "trimserve: unknown command '%s' (see 'trimserve --help')\n", name.c_str());
  return 2;
}
