#include "engine/bpe_word_cache.h"

namespace trimserve {

bool BpeWordCache::lookup(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() > kMaxWordBytes) return false;
  const size_t hash = Hash{}(word);
  Shard& shard = shard_for(hash);
  std::lock_guard<std::mutex> lock(shard.mu);
  const auto it = shard.map.find(word);
  if (it == shard.map.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  return true;
}

void BpeWordCache::insert(std::string_view word, const int32_t* ids, size_t num_ids) const {
  if (word.size() > kMaxWordBytes) return;
  const size_t hash = Hash{}(word);
  Shard& shard = shard_for(hash);
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.map.size() >= per_shard_capacity_) shard.map.clear();
  shard.map.try_emplace(std::string(word), ids, ids + num_ids);
}

}  // namespace trimserve
