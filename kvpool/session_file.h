// Session file format: the bytes of one persisted multi-turn session (DESIGN.md §4 "Sessions",
// config kvpool.sessions.dir). Pure encode/decode, no file I/O (kvpool/session_dir.h does that).
//
// A snapshot is what the next turn needs to resume without recomputing: the token history,
// the sequence's KV settings and num_processed, and every lane's retained entries (pos, logβ,
// K and V rows as f32) — the post-eviction set, so a file is only as large as the budget keeps.
//
// Layout, version 1. Integers little-endian, floats as their IEEE-754 bit patterns (so NaN
// payloads and -0 survive), every variable-size field prefixed by its own u64 count:
//   magic          8 bytes "TSSESSKV"
//   version        u32
//   tenant, session_id, model_fingerprint, kv policy name     str: u64 length + bytes
//   kv.budget i64, kv.buffer i64, kv.floor_ratio f64, kv.window_sinks i64
//   num_processed i64, num_layers i64, num_kv_heads i64, head_dim i64
//   history        u64 count + i32[count]
//   lanes          u64 count; per lane: pos (u64 + i32[]), log_beta (u64 + f32[]),
//                  k (u64 + f32[]), v (u64 + f32[])
//   checksum       u32 CRC-32C (common/crc32c.h) of every byte before it
// Any layout change bumps kSessionFileVersion; readers reject other versions, never guess.
//
// decode_session treats its input as hostile: each count is checked against the bytes that
// remain before anything is allocated, so no input crashes it or makes it allocate much more
// than the input's own size. Threading: pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "kvpool/types.h"

namespace trimserve {

inline constexpr uint32_t kSessionFileVersion = 1;

// One lane's retained entries in lane order; k and v are [pos.size(), head_dim] row-major.
struct SessionLaneData {
  std::vector<int32_t> pos;
  std::vector<float> log_beta;
  std::vector<float> k, v;
};

struct SessionSnapshot {
  std::string tenant, session_id;
  // Who may load it (model identity + KV layout); the loader compares it byte-exactly.
  std::string model_fingerprint;
  SequenceKvConfig kv;
  int64_t num_processed = 0;     // tokens the sequence processed (== history.size())
  std::vector<int32_t> history;  // token ids whose K/V were appended, in order
  int64_t num_layers = 0, num_kv_heads = 0, head_dim = 0;
  std::vector<SessionLaneData> lanes;  // num_layers * num_kv_heads; lane = layer * Hkv + head
};

// Checks what encode requires and decode verifies (message names the first problem): a valid
// kv config (validate_sequence_kv_config); dimensions in [1, 2^20]; history.size() ==
// num_processed, token ids >= 0; lanes.size() == L * Hkv; per lane log_beta, k / D and v / D
// as long as pos; every position in [0, num_processed). Errors: kInvalidArgument.
Status check_session_snapshot(const SessionSnapshot& s);

// The file's bytes. Precondition: check_session_snapshot(s).ok() (TS_CHECK: writing a file
// that could never load is a bug).
std::string encode_session(const SessionSnapshot& s);

// Parses and verifies a file. Errors, all kDataLoss with a precise message: "bad magic ...",
// "unsupported version 7 ...", "session file truncated at byte N while reading lane 3
// positions ...", trailing bytes, "checksum mismatch: stored 0x... computed 0x...", and
// checksum-correct content failing check_session_snapshot ("inconsistent session file: ...").
Result<SessionSnapshot> decode_session(std::string_view bytes);

}  // namespace trimserve
