// BpeWordCache: memoizes BPE results per pre-token ("word"), shared by all encode() callers.
//
// Thread-safety: every method may be called concurrently. The map is split into shards,
// each behind its own mutex, so concurrent encoders rarely wait on each other. When a shard
// exceeds its share of the capacity it is simply cleared (cheap, bounded memory; hot words
// come back within a few calls).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace trimserve {

class BpeWordCache {
 public:
  // Words longer than this are not cached: they rarely repeat and would crowd out the rest.
  static constexpr size_t kMaxWordBytes = 256;

  explicit BpeWordCache(size_t capacity = size_t{1} << 17)
      : per_shard_capacity_(capacity / kNumShards + 1) {}
  BpeWordCache(const BpeWordCache&) = delete;
  BpeWordCache& operator=(const BpeWordCache&) = delete;

  // Appends the cached ids of `word` to `out` and returns true, or returns false (no change).
  bool lookup(std::string_view word, std::vector<int32_t>& out) const;

  // Remembers ids for `word` (ignored when word is longer than kMaxWordBytes). Const because
  // the cache is invisible to callers: it only changes how fast encode_word() answers.
  void insert(std::string_view word, const int32_t* ids, size_t num_ids) const;

 private:
  static constexpr size_t kNumShards = 32;

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>>;

  struct Shard {
    std::mutex mu;
    Map map;  // guarded by mu
  };

  Shard& shard_for(size_t hash) const { return shards_[(hash >> 7) % kNumShards]; }

  size_t per_shard_capacity_;
  mutable std::array<Shard, kNumShards> shards_;
};

}  // namespace trimserve
