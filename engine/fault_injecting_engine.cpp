#include "engine/fault_injecting_engine.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

namespace trimserve {

FaultInjectingEngine::FaultInjectingEngine(Engine& inner, std::string trigger_file)
    : inner_(inner), trigger_file_(std::move(trigger_file)) {}

Result<StepOutput> FaultInjectingEngine::step(const StepInput& input) {
  std::error_code ec;
  if (std::filesystem::exists(trigger_file_, ec)) {
    std::ifstream in(trigger_file_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    int64_t count = 1;
    auto parsed = std::from_chars(text.data(), text.data() + text.size(), count);
    if (parsed.ec != std::errc() || count < 1) count = 1;
    std::filesystem::remove(trigger_file_, ec);
    pending_ += count;
  }
  if (pending_ > 0) {
    --pending_;
    ++injected_;
    return internal_error("engine step failed: fault injected by " + trigger_file_);
  }
  return inner_.step(input);
}

}  // namespace trimserve
