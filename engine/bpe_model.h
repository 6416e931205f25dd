// BpeModel: the byte-level BPE "model" of a tokenizer.json (vocab + ranked merges) and the
// merge loop that turns one pre-token into ids.
//
// Tokens are identified as HF spells them in tokenizer.json ("Ġhello"); the model keeps the
// raw bytes of each token too, for decoding. Merges are resolved to id pairs at build time,
// exactly as HF tokenizers does: merge i ("a", "b") has rank i and produces vocab["ab"].
//
// Thread-safety: immutable after build() except for the internal word cache, which is
// guarded (see bpe_word_cache.h); encode_word() may be called concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/bpe_word_cache.h"

namespace trimserve {

struct BpeModelSpec {
  std::vector<std::pair<std::string, int32_t>> vocab;       // HF spelling -> id
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order, HF spelling
  bool ignore_merges = false;  // a word that is itself in the vocab maps to it directly
};

class BpeModel {
 public:
  // Errors (kInvalidArgument): negative or duplicate ids, a merge naming a token that is not
  // in the vocab, a byte (0..255) whose byte-level character is missing from the vocab.
  static Result<std::unique_ptr<BpeModel>> build(const BpeModelSpec& spec);

  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  // Appends the ids of `word` (raw bytes, one pre-token) to `out`. Empty words add nothing.
  // Cost is O(n log n) in the word's length; words up to 256 bytes are cached.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  // HF spelling -> id.
  std::optional<int32_t> token_to_id(std::string_view token) const;

  // The raw bytes of a vocab token, or nullptr if `id` is not in the vocab.
  const std::string* id_to_bytes(int32_t id) const;

  // The HF spelling of a vocab token, or nullptr if `id` is not in the vocab.
  const std::string* id_to_token(int32_t id) const;

  // Largest id in the vocab.
  int32_t max_id() const { return static_cast<int32_t>(bytes_.size()) - 1; }

 private:
  struct MergeTarget {
    uint32_t rank;
    int32_t new_id;
  };

  BpeModel() = default;

  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  // The merge loop probes this table several times per byte, so it is a flat open-addressing
  // table (linear probing, power-of-two size, load <= 1/2) rather than std::unordered_map.
  struct MergeSlot {
    uint64_t key = kEmptyKey;
    MergeTarget target{};
  };
  static constexpr uint64_t kEmptyKey = ~uint64_t{0};  // no real pair: ids are < 2^24
  void insert_merge(uint64_t key, MergeTarget target);
  const MergeTarget* find_merge(int32_t left, int32_t right) const;

  // Runs the merge loop on `word` without the cache; appends the result to `out`.
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> token_ids_;  // HF spelling -> id
  std::vector<std::string> tokens_;                     // id -> HF spelling
  std::vector<std::string> bytes_;                      // id -> raw bytes
  std::vector<bool> present_;                           // id -> in vocab (ids may have holes)
  std::array<int32_t, 256> byte_ids_{};                 // raw byte -> id of its 1-char token
  std::vector<MergeSlot> merge_slots_;                  // pair_key(left, right) -> target
  uint64_t merge_mask_ = 0;                             // merge_slots_.size() - 1
  int merge_shift_ = 64;                                // 64 - log2(merge_slots_.size())
  bool ignore_merges_ = false;
  BpeWordCache cache_;
};

}  // namespace trimserve
