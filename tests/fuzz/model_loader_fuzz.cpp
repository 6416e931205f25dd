// Fuzz target: the model loader's parsers — config.json (parse_model_config) and a
// safetensors file (SafetensorsFile::open on a temporary file, then every tensor widened to
// f32 when small enough). The input is the config text, a line "--safetensors--", then the
// file's bytes; without the separator all of it is the safetensors file. Corrupt input must be
// refused with an error (kDataLoss, kInvalidArgument), never crash or read out of bounds.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/model_config.h"
#include "engine/safetensors.h"

using namespace trimserve;

namespace {

std::string& scratch_path() {
  static std::string path;
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char tmpl[] = "/tmp/trimserve_fuzz_XXXXXX";
  const int fd = mkstemp(tmpl);
  if (fd < 0) std::abort();
  close(fd);
  scratch_path() = tmpl;
  std::atexit([] { std::remove(scratch_path().c_str()); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr std::string_view kSeparator = "\n--safetensors--\n";
  std::string_view file = input;
  if (size_t at = input.find(kSeparator); at != std::string_view::npos) {
    (void)parse_model_config(std::string(input.substr(0, at)), "config.json");
    file = input.substr(at + kSeparator.size());
  }
  FILE* f = std::fopen(scratch_path().c_str(), "wb");
  if (f == nullptr) std::abort();
  std::fwrite(file.data(), 1, file.size(), f);
  std::fclose(f);
  auto opened = SafetensorsFile::open(scratch_path());
  if (!opened.ok()) return 0;
  for (const TensorView& view : (*opened)->tensors()) {
    if (view.numel() <= (1 << 16)) (void)tensor_to_f32(view);
  }
  return 0;
}
