#include "engine/bpe_model.h"

#include <algorithm>
#include <functional>

#include "common/check.h"
#include "engine/bpe_byte_level.h"
#include "engine/utf8.h"

namespace trimserve {
namespace {

// Ids index flat arrays; a corrupt file must not make us allocate gigabytes.
constexpr int64_t kMaxTokenId = int64_t{1} << 24;

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

Result<std::unique_ptr<BpeModel>> BpeModel::build(const BpeModelSpec& spec) {
  std::unique_ptr<BpeModel> m(new BpeModel());
  m->ignore_merges_ = spec.ignore_merges;
  int32_t max_id = -1;
  for (const auto& [token, id] : spec.vocab) {
    if (id < 0 || id >= kMaxTokenId) {
      return invalid_argument("model.vocab: id " + std::to_string(id) + " of token " +
                              quoted(token) + " is out of range");
    }
    max_id = std::max(max_id, id);
  }
  m->tokens_.resize(static_cast<size_t>(max_id + 1));
  m->bytes_.resize(static_cast<size_t>(max_id + 1));
  m->present_.assign(static_cast<size_t>(max_id + 1), false);
  m->token_ids_.reserve(spec.vocab.size());
  for (const auto& [token, id] : spec.vocab) {
    if (m->present_[id]) {
      return invalid_argument("model.vocab: id " + std::to_string(id) + " is used by both " +
                              quoted(m->tokens_[id]) + " and " + quoted(token));
    }
    m->present_[id] = true;
    m->tokens_[id] = token;
    // A token outside the byte-level alphabet decodes to its own UTF-8, as HF's ByteLevel
    // decoder does; BPE can never produce it from bytes anyway.
    m->bytes_[id] = byte_level_decode(token).value_or(token);
    m->token_ids_.emplace(token, id);
  }
  for (unsigned b = 0; b < 256; ++b) {
    std::string ch;
    utf8_append(byte_level_char(static_cast<unsigned char>(b)), ch);
    const auto id = m->token_to_id(ch);
    if (!id) {
      return invalid_argument("model.vocab lacks the byte-level token " + quoted(ch) +
                              " for byte " + std::to_string(b) +
                              " (not a byte-level BPE vocabulary)");
    }
    m->byte_ids_[b] = *id;
  }
  int log2_slots = 4;
  while ((size_t{1} << log2_slots) < spec.merges.size() * 2) ++log2_slots;
  m->merge_slots_.assign(size_t{1} << log2_slots, MergeSlot{});
  m->merge_mask_ = (uint64_t{1} << log2_slots) - 1;
  m->merge_shift_ = 64 - log2_slots;
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [left, right] = spec.merges[rank];
    const auto left_id = m->token_to_id(left);
    const auto right_id = m->token_to_id(right);
    const auto merged_id = m->token_to_id(left + right);
    if (!left_id || !right_id || !merged_id) {
      const std::string& missing = !left_id ? left : !right_id ? right : left + right;
      return invalid_argument("model.merges[" + std::to_string(rank) + "] (" + quoted(left) +
                              " " + quoted(right) + "): token " + quoted(missing) +
                              " is not in the vocab");
    }
    // A repeated pair takes the later rank, like HF (it builds a map from the list).
    m->insert_merge(pair_key(*left_id, *right_id), {static_cast<uint32_t>(rank), *merged_id});
  }
  return m;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  const auto it = token_ids_.find(token);
  if (it == token_ids_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_bytes(int32_t id) const {
  if (id < 0 || id > max_id() || !present_[id]) return nullptr;
  return &bytes_[id];
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || id > max_id() || !present_[id]) return nullptr;
  return &tokens_[id];
}

// Fibonacci hashing (top bits of key * 2^64/phi) spreads the dense small-integer id pairs.
static inline uint64_t slot_of(uint64_t key, int shift) { return (key * 0x9E3779B97F4A7C15ull) >> shift; }

void BpeModel::insert_merge(uint64_t key, MergeTarget target) {
  for (uint64_t i = slot_of(key, merge_shift_);; i = (i + 1) & merge_mask_) {
    MergeSlot& slot = merge_slots_[i];
    if (slot.key == kEmptyKey || slot.key == key) {
      slot.key = key;
      slot.target = target;
      return;
    }
  }
}

const BpeModel::MergeTarget* BpeModel::find_merge(int32_t left, int32_t right) const {
  const uint64_t key = pair_key(left, right);
  for (uint64_t i = slot_of(key, merge_shift_);; i = (i + 1) & merge_mask_) {
    const MergeSlot& slot = merge_slots_[i];
    if (slot.key == key) return &slot.target;
    if (slot.key == kEmptyKey) return nullptr;
  }
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (word.size() == 1) {
    out.push_back(byte_ids_[static_cast<unsigned char>(word[0])]);
    return;
  }
  if (ignore_merges_) {
    if (const auto id = token_to_id(byte_level_encode(word))) {
      out.push_back(*id);
      return;
    }
  }
  if (cache_.lookup(word, out)) return;
  const size_t first = out.size();
  // Symbol indices are int32, so a word over 1 GiB is merged in slices. Not HF-exact at the
  // slice boundaries, but such input is far beyond any request size limit.
  constexpr size_t kMaxMergeBytes = size_t{1} << 30;
  for (size_t pos = 0; pos < word.size(); pos += kMaxMergeBytes) {
    merge_word(word.substr(pos, kMaxMergeBytes), out);
  }
  cache_.insert(word, out.data() + first, out.size() - first);
}

namespace {

struct Symbol {
  int32_t id;
  int32_t prev;  // index of the previous live symbol, -1 at the start
  int32_t next;  // index of the next live symbol, -1 at the end
  bool alive;
};

struct Candidate {
  uint32_t rank;
  int32_t pos;  // index of the left symbol
  int32_t new_id;
  // Min-heap order: lowest rank first, then leftmost.
  bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

// The merge loop of HF tokenizers (models/bpe/word.rs): a min-heap of candidate merges
// ordered by (rank, left position). A popped candidate is stale when its left symbol was
// absorbed, has no right neighbour any more, or the current pair no longer produces the
// same token; since symbols only grow, "same produced token at the same left position"
// identifies the same pair, so the new_id check is exact. O(n log n) per word.
void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  // Per-thread scratch avoids two allocations per word; a rare huge word gets its own
  // buffers so that threads do not keep megabytes of scratch alive afterwards.
  constexpr size_t kScratchBytes = 4096;
  thread_local std::vector<Symbol> tl_sym;
  thread_local std::vector<Candidate> tl_heap;
  std::vector<Symbol> big_sym;
  std::vector<Candidate> big_heap;
  const bool small = word.size() <= kScratchBytes;
  std::vector<Symbol>& sym = small ? tl_sym : big_sym;
  std::vector<Candidate>& heap = small ? tl_heap : big_heap;
  const auto n = static_cast<int32_t>(word.size());
  sym.resize(static_cast<size_t>(n));
  heap.clear();
  const auto push = [&heap](const Candidate& c) {
    heap.push_back(c);
    std::push_heap(heap.begin(), heap.end(), std::greater<>{});
  };
  for (int32_t i = 0; i < n; ++i) {
    sym[i] = {byte_ids_[static_cast<unsigned char>(word[i])], i - 1, i + 1 < n ? i + 1 : -1, true};
  }
  for (int32_t i = 0; i + 1 < n; ++i) {
    if (const MergeTarget* t = find_merge(sym[i].id, sym[i + 1].id)) {
      heap.push_back({t->rank, i, t->new_id});
    }
  }
  std::make_heap(heap.begin(), heap.end(), std::greater<>{});
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = sym[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = sym[left.next];
    const MergeTarget* current = find_merge(left.id, right.id);
    if (current == nullptr || current->new_id != top.new_id) continue;
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) sym[left.next].prev = top.pos;
    if (left.prev >= 0) {
      if (const MergeTarget* t = find_merge(sym[left.prev].id, left.id)) {
        push({t->rank, left.prev, t->new_id});
      }
    }
    if (left.next >= 0) {
      if (const MergeTarget* t = find_merge(left.id, sym[left.next].id)) {
        push({t->rank, top.pos, t->new_id});
      }
    }
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next) out.push_back(sym[i].id);
}

}  // namespace trimserve
