// deploy/trimserve.example.yaml is the operator's reference: it must load cleanly, state the
// defaults, and mention every key the decoder reads.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "config/config_decode.h"
#include "config/config_loader.h"

using namespace trimserve;

namespace {

std::string example_path() {
  const char* src = std::getenv("TRIMSERVE_SRC");
  return std::string(src && *src ? src : ".") + "/deploy/trimserve.example.yaml";
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every key path decode_config() asks for in `yaml`, plus the context that saw them.
std::vector<std::string> queried_keys(const std::string& yaml, DecodeContext* ctx) {
  Result<ConfigNode> tree = parse_config_tree(yaml, ctx->source());
  REQUIRE(tree.ok());
  Result<DaemonConfig> config = decode_config(*tree, ctx);
  INFO((config.ok() ? std::string() : config.status().message()));
  REQUIRE(config.ok());
  return ctx->queried_keys();
}

}  // namespace

TEST_CASE("the example config loads, validates and equals the defaults", "[config]") {
  Result<DaemonConfig> config = load_config(example_path());
  INFO((config.ok() ? std::string() : config.status().message()));
  REQUIRE(config.ok());
  CHECK(*config == DaemonConfig{});
}

TEST_CASE("the example config sets every non-tenant key explicitly", "[config]") {
  const std::string text = read_text(example_path());
  DecodeContext ctx("example");
  for (const std::string& path : queried_keys(text, &ctx)) {
    INFO(path);
    // Written in the file (a null value counts: it documents an unset optional).
    CHECK(ctx.mark_of(path).line > 0);
  }
}

TEST_CASE("the example config documents every tenant key", "[config]") {
  const std::string text = read_text(example_path());
  DecodeContext ctx("one-tenant");
  std::set<std::string> leaves;
  for (const std::string& path : queried_keys("tenants:\n  - name: a\n    api_keys: [k]\n", &ctx)) {
    if (path.rfind("tenants[0].", 0) != 0) continue;
    leaves.insert(path.substr(path.find_last_of('.') + 1));
  }
  CHECK(leaves.size() >= 13);  // name, keys x2, weight, priority, limits (+6), allowed_models
  for (const std::string& key : leaves) {
    INFO(key);
    const bool documented = text.find("#    " + key + ":") != std::string::npos ||
                            text.find("#      " + key + ":") != std::string::npos ||
                            text.find("#  - " + key + ":") != std::string::npos;
    CHECK(documented);
  }
}
