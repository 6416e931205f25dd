#include "config/daemon_config.h"

namespace trimserve {

Status check_kv_policy_setting(std::string_view text) {
  // The concrete names must match kvpool's kv_policy_name(); "auto" is config-only.
  static constexpr std::string_view kSettings[] = {"auto", "full", "window", "trimkv",
                                                   "trimkv-global"};
  for (std::string_view setting : kSettings) {
    if (text == setting) return Status();
  }
  return invalid_argument("unknown value '" + std::string(text) +
                          "' (expected auto|full|window|trimkv|trimkv-global)");
}

const char* engine_device_name(DaemonConfig::Engine::Device device) {
  using Device = DaemonConfig::Engine::Device;
  switch (device) {
    case Device::kAuto: return "auto";
    case Device::kCpu: return "cpu";
    case Device::kCuda: return "cuda";
  }
  return "?";
}

const char* kv_dtype_name(DaemonConfig::Engine::KvDtype dtype) {
  using KvDtype = DaemonConfig::Engine::KvDtype;
  switch (dtype) {
    case KvDtype::kAuto: return "auto";
    case KvDtype::kF32: return "f32";
    case KvDtype::kBf16: return "bf16";
    case KvDtype::kF16: return "f16";
  }
  return "?";
}

}  // namespace trimserve
