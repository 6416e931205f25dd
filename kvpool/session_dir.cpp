#include "kvpool/session_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <vector>

namespace trimserve {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSessionSuffix = ".tss";
constexpr std::string_view kTempSuffix = ".tmp";

// Appended piecewise: GCC 12 raises a false -Wrestrict on "'" + std::string + "'".
std::string quoted(const fs::path& p) {
  std::string q = "'";
  q += p.native();
  q += '\'';
  return q;
}

Status unavailable(const std::string& what, int err) {
  return Status(ErrorCode::kUnavailable, what + ": " + std::strerror(err));
}

// open()'s classification: permission problems are the operator's to fix, the rest (read-only
// or missing file system, I/O errors) make persistence unavailable.
Status os_error(const std::string& what, const std::error_code& ec) {
  const bool denied = ec.value() == EACCES || ec.value() == EPERM;
  return Status(denied ? ErrorCode::kPermissionDenied : ErrorCode::kUnavailable,
                what + ": " + ec.message());
}

bool has_suffix(const std::string& name, std::string_view suffix) {
  return name.size() > suffix.size() && name.ends_with(suffix);
}

// FNV-1a, 128-bit (prime 2^88 + 2^8 + 0x3B), over an unambiguous encoding of the key: the
// tenant's length (8 bytes LE) first, so ("ab", "c") and ("a", "bc") differ.
std::string key_hash_hex(const std::string& tenant, const std::string& session_id) {
  using u128 = unsigned __int128;
  const u128 prime = (u128{1} << 88) | 0x13Bu;
  u128 h = (u128{0x6C62272E07BB0142u} << 64) | 0x62B821756295C58Du;  // offset basis
  const auto mix = [&](unsigned char c) {
    h ^= c;
    h *= prime;
  };
  const auto tenant_len = static_cast<uint64_t>(tenant.size());
  for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>((tenant_len >> (8 * i)) & 0xFFu));
  for (char c : tenant) mix(static_cast<unsigned char>(c));
  for (char c : session_id) mix(static_cast<unsigned char>(c));
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(h >> 64),
                static_cast<unsigned long long>(h & ~uint64_t{0}));
  return buf;
}

// Size of a regular file, or -1 when it does not exist (or is not a regular file).
int64_t file_size_or_absent(const fs::path& p) {
  struct stat st;
  if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  return static_cast<int64_t>(st.st_size);
}

// Creates `path` (which must not exist) holding `bytes`, flushed to the device. On failure the
// partial file is removed.
Status write_new_file(const fs::path& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return unavailable("creating " + quoted(path), errno);
  const auto fail = [&](const char* op) {
    const int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return unavailable(std::string(op) + " " + quoted(path), err);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("writing");
    }
    done += static_cast<size_t>(n);
  }
  // Flush before the rename: otherwise a crash could leave the new name on empty blocks.
  if (::fsync(fd) != 0) return fail("flushing");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    return unavailable("closing " + quoted(path), err);
  }
  return Status::ok_status();
}

// Reads a whole file. nullopt when it does not exist.
Result<std::optional<std::string>> read_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return unavailable("opening " + quoted(path), errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return unavailable("reading " + quoted(path), err);
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return unavailable("reading " + quoted(path), err);
    }
    if (n == 0) break;  // shrank since fstat: decoding reports the truncation
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  data.resize(done);
  return std::optional<std::string>(std::move(data));
}

}  // namespace

Result<std::unique_ptr<SessionDir>> SessionDir::open(const std::string& path) {
  if (path.empty()) return invalid_argument("session directory path is empty");
  const fs::path dir(path);
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    return failed_precondition("session directory " + quoted(dir) + " is not a directory");
  }
  const bool created = fs::create_directories(dir, ec);
  if (ec) return os_error("creating session directory " + quoted(dir), ec);
  // Session files hold conversations (token ids, K/V): a directory made here is private.
  if (created) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  // Found now rather than at the first save, which would only log and recompute.
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return os_error("session directory " + quoted(dir) + " is not writable",
                    std::error_code(errno, std::generic_category()));
  }
  std::unique_ptr<SessionDir> d(new SessionDir(dir));
  TS_RETURN_IF_ERROR(d->scan());
  return d;
}

