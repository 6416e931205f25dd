#include "kvpool/session_file.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>
#include <type_traits>

#include "common/check.h"
#include "common/crc32c.h"
#include "kvpool/eviction_policy.h"

namespace trimserve {

namespace {

constexpr std::string_view kMagic{"TSSESSKV", 8};
constexpr size_t kHeaderBytes = 12;   // magic + version
constexpr size_t kChecksumBytes = 4;
constexpr size_t kMinLaneBytes = 32;  // four empty arrays: their counts
constexpr int64_t kMaxDim = int64_t{1} << 20;

static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4);
static_assert(std::numeric_limits<double>::is_iec559 && sizeof(double) == 8);

// On little-endian hosts (all trimserve targets) arrays move with one memcpy; the byte-wise
// fallback keeps the format identical elsewhere.
constexpr bool kLittleEndianHost = std::endian::native == std::endian::little;

uint64_t load_le(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

std::string str(uint64_t v) { return std::to_string(v); }

class Writer {
 public:
  explicit Writer(size_t capacity) { out_.reserve(capacity); }

  void u32(uint32_t v) { put_le(v, 4); }
  void u64(uint64_t v) { put_le(v, 8); }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void f64(double v) { u64(std::bit_cast<uint64_t>(v)); }
  void raw(std::string_view b) { out_.append(b); }
  void text(const std::string& s) {
    u64(s.size());
    out_.append(s);
  }
  template <class T>  // int32_t or float
  void array(const std::vector<T>& a) {
    static_assert(sizeof(T) == 4);
    u64(a.size());
    if (a.empty()) return;
    if constexpr (kLittleEndianHost) {
      out_.append(reinterpret_cast<const char*>(a.data()), a.size() * sizeof(T));
    } else {
      for (T x : a) u32(std::bit_cast<uint32_t>(x));
    }
  }

  std::string& bytes() { return out_; }

 private:
  void put_le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
  }

  std::string out_;
};

// Reads fields from bytes [at, end). The first failure sticks: later reads return empty values
// without touching the input, and status() reports where the file ran out.
class Reader {
 public:
  Reader(std::string_view bytes, size_t begin, size_t end) : bytes_(bytes), at_(begin), end_(end) {}

  const Status& status() const { return status_; }
  size_t offset() const { return at_; }
  size_t remaining() const { return end_ - at_; }

  uint64_t u64(const char* what) {
    if (!take(8, what)) return 0;
    return load_le(bytes_.data() + at_ - 8, 8);
  }
  int64_t i64(const char* what) { return static_cast<int64_t>(u64(what)); }
  double f64(const char* what) { return std::bit_cast<double>(u64(what)); }

  std::string text(const char* what) {
    const uint64_t n = count(1, what);
    if (!status_.ok()) return {};
    std::string s(bytes_.substr(at_, n));
    at_ += n;
    return s;
  }

  template <class T>  // int32_t or float
  std::vector<T> array(const std::string& what) {
    static_assert(sizeof(T) == 4);
    const uint64_t n = count(sizeof(T), what);
    if (!status_.ok()) return {};
    std::vector<T> a(n);
    const char* p = bytes_.data() + at_;
    if constexpr (kLittleEndianHost) {
      if (n > 0) std::memcpy(a.data(), p, n * sizeof(T));
    } else {
      for (uint64_t i = 0; i < n; ++i) a[i] = std::bit_cast<T>(static_cast<uint32_t>(load_le(p + 4 * i, 4)));
    }
    at_ += n * sizeof(T);
    return a;
  }

  // Reads a count of elements of `elem_bytes` each and checks they fit in what remains.
  uint64_t count(size_t elem_bytes, const std::string& what) {
    const size_t count_at = at_;
    const uint64_t n = u64((what + " count").c_str());
    if (!status_.ok()) return 0;
    if (n > remaining() / elem_bytes) {
      fail(what, "count " + str(n) + " of " + str(elem_bytes) + "-byte elements at byte " +
                     str(count_at) + ", " + str(remaining()) + " bytes left");
      return 0;
    }
    return n;
  }

