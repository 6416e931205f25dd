// Entry points of trimserve's subcommands. Each takes argv with argv[0] = the subcommand name
// and returns the process exit code: 0 ok, 2 bad usage/config, 1 runtime error.
#pragma once

namespace trimserve::cli {

int generate_main(int argc, char** argv);
int tokenize_main(int argc, char** argv);
int bench_main(int argc, char** argv);
int serve_main(int argc, char** argv);  // the daemon
int eval_main(int argc, char** argv);   // policies x budgets on a held-out dataset
int client_main(int argc, char** argv); // multi-turn chat with a daemon over gRPC

}  // namespace trimserve::cli