Status SessionDir::scan() {
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  const fs::directory_iterator end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code entry_ec;  // an entry that vanished or cannot be examined is skipped
    if (!it->is_regular_file(entry_ec)) continue;
    if (has_suffix(name, kTempSuffix)) {
      fs::remove(it->path(), entry_ec);  // a leftover that stays costs only disk space
    } else if (has_suffix(name, kSessionSuffix)) {
      const auto size = it->file_size(entry_ec);
      if (entry_ec) continue;
      bytes_on_disk_ += static_cast<int64_t>(size);
      ++num_files_;
    }
  }
  if (ec) return os_error("scanning session directory " + quoted(dir_), ec);
  return Status::ok_status();
}

std::string SessionDir::path_for(const std::string& tenant, const std::string& session_id) const {
  return (dir_ / (key_hash_hex(tenant, session_id) + std::string(kSessionSuffix))).string();
}

Status SessionDir::save(const SessionSnapshot& s) {
  const std::string bytes = encode_session(s);
  const fs::path final_path = path_for(s.tenant, s.session_id);
  const fs::path temp_path = final_path.string() + "." + std::to_string(::getpid()) + "." +
                             std::to_string(++temp_counter_) + std::string(kTempSuffix);
  TS_RETURN_IF_ERROR(write_new_file(temp_path, bytes));
  const int64_t old_size = file_size_or_absent(final_path);
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp_path.c_str());
    return unavailable("renaming " + quoted(temp_path) + " to " + quoted(final_path), err);
  }
  if (old_size >= 0) {
    bytes_on_disk_ -= old_size;
  } else {
    ++num_files_;
  }
  bytes_on_disk_ += static_cast<int64_t>(bytes.size());

  // The rename itself is durable only once the directory is flushed. The file is complete
  // either way, so a failure here is reported but changes nothing above.
  const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return unavailable("opening " + quoted(dir_) + " to flush it", errno);
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (rc != 0) return unavailable("flushing " + quoted(dir_), err);
  return Status::ok_status();
}

Result<std::optional<SessionSnapshot>> SessionDir::load(const std::string& tenant,
                                                        const std::string& session_id,
                                                        const std::string& expected_fingerprint) {
  const std::string path = path_for(tenant, session_id);
  const std::string context = "session file '" + path + "'";
  auto bytes = read_file(path);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<SessionSnapshot>();
  auto snapshot = decode_session(**bytes);
  if (!snapshot.ok()) return snapshot.status().with_context(context);
  // The stored key is not echoed: it is another tenant's.
  if (snapshot->tenant != tenant || snapshot->session_id != session_id) {
    return failed_precondition(
        context + ": foreign session file: it belongs to another (tenant, session_id)");
  }
  if (snapshot->model_fingerprint != expected_fingerprint) {
    return failed_precondition(context + ": foreign session file: model fingerprint '" +
                               snapshot->model_fingerprint + "' != '" + expected_fingerprint + "'");
  }
  return std::optional<SessionSnapshot>(std::move(*snapshot));
}

bool SessionDir::delete_file(const fs::path& file) {
  const int64_t size = file_size_or_absent(file);
  if (size < 0 || ::unlink(file.c_str()) != 0) return false;
  bytes_on_disk_ -= size;
  --num_files_;
  return true;
}

void SessionDir::remove(const std::string& tenant, const std::string& session_id) {
  delete_file(path_for(tenant, session_id));
}

int64_t SessionDir::expire(double ttl_s) {
  if (!(ttl_s > 0)) return 0;
  const auto now = fs::file_time_type::clock::now();
  const auto ttl = std::chrono::duration<double>(ttl_s);
  // Collected first: deleting entries while iterating a directory is unspecified in POSIX.
  std::vector<fs::path> old;
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  const fs::directory_iterator end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code entry_ec;
    if (!has_suffix(name, kSessionSuffix) || !it->is_regular_file(entry_ec)) continue;
    const auto written = it->last_write_time(entry_ec);
    if (!entry_ec && now - written > ttl) old.push_back(it->path());
  }
  int64_t n = 0;
  for (const fs::path& p : old) n += delete_file(p) ? 1 : 0;
  return n;
}

}  // namespace trimserve
