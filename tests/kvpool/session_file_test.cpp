// Session file format: round trip (bit patterns included), hostile input — every truncation,
// every single-byte flip, absurd counts, bad magic and version — and checksum-correct but
// inconsistent content, each rejected as kDataLoss with a message naming the problem.
#include "kvpool/session_file.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "common/crc32c.h"

using namespace trimserve;

namespace {

// L = 2, Hkv = 2, D = 3, ragged lanes (trimkv-global keeps different counts per lane).
SessionSnapshot small_snapshot() {
  SessionSnapshot s;
  s.tenant = "acme";
  s.session_id = "chat-\x01\xff";  // any bytes
  s.model_fingerprint = "qwen3-tiny/sha:1234/L2-Hkv2-D3";
  s.kv.policy = KvPolicy::kTrimKvGlobal;
  s.kv.budget = 4;
  s.kv.buffer = 2;
  s.kv.floor_ratio = 0.25;
  s.kv.window_sinks = 1;
  s.history = {5, 9, 2, 7, 7, 1};
  s.num_processed = 6;
  s.num_layers = 2;
  s.num_kv_heads = 2;
  s.head_dim = 3;
  const std::vector<std::vector<int32_t>> positions = {{0, 2, 5}, {1}, {}, {0, 1, 3, 4}};
  float x = 0.5f;
  for (const auto& pos : positions) {
    SessionLaneData lane;
    lane.pos = pos;
    for (size_t i = 0; i < pos.size(); ++i) {
      lane.log_beta.push_back(-0.125f * static_cast<float>(pos[i]));
      for (int c = 0; c < 3; ++c) {
        lane.k.push_back(x += 1.25f);
        lane.v.push_back(-(x += 0.75f));
      }
    }
    s.lanes.push_back(lane);
  }
  return s;
}

bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
}

void check_equal(const SessionSnapshot& a, const SessionSnapshot& b) {
  CHECK(a.tenant == b.tenant);
  CHECK(a.session_id == b.session_id);
  CHECK(a.model_fingerprint == b.model_fingerprint);
  CHECK(a.kv.policy == b.kv.policy);
  CHECK(a.kv.budget == b.kv.budget);
  CHECK(a.kv.buffer == b.kv.buffer);
  CHECK(a.kv.floor_ratio == b.kv.floor_ratio);
  CHECK(a.kv.window_sinks == b.kv.window_sinks);
  CHECK(a.num_processed == b.num_processed);
  CHECK(a.history == b.history);
  CHECK(a.num_layers == b.num_layers);
  CHECK(a.num_kv_heads == b.num_kv_heads);
  CHECK(a.head_dim == b.head_dim);
  REQUIRE(a.lanes.size() == b.lanes.size());
  for (size_t i = 0; i < a.lanes.size(); ++i) {
    CHECK(a.lanes[i].pos == b.lanes[i].pos);
    CHECK(same_floats(a.lanes[i].log_beta, b.lanes[i].log_beta));
    CHECK(same_floats(a.lanes[i].k, b.lanes[i].k));
    CHECK(same_floats(a.lanes[i].v, b.lanes[i].v));
  }
}

void put_u64(std::string& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Recomputes the trailing CRC-32C after a test patched the payload.
void fix_checksum(std::string& b) {
  const uint32_t crc = crc32c(std::string_view(b).substr(0, b.size() - 4));
  for (int i = 0; i < 4; ++i) b[b.size() - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
}

// Byte offset of the fixed-size field block (kv.budget) in small_snapshot()'s encoding:
// header, then four u64-prefixed strings (tenant, session_id, fingerprint, policy name).
size_t fixed_fields_at(const SessionSnapshot& s) {
  return 12 + 4 * 8 + s.tenant.size() + s.session_id.size() + s.model_fingerprint.size() +
         std::string(kv_policy_name(s.kv.policy)).size();
}
// The fixed fields, in order, each 8 bytes.
enum Field { kBudget, kBuffer, kFloorRatio, kSinks, kNumProcessed, kLayers, kKvHeads, kHeadDim };

std::string patched(const SessionSnapshot& s, Field f, uint64_t value) {
  std::string b = encode_session(s);
  put_u64(b, fixed_fields_at(s) + 8 * static_cast<size_t>(f), value);
  fix_checksum(b);
  return b;
}

std::string message_of(std::string_view bytes) {
  auto r = decode_session(bytes);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::kDataLoss);
  return r.status().message();
}

}  // namespace

TEST_CASE("session file: round trip", "[session_file]") {
  const SessionSnapshot s = small_snapshot();
  const std::string bytes = encode_session(s);
  CHECK(bytes.substr(0, 8) == "TSSESSKV");
  auto back = decode_session(bytes);
  REQUIRE(back.ok());
  check_equal(s, *back);
  CHECK(encode_session(*back) == bytes);  // deterministic
}

TEST_CASE("session file: float bit patterns and every policy survive", "[session_file]") {
  SessionSnapshot s = small_snapshot();
  s.lanes[0].k[0] = -0.0f;
  s.lanes[0].k[1] = std::numeric_limits<float>::infinity();
  s.lanes[0].v[2] = std::numeric_limits<float>::quiet_NaN();
  s.lanes[3].log_beta[1] = std::numeric_limits<float>::denorm_min();
  for (KvPolicy p : {KvPolicy::kFull, KvPolicy::kWindow, KvPolicy::kTrimKv, KvPolicy::kTrimKvGlobal}) {
    s.kv.policy = p;
    auto back = decode_session(encode_session(s));
    REQUIRE(back.ok());
    check_equal(s, *back);
  }
}

