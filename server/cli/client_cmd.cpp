// `trimserve client`: a multi-turn chat with a running daemon over gRPC streaming (Chat),
// printing tokens as they arrive. Interactive on a terminal (/reset, /session, /quit), and
// scriptable: --prompt for one turn, user turns as stdin lines otherwise, --json for one JSON
// line per turn. The conversation is one session, so every turn reuses the daemon's
// compressed KV cache of the turns before it.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include <nlohmann/json.hpp>

#include "server/cli/chat_client.h"
#include "server/cli/cli_args.h"
#include "server/cli/commands.h"
#include "server/cli/exit_codes.h"

namespace trimserve::cli {

namespace {

void print_help(std::FILE* out) {
  std::fprintf(
      out,
      "usage: trimserve client --target HOST:PORT [--api-key K] [--session ID] [options]\n\n"
      "Chats with a running trimserve over gRPC (trimserve.v1.Inference/Chat), one session for\n"
      "the whole conversation. On a terminal it is interactive: type a message, the reply\n"
      "streams back; /reset starts over (deletes the session on the server), /session shows\n"
      "what the server holds for it, /quit leaves. Otherwise every stdin line is a user turn.\n\n"
      "  --target HOST:PORT   the daemon's gRPC address (its log's `grpc=`)\n"
      "  --api-key K          sent as `authorization: Bearer K`\n"
      "  --tls                connect over TLS, trusting the system's CA certificates\n"
      "  --ca-cert FILE       connect over TLS, trusting the CA certificate(s) in FILE (PEM;\n"
      "                       a self-signed server certificate itself will do)\n"
      "  --session ID         continue this session (default: a new random id; none for a\n"
      "                       --prompt turn)\n"
      "  --model NAME         default: the served model\n"
      "  --system TEXT        a system message before the conversation\n"
      "  --prompt TEXT        send this one turn, print the reply and exit\n"
      "  --json               one JSON line per turn: session_id, request_id, text, token_ids,\n"
      "                       finish_reason, usage (prompt, completion and cached tokens)\n"
      "  --max-tokens N  --temperature T  --top-p P  --seed S   sampling (server defaults)\n"
      "  --kv-policy P  --kv-budget M                           KV settings per request\n"
      "  --timeout S (600)    seconds per call\n\n"
      "Exit: 0 ok, 2 bad usage or a request the server refused as invalid, 1 other failures\n"
      "(the server's gRPC status is printed: `trimserve client: UNAVAILABLE: ...`).\n");
}

// Plaintext unless --tls or --ca-cert asks for TLS.
Result<std::shared_ptr<grpc::ChannelCredentials>> channel_credentials(const CliArgs& a) {
  auto ca_file = a.get("ca-cert");
  if (!ca_file && !a.has("tls")) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions tls;
  if (ca_file) {
    std::ifstream in(*ca_file, std::ios::binary);
    if (!in) {
      return invalid_argument("--ca-cert: cannot read '" + *ca_file + "': " + std::strerror(errno));
    }
    tls.pem_root_certs.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (tls.pem_root_certs.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return invalid_argument("--ca-cert: '" + *ca_file + "' holds no PEM certificate");
    }
  }
  return grpc::SslCredentials(tls);
}

Result<ChatClientOptions> client_options(const CliArgs& a) {
  ChatClientOptions o;
  o.api_key = a.get_or("api-key", "");
  o.model = a.get_or("model", "");
  o.session_id = a.get_or("session", "");
  o.system = a.get_or("system", "");
  auto max_tokens = a.get_int("max-tokens");
  if (!max_tokens.ok()) return max_tokens.status();
  if (*max_tokens) {
    if (**max_tokens < 1 || **max_tokens > UINT32_MAX) {
      return invalid_argument("--max-tokens must be in [1, 2^32)");
    }
    o.sampling.set_max_tokens(static_cast<uint32_t>(**max_tokens));
  }
  auto temperature = a.get_double("temperature");
  if (!temperature.ok()) return temperature.status();
  if (*temperature) o.sampling.set_temperature(static_cast<float>(**temperature));
  auto top_p = a.get_double("top-p");
  if (!top_p.ok()) return top_p.status();
  if (*top_p) o.sampling.set_top_p(static_cast<float>(**top_p));
  auto seed = a.get_int("seed");
  if (!seed.ok()) return seed.status();
  if (*seed) o.sampling.set_seed(**seed);
  auto timeout = a.get_int("timeout");
  if (!timeout.ok()) return timeout.status();
  if (*timeout) {
    if (**timeout < 1) return invalid_argument("--timeout must be >= 1 second");
    o.timeout = std::chrono::seconds(**timeout);
  }
  if (auto p = a.get("kv-policy")) o.kv.set_policy(*p);
  auto budget = a.get_int("kv-budget");
  if (!budget.ok()) return budget.status();
  if (*budget) {
    if (**budget < 1) return invalid_argument("--kv-budget must be >= 1");
    o.kv.set_budget(static_cast<uint64_t>(**budget));
  }
  // A one-off --prompt keeps no session on the server unless one was named.
  o.keep_session = !a.has("prompt") || a.has("session");
  return o;
}

nlohmann::json turn_json(const ChatClient& client, const TurnResult& r) {
  return {{"session_id", client.session_id()},
          {"request_id", r.request_id},
          {"text", r.text},
          {"token_ids", r.token_ids},
          {"finish_reason", r.finish_reason},
          {"usage",
           {{"prompt_tokens", r.usage.prompt_tokens()},
            {"completion_tokens", r.usage.completion_tokens()},
            {"cached_tokens", r.usage.cached_tokens()}}}};
}

// One turn: the reply streams to stdout (or one JSON line with --json). Returns its status.
Status run_turn(ChatClient& client, const std::string& user, bool json) {
  auto r = client.turn(user, [json](const std::string& text) {
    if (json) return;
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  });
  if (!r.ok()) {
    if (!json) std::fputc('\n', stdout);
    return r.status();
  }
  if (json) {
    std::printf("%s\n", turn_json(client, *r).dump(-1, ' ', false,
                                                   nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::fputc('\n', stdout);
  }
  std::fflush(stdout);
  return Status();
}

// A /command of the interactive loop; false to leave.
bool run_command(ChatClient& client, const std::string& line, bool json) {
  if (line == "/quit" || line == "/exit") return false;
  if (line == "/reset") {
    Status s = client.reset();
    if (!s.ok()) {
      std::fprintf(stderr, "reset failed: %s\n", s.message().c_str());
    } else {
      std::fprintf(stderr, "new conversation, session %s\n", client.session_id().c_str());
    }
  } else if (line == "/session") {
    auto info = client.session_info();
    if (!info.ok()) {
      std::fprintf(stderr, "session %s: %s\n", client.session_id().c_str(),
                   info.status().message().c_str());
    } else if (json) {
      std::printf("%s\n", nlohmann::json({{"session_id", info->session_id()},
                                          {"num_tokens", info->num_tokens()},
                                          {"running", info->running()},
                                          {"idle_seconds", info->idle_seconds()}})
                              .dump()
                              .c_str());
    } else {
      std::printf("session %s: %llu tokens of history held by the server, idle %.1f s\n",
                  info->session_id().c_str(),
                  static_cast<unsigned long long>(info->num_tokens()), info->idle_seconds());
    }
  } else {
    std::fprintf(stderr, "commands: /reset, /session, /quit\n");
  }
  std::fflush(stdout);
  return true;
}

}  // namespace

int client_main(int argc, char** argv) {
  CliArgs a({"target", "api-key", "session", "model", "system", "prompt", "max-tokens",
             "temperature", "top-p", "seed", "kv-policy", "kv-budget", "timeout", "ca-cert"},
            {"json", "help", "tls"});
  if (Status s = a.parse(argc, argv); !s.ok()) return report("client", s);
  if (a.has("help")) {
    print_help(stdout);
    return kExitOk;
  }
  if (!a.has("target")) return report("client", invalid_argument("--target HOST:PORT is required"));
  auto options = client_options(a);
  if (!options.ok()) return report("client", options.status());
  const bool json = a.has("json");
  auto credentials = channel_credentials(a);
  if (!credentials.ok()) return report("client", credentials.status());
  ChatClient client(grpc::CreateChannel(*a.get("target"), *credentials), std::move(*options));

  if (auto prompt = a.get("prompt")) {
    Status s = run_turn(client, *prompt, json);
    return s.ok() ? kExitOk : report("client", s);
  }
  const bool interactive = isatty(STDIN_FILENO) != 0;
  if (interactive) {
    std::fprintf(stderr, "trimserve client: %s, session %s (/reset, /session, /quit)\n",
                 a.get("target")->c_str(), client.session_id().c_str());
  }
  std::string line;
  while (true) {
    if (interactive) {
      std::fputs("> ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (line[0] == '/') {
      if (!run_command(client, line, json)) break;
      continue;
    }
    Status s = run_turn(client, line, json);
    if (!s.ok()) {
      if (!interactive) return report("client", s);
      std::fprintf(stderr, "%s\n", s.message().c_str());
    }
  }
  return kExitOk;
}

}  // namespace trimserve::cli
