#include "server/cli/cli_args.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace trimserve;
using trimserve::cli::CliArgs;

namespace {
Status parse(CliArgs& a, std::vector<const char*> argv) {
  argv.insert(argv.begin(), "cmd");
  return a.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
}
}  // namespace

TEST_CASE("CliArgs parses values, inline values and booleans", "[cli]") {
  CliArgs a({"model", "top-p", "ids"}, {"json"});
  REQUIRE(parse(a, {"--model", "m", "--top-p=0.5", "--json", "--ids", "1,2,3"}).ok());
  CHECK(a.get_or("model", "") == "m");
  CHECK(a.has("json"));
  auto p = a.get_double("top-p");
  REQUIRE(p.ok());
  CHECK(**p == 0.5);
  auto ids = a.get_int_list("ids");
  REQUIRE(ids.ok());
  CHECK(**ids == std::vector<int64_t>{1, 2, 3});
}

TEST_CASE("CliArgs names the flag in every error", "[cli]") {
  CliArgs a({"model", "top-k"}, {"json"});
  CHECK(parse(a, {"--modle", "m"}).message() == "unknown option --modle");
  CliArgs b({"model"}, {});
  CHECK(parse(b, {"--model"}).message() == "--model needs a value");
  CliArgs c({"top-k"}, {"json"});
  REQUIRE(parse(c, {"--top-k", "ten"}).ok());
  CHECK(c.get_int("top-k").status().message() == "--top-k: expected an integer, got 'ten'");
  CliArgs d({}, {"json"});
  CHECK(parse(d, {"--json=1"}).message() == "--json takes no value");
  CliArgs e({"ids"}, {});
  REQUIRE(parse(e, {"--ids", "1,,2"}).ok());
  CHECK_FALSE(e.get_int_list("ids").ok());
  CliArgs f({}, {});
  CHECK(parse(f, {"stray"}).message() == "unexpected argument 'stray'");
}