TEST_CASE("session file: an empty session (no history, empty lanes) round-trips", "[session_file]") {
  SessionSnapshot s;
  s.num_layers = 1;
  s.num_kv_heads = 1;
  s.head_dim = 8;
  s.lanes.resize(1);
  auto back = decode_session(encode_session(s));
  REQUIRE(back.ok());
  check_equal(s, *back);
}

TEST_CASE("session file: every truncation is kDataLoss", "[session_file]") {
  const std::string bytes = encode_session(small_snapshot());
  for (size_t n = 0; n < bytes.size(); ++n) {
    INFO("truncated to " << n << " of " << bytes.size() << " bytes");
    const std::string m = message_of(std::string_view(bytes).substr(0, n));
    CHECK(m.find("truncated at byte " + std::to_string(n)) != std::string::npos);
  }
  CHECK(message_of("") == "session file truncated at byte 0 while reading magic");
  const std::string m = message_of(std::string_view(bytes).substr(0, bytes.size() - 7));
  CHECK(m.find("while reading lane 3 V rows") != std::string::npos);
}

TEST_CASE("session file: every single-byte flip is rejected", "[session_file]") {
  const std::string bytes = encode_session(small_snapshot());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (unsigned char mask : {0x01, 0x80, 0xFF}) {
      std::string b = bytes;
      b[i] = static_cast<char>(b[i] ^ mask);
      INFO("byte " << i << " ^ " << int(mask));
      message_of(b);
    }
  }
  std::string flipped = bytes;
  flipped[bytes.size() - 10] ^= 0x04;  // inside the last V row: only the checksum notices
  CHECK(message_of(flipped).rfind("checksum mismatch: stored 0x", 0) == 0);
}

TEST_CASE("session file: header errors", "[session_file]") {
  std::string b = encode_session(small_snapshot());
  std::string bad = b;
  bad[0] = 'X';
  CHECK(message_of(bad).rfind("bad magic", 0) == 0);
  CHECK(message_of("GIF89a....whatever").rfind("bad magic", 0) == 0);
  bad = b;
  bad[8] = 7;
  CHECK(message_of(bad).rfind("unsupported version 7", 0) == 0);
  CHECK(message_of(b + "x").find("1 unexpected bytes") != std::string::npos);
}

TEST_CASE("session file: absurd counts fail before allocating", "[session_file]") {
  const SessionSnapshot s = small_snapshot();
  std::string b = encode_session(s);
  put_u64(b, 12, ~uint64_t{0});  // tenant length 2^64 - 1
  CHECK(message_of(b).find("while reading tenant (count 18446744073709551615") != std::string::npos);
  // History count 2^62: would be 16 EiB of int32 if trusted.
  b = encode_session(s);
  put_u64(b, fixed_fields_at(s) + 8 * 8, uint64_t{1} << 62);
  CHECK(message_of(b).find("while reading history") != std::string::npos);
  // Lanes count 2^40.
  b = encode_session(s);
  put_u64(b, fixed_fields_at(s) + 8 * 8 + 8 + 4 * s.history.size(), uint64_t{1} << 40);
  CHECK(message_of(b).find("while reading lanes") != std::string::npos);
}

TEST_CASE("session file: checksum-correct but inconsistent content", "[session_file]") {
  const SessionSnapshot s = small_snapshot();
  CHECK(message_of(patched(s, kLayers, 3)) ==
        "inconsistent session file: lanes count 4 != num_layers * num_kv_heads = 6");
  CHECK(message_of(patched(s, kNumProcessed, 5)) ==
        "inconsistent session file: history has 6 tokens but num_processed is 5");
  CHECK(message_of(patched(s, kHeadDim, 2)) ==
        "inconsistent session file: lane 0: k size 9 / v size 9 != len 3 * head_dim 2");
  CHECK(message_of(patched(s, kHeadDim, 0)) ==
        "inconsistent session file: head_dim 0 outside [1, 1048576]");
  CHECK(message_of(patched(s, kBudget, 0)).rfind("inconsistent session file: invalid kv config: budget", 0) == 0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  uint64_t nan_bits;
  std::memcpy(&nan_bits, &nan, 8);
  CHECK(message_of(patched(s, kFloorRatio, nan_bits)).find("floor_ratio") != std::string::npos);

  SECTION("a position past num_processed") {
    // Lane 3 (the last) is pos {0, 1, 3, 4}, then log_beta, k, v ([4, 3] f32 each), then the
    // checksum: its last position sits 4 + 2 * (8 + 48) + (8 + 16) + 4 bytes before the end.
    std::string b = encode_session(s);
    const size_t last_pos_at = b.size() - (4 + 2 * (8 + 48) + (8 + 16) + 4);
    REQUIRE(b[last_pos_at] == 4);
    b[last_pos_at] = 6;
    fix_checksum(b);
    CHECK(message_of(b) == "inconsistent session file: lane 3: position 6 not in [0, num_processed 6)");
  }

  SECTION("an unknown policy name") {
    std::string b = encode_session(s);
    const size_t name_at = fixed_fields_at(s) - std::string("trimkv-global").size();
    b[name_at] = 'X';
    fix_checksum(b);
    CHECK(message_of(b) ==
          "inconsistent session file: kv policy: unknown value 'Xrimkv-global' "
          "(expected full|window|trimkv|trimkv-global)");
  }
}

TEST_CASE("session file: check_session_snapshot names the problem", "[session_file]") {
  SessionSnapshot s = small_snapshot();
  CHECK(check_session_snapshot(s).ok());
  s.lanes[1].log_beta.push_back(0.0f);
  const Status st = check_session_snapshot(s);
  CHECK(st.code() == ErrorCode::kInvalidArgument);
  CHECK(st.message() == "lane 1: 2 log_beta values for 1 positions");
}