 private:
  bool take(size_t n, const char* what) {
    if (!status_.ok()) return false;
    if (n > remaining()) {
      fail(what, "needs " + str(n) + " bytes at byte " + str(at_));
      return false;
    }
    at_ += n;
    return true;
  }

  void fail(const std::string& what, const std::string& detail) {
    // The reported end is the file's, checksum included: that is where a truncated file stops.
    status_ = data_loss("session file truncated at byte " + str(bytes_.size()) +
                        " while reading " + what + " (" + detail + ")");
  }

  std::string_view bytes_;
  size_t at_, end_;
  Status status_;
};

Status check_dim(const char* name, int64_t v) {
  if (v < 1 || v > kMaxDim) {
    return invalid_argument(std::string(name) + " " + std::to_string(v) + " outside [1, " +
                            std::to_string(kMaxDim) + "]");
  }
  return Status::ok_status();
}

Status check_lane(const SessionSnapshot& s, size_t index) {
  const SessionLaneData& lane = s.lanes[index];
  const std::string who = "lane " + std::to_string(index);
  const uint64_t len = lane.pos.size();
  const uint64_t rows = len * static_cast<uint64_t>(s.head_dim);  // len, D <= 2^40, 2^20
  if (lane.log_beta.size() != len) {
    return invalid_argument(who + ": " + str(lane.log_beta.size()) + " log_beta values for " +
                            str(len) + " positions");
  }
  if (lane.k.size() != rows || lane.v.size() != rows) {
    return invalid_argument(who + ": k size " + str(lane.k.size()) + " / v size " +
                            str(lane.v.size()) + " != len " + str(len) + " * head_dim " +
                            std::to_string(s.head_dim));
  }
  for (int32_t p : lane.pos) {
    if (p < 0 || p >= s.num_processed) {
      return invalid_argument(who + ": position " + std::to_string(p) + " not in [0, num_processed " +
                              std::to_string(s.num_processed) + ")");
    }
  }
  return Status::ok_status();
}

}  // namespace

Status check_session_snapshot(const SessionSnapshot& s) {
  if (Status st = validate_sequence_kv_config(s.kv); !st.ok()) {
    return invalid_argument("invalid kv config: " + st.message());
  }
  TS_RETURN_IF_ERROR(check_dim("num_layers", s.num_layers));
  TS_RETURN_IF_ERROR(check_dim("num_kv_heads", s.num_kv_heads));
  TS_RETURN_IF_ERROR(check_dim("head_dim", s.head_dim));
  if (s.num_processed < 0 || static_cast<uint64_t>(s.num_processed) != s.history.size()) {
    return invalid_argument("history has " + str(s.history.size()) +
                            " tokens but num_processed is " + std::to_string(s.num_processed));
  }
  for (size_t i = 0; i < s.history.size(); ++i) {
    if (s.history[i] < 0) {
      return invalid_argument("history token " + str(i) + " is negative (" +
                              std::to_string(s.history[i]) + ")");
    }
  }
  const uint64_t num_lanes = static_cast<uint64_t>(s.num_layers * s.num_kv_heads);
  if (s.lanes.size() != num_lanes) {
    return invalid_argument("lanes count " + str(s.lanes.size()) + " != num_layers * num_kv_heads = " +
                            str(num_lanes));
  }
  for (size_t i = 0; i < s.lanes.size(); ++i) TS_RETURN_IF_ERROR(check_lane(s, i));
  return Status::ok_status();
}

