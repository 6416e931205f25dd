// SessionDir: save/load round trip, missing keys, tenant isolation, corrupt and foreign files,
// disk accounting across a reopen (a daemon restart), failed writes that leave nothing behind,
// cleanup of interrupted writes, TTL expiry by file age.
#include "kvpool/session_dir.h"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "tests/support/temp_dir.h"

using namespace trimserve;
namespace fs = std::filesystem;

namespace {

const std::string kFingerprint = "tiny/L1-Hkv2-D4/f32";

SessionSnapshot snapshot(const std::string& tenant, const std::string& session_id,
                         int64_t num_tokens) {
  SessionSnapshot s;
  s.tenant = tenant;
  s.session_id = session_id;
  s.model_fingerprint = kFingerprint;
  s.kv.policy = KvPolicy::kTrimKv;
  s.kv.budget = 8;
  s.num_layers = 1;
  s.num_kv_heads = 2;
  s.head_dim = 4;
  for (int64_t t = 0; t < num_tokens; ++t) s.history.push_back(static_cast<int32_t>(t * 3 + 1));
  s.num_processed = num_tokens;
  s.lanes.resize(2);
  for (int64_t h = 0; h < 2; ++h) {
    for (int64_t t = 0; t < num_tokens; ++t) {
      s.lanes[h].pos.push_back(static_cast<int32_t>(t));
      s.lanes[h].log_beta.push_back(-0.5f * static_cast<float>(t));
      for (int c = 0; c < 4; ++c) {
        s.lanes[h].k.push_back(static_cast<float>(h * 100 + t * 10 + c));
        s.lanes[h].v.push_back(-static_cast<float>(h * 100 + t * 10 + c));
      }
    }
  }
  return s;
}

std::unique_ptr<SessionDir> open_dir(const std::string& path) {
  auto d = SessionDir::open(path);
  REQUIRE(d.ok());
  return std::move(*d);
}

std::set<std::string> file_names(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

TEST_CASE("session dir: save and load round trip", "[session_dir]") {
  testing::TempDir tmp;
  auto dir = open_dir(tmp.str());
  const SessionSnapshot s = snapshot("acme", "chat/../../etc\n\x00x", 5);
  REQUIRE(dir->save(s).ok());
  auto back = dir->load(s.tenant, s.session_id, kFingerprint);
  REQUIRE(back.ok());
  REQUIRE(back->has_value());
  const SessionSnapshot& got = **back;
  CHECK(got.tenant == s.tenant);
  CHECK(got.session_id == s.session_id);
  CHECK(got.history == s.history);
  CHECK(got.num_processed == 5);
  CHECK(got.kv.policy == KvPolicy::kTrimKv);
  REQUIRE(got.lanes.size() == 2);
  CHECK(got.lanes[1].k == s.lanes[1].k);
  CHECK(got.lanes[1].v == s.lanes[1].v);
  CHECK(got.lanes[0].log_beta == s.lanes[0].log_beta);

  // One file, named by the key's hash whatever bytes the key holds; no temporary left.
  const std::string name = fs::path(dir->path_for(s.tenant, s.session_id)).filename().string();
  CHECK(name.size() == 32 + 4);
  CHECK(name.ends_with(".tss"));
  CHECK(name.find_first_not_of("0123456789abcdef") == 32);
  CHECK(file_names(tmp.path()) == std::set<std::string>{name});
  struct stat st;
  REQUIRE(::stat(dir->path_for(s.tenant, s.session_id).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  // A second save replaces the first.
  REQUIRE(dir->save(snapshot("acme", s.session_id, 7)).ok());
  auto again = dir->load("acme", s.session_id, kFingerprint);
  REQUIRE(again.ok());
  REQUIRE(again->has_value());
  CHECK((*again)->num_processed == 7);
  CHECK(dir->num_files() == 1);
}

TEST_CASE("session dir: missing keys and tenant isolation", "[session_dir]") {
  testing::TempDir tmp;
  auto dir = open_dir(tmp.str());
  auto none = dir->load("acme", "nope", kFingerprint);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());

  REQUIRE(dir->save(snapshot("acme", "chat-1", 3)).ok());
  CHECK(dir->path_for("acme", "chat-1") != dir->path_for("globex", "chat-1"));
  // The length-prefixed key: moving bytes between tenant and session id changes the name.
  CHECK(dir->path_for("ab", "c") != dir->path_for("a", "bc"));
  auto other = dir->load("globex", "chat-1", kFingerprint);
  REQUIRE(other.ok());
  CHECK_FALSE(other->has_value());

  // remove() of an absent key is harmless; of another tenant's id leaves acme's file.
  dir->remove("globex", "chat-1");
  dir->remove("nobody", "nothing");
  auto mine = dir->load("acme", "chat-1", kFingerprint);
  REQUIRE(mine.ok());
  CHECK(mine->has_value());
  dir->remove("acme", "chat-1");
  auto gone = dir->load("acme", "chat-1", kFingerprint);
  REQUIRE(gone.ok());
  CHECK_FALSE(gone->has_value());
}

TEST_CASE("session dir: corrupt and foreign files", "[session_dir]") {
  testing::TempDir tmp;
  auto dir = open_dir(tmp.str());
  REQUIRE(dir->save(snapshot("acme", "chat-1", 4)).ok());
  const std::string path = dir->path_for("acme", "chat-1");
  const std::string good = read_all(path);

  SECTION("truncated") {
    write_all(path, good.substr(0, good.size() / 2));
    auto r = dir->load("acme", "chat-1", kFingerprint);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kDataLoss);
    CHECK(r.status().message().rfind("session file '" + path + "': session file truncated", 0) == 0);
  }
  SECTION("a flipped byte") {
    std::string bad = good;
    bad[bad.size() / 2] ^= 0x10;
    write_all(path, bad);
    auto r = dir->load("acme", "chat-1", kFingerprint);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kDataLoss);
  }
  SECTION("not a session file at all") {
    write_all(path, "hello");
    auto r = dir->load("acme", "chat-1", kFingerprint);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kDataLoss);
  }
  SECTION("another model's session") {
    auto r = dir->load("acme", "chat-1", "other-model/L1-Hkv2-D4/f32");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kFailedPrecondition);
    CHECK(r.status().message() ==
          "session file '" + path + "': foreign session file: model fingerprint '" + kFingerprint +
              "' != 'other-model/L1-Hkv2-D4/f32'");
  }
  SECTION("a file stored under another key's name (hash collision)") {
    fs::copy_file(path, dir->path_for("globex", "chat-9"));
    auto r = dir->load("globex", "chat-9", kFingerprint);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kFailedPrecondition);
    CHECK(r.status().message().find("foreign session file: it belongs to another") != std::string::npos);
    CHECK(r.status().message().find("acme") == std::string::npos);  // no other tenant's key
  }
  // What the caller does next: remove and recompute. The good file is untouched by loads.
  dir->remove("acme", "chat-1");
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("session dir: disk accounting survives a reopen", "[session_dir]") {
  testing::TempDir tmp;
  int64_t size_a = 0, size_b = 0;
  {
    auto dir = open_dir(tmp.str());
    CHECK(dir->bytes_on_disk() == 0);
    CHECK(dir->num_files() == 0);
    REQUIRE(dir->save(snapshot("acme", "a", 2)).ok());
    size_a = static_cast<int64_t>(fs::file_size(dir->path_for("acme", "a")));
    CHECK(dir->bytes_on_disk() == size_a);
    REQUIRE(dir->save(snapshot("acme", "b", 5)).ok());
    size_b = static_cast<int64_t>(fs::file_size(dir->path_for("acme", "b")));
    CHECK(size_b > size_a);
    CHECK(dir->bytes_on_disk() == size_a + size_b);
    CHECK(dir->num_files() == 2);
    // Overwrite a with a bigger snapshot.
    REQUIRE(dir->save(snapshot("acme", "a", 9)).ok());
    size_a = static_cast<int64_t>(fs::file_size(dir->path_for("acme", "a")));
    CHECK(dir->bytes_on_disk() == size_a + size_b);
    CHECK(dir->num_files() == 2);
  }
  // A restart: a new SessionDir over the same directory finds the files and loads them.
  tmp.write("unrelated.txt", "not ours, not counted, not deleted");
  auto dir = open_dir(tmp.str());
  CHECK(dir->bytes_on_disk() == size_a + size_b);
  CHECK(dir->num_files() == 2);
  auto a = dir->load("acme", "a", kFingerprint);
  REQUIRE(a.ok());
  REQUIRE(a->has_value());
  CHECK((*a)->num_processed == 9);
  dir->remove("acme", "a");
  CHECK(dir->bytes_on_disk() == size_b);
  CHECK(dir->num_files() == 1);
  dir->remove("acme", "a");  // twice: no change
  CHECK(dir->bytes_on_disk() == size_b);
  CHECK(fs::exists(tmp.file("unrelated.txt")));
}

