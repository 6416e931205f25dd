#include "common/status.h"

#include <catch2/catch.hpp>

using namespace trimserve;

TEST_CASE("Status carries code and message", "[common]") {
  Status ok;
  CHECK(ok.ok());
  CHECK(ok.to_string() == "OK");
  Status err = not_found("model directory 'x' does not exist");
  CHECK_FALSE(err.ok());
  CHECK(err.code() == ErrorCode::kNotFound);
  CHECK(err.to_string() == "NOT_FOUND: model directory 'x' does not exist");
  CHECK(err.with_context("loading model").message() ==
        "loading model: model directory 'x' does not exist");
}

TEST_CASE("Result holds a value or a status", "[common]") {
  Result<int> good(42);
  REQUIRE(good.ok());
  CHECK(*good == 42);
  Result<int> bad(invalid_argument("no"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == ErrorCode::kInvalidArgument);
}

static Status fails() { return data_loss("truncated"); }
static Status propagates() {
  TS_RETURN_IF_ERROR(fails());
  return Status();
}

TEST_CASE("TS_RETURN_IF_ERROR propagates the first error", "[common]") {
  CHECK(propagates().code() == ErrorCode::kDataLoss);
}