std::string encode_session(const SessionSnapshot& s) {
  const Status valid = check_session_snapshot(s);
  TS_CHECK_MSG(valid.ok(), valid.message().c_str());
  const std::string policy = kv_policy_name(s.kv.policy);

  // Sized exactly up front: a snapshot can be hundreds of MB, so no regrowth copies.
  size_t size = kHeaderBytes + 8 * 4 + s.tenant.size() + s.session_id.size() +
                s.model_fingerprint.size() + policy.size() + 8 * 8 + 8 + 4 * s.history.size() + 8 +
                kChecksumBytes;
  for (const SessionLaneData& lane : s.lanes) {
    size += kMinLaneBytes + 4 * (lane.pos.size() + lane.log_beta.size() + lane.k.size() + lane.v.size());
  }

  Writer w(size);
  w.raw(kMagic);
  w.u32(kSessionFileVersion);
  w.text(s.tenant);
  w.text(s.session_id);
  w.text(s.model_fingerprint);
  w.text(policy);
  w.i64(s.kv.budget);
  w.i64(s.kv.buffer);
  w.f64(s.kv.floor_ratio);
  w.i64(s.kv.window_sinks);
  w.i64(s.num_processed);
  w.i64(s.num_layers);
  w.i64(s.num_kv_heads);
  w.i64(s.head_dim);
  w.array(s.history);
  w.u64(s.lanes.size());
  for (const SessionLaneData& lane : s.lanes) {
    w.array(lane.pos);
    w.array(lane.log_beta);
    w.array(lane.k);
    w.array(lane.v);
  }
  w.u32(crc32c(w.bytes()));
  TS_CHECK(w.bytes().size() == size);
  return std::move(w.bytes());
}

Result<SessionSnapshot> decode_session(std::string_view bytes) {
  const size_t size = bytes.size();
  const auto truncated = [&](const char* what) {
    return data_loss("session file truncated at byte " + str(size) + " while reading " + what);
  };
  if (size < kMagic.size()) return truncated("magic");
  if (bytes.substr(0, kMagic.size()) != kMagic) {
    return data_loss("bad magic: not a trimserve session file");
  }
  if (size < kHeaderBytes) return truncated("version");
  const auto version = static_cast<uint32_t>(load_le(bytes.data() + kMagic.size(), 4));
  if (version != kSessionFileVersion) {
    return data_loss("unsupported version " + str(version) + " (this build reads version " +
                     str(kSessionFileVersion) + ")");
  }

  // Fields first, checksum after: a truncated file then says where it ends, not just that
  // its last four bytes are not a matching checksum.
  const size_t body_end = std::max(kHeaderBytes, size - kChecksumBytes);
  Reader r(bytes, kHeaderBytes, body_end);
  SessionSnapshot s;
  s.tenant = r.text("tenant");
  s.session_id = r.text("session_id");
  s.model_fingerprint = r.text("model fingerprint");
  const std::string policy = r.text("kv policy");
  s.kv.budget = r.i64("kv budget");
  s.kv.buffer = r.i64("kv buffer");
  s.kv.floor_ratio = r.f64("kv floor_ratio");
  s.kv.window_sinks = r.i64("kv window_sinks");
  s.num_processed = r.i64("num_processed");
  s.num_layers = r.i64("num_layers");
  s.num_kv_heads = r.i64("num_kv_heads");
  s.head_dim = r.i64("head_dim");
  s.history = r.array<int32_t>("history");
  const uint64_t num_lanes = r.count(kMinLaneBytes, "lanes");
  s.lanes.resize(num_lanes);
  for (uint64_t i = 0; i < num_lanes && r.status().ok(); ++i) {
    const std::string lane = "lane " + str(i);
    s.lanes[i].pos = r.array<int32_t>(lane + " positions");
    s.lanes[i].log_beta = r.array<float>(lane + " log_beta");
    s.lanes[i].k = r.array<float>(lane + " K rows");
    s.lanes[i].v = r.array<float>(lane + " V rows");
  }
  TS_RETURN_IF_ERROR(r.status());
  if (r.offset() != body_end) {
    return data_loss("session file has " + str(body_end - r.offset()) +
                     " unexpected bytes after the last lane at byte " + str(r.offset()));
  }
  if (size < body_end + kChecksumBytes) return truncated("checksum");
  const auto stored = static_cast<uint32_t>(load_le(bytes.data() + body_end, 4));
  const uint32_t computed = crc32c(bytes.substr(0, body_end));
  if (stored != computed) {
    return data_loss("checksum mismatch: stored " + hex32(stored) + " computed " + hex32(computed));
  }

  auto parsed = parse_kv_policy(policy);
  if (!parsed.ok()) return data_loss("inconsistent session file: kv policy: " + parsed.status().message());
  s.kv.policy = *parsed;
  if (Status st = check_session_snapshot(s); !st.ok()) {
    return data_loss("inconsistent session file: " + st.message());
  }
  return s;
}

}  // namespace trimserve