TEST_CASE("session dir: open creates the directory and removes leftover temporaries",
          "[session_dir]") {
  testing::TempDir tmp;
  const std::string path = tmp.file("a/b/sessions");
  {
    auto dir = open_dir(path);
    REQUIRE(dir->save(snapshot("acme", "x", 1)).ok());
    CHECK(fs::is_directory(path));
    CHECK((fs::status(path).permissions() & fs::perms::all) == fs::perms::owner_all);
  }
  write_all(fs::path(path) / "0123.tss.77.1.tmp", "half a file");
  write_all(fs::path(path) / "other.tmp", "");
  auto dir = open_dir(path);
  CHECK(file_names(path).size() == 1);
  CHECK(dir->num_files() == 1);

  // A path that exists as a file is refused.
  auto bad = SessionDir::open(tmp.write("plain", "x"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == ErrorCode::kFailedPrecondition);
  auto empty = SessionDir::open("");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("session dir: a failed save leaves nothing behind", "[session_dir]") {
  testing::TempDir tmp;
  auto dir = open_dir(tmp.str());
  REQUIRE(dir->save(snapshot("acme", "old", 3)).ok());
  const auto before = file_names(tmp.path());
  const int64_t bytes_before = dir->bytes_on_disk();

  SECTION("read-only directory") {
    if (::geteuid() == 0) {
      WARN("running as root, which ignores directory permissions: skipped");
      return;
    }
    fs::permissions(tmp.path(), fs::perms::owner_read | fs::perms::owner_exec |
                                    fs::perms::group_read | fs::perms::group_exec |
                                    fs::perms::others_read | fs::perms::others_exec);
    const Status st = dir->save(snapshot("acme", "new", 3));
    fs::permissions(tmp.path(), fs::perms::owner_all);
    CHECK(st.code() == ErrorCode::kUnavailable);
    CHECK(st.message().find("Permission denied") != std::string::npos);
    // And open() refuses such a directory up front.
    fs::permissions(tmp.path(), fs::perms::owner_read | fs::perms::owner_exec);
    auto reopened = SessionDir::open(tmp.str());
    fs::permissions(tmp.path(), fs::perms::owner_all);
    REQUIRE_FALSE(reopened.ok());
    CHECK(reopened.status().code() == ErrorCode::kPermissionDenied);
  }
  SECTION("the disk fills up mid-write (file size limit)") {
    // RLIMIT_FSIZE makes write() fail with EFBIG part-way, like ENOSPC; works as root too.
    struct rlimit old_limit;
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old_limit;
    small.rlim_cur = 100;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    const Status st = dir->save(snapshot("acme", "old", 40));  // an overwrite that fails
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    ::signal(SIGXFSZ, old_handler);
    CHECK(st.code() == ErrorCode::kUnavailable);
    CHECK(st.message().rfind("writing '", 0) == 0);
    // The older save of the key is intact.
    auto old = dir->load("acme", "old", kFingerprint);
    REQUIRE(old.ok());
    REQUIRE(old->has_value());
    CHECK((*old)->num_processed == 3);
  }
  CHECK(file_names(tmp.path()) == before);
  CHECK(dir->bytes_on_disk() == bytes_before);
  CHECK(dir->num_files() == 1);
}

TEST_CASE("session dir: expire removes files older than the TTL", "[session_dir]") {
  testing::TempDir tmp;
  auto dir = open_dir(tmp.str());
  REQUIRE(dir->save(snapshot("acme", "stale", 2)).ok());
  REQUIRE(dir->save(snapshot("acme", "fresh", 2)).ok());
  const auto now = fs::file_time_type::clock::now();
  fs::last_write_time(dir->path_for("acme", "stale"), now - std::chrono::hours(2));
  CHECK(dir->expire(0) == 0);  // never
  CHECK(dir->expire(3 * 3600.0) == 0);
  CHECK(dir->expire(3600.0) == 1);
  CHECK_FALSE(fs::exists(dir->path_for("acme", "stale")));
  CHECK(fs::exists(dir->path_for("acme", "fresh")));
  CHECK(dir->num_files() == 1);
  CHECK(dir->bytes_on_disk() == static_cast<int64_t>(fs::file_size(dir->path_for("acme", "fresh"))));
}
