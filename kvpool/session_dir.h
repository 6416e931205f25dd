// SessionDir: the directory of persisted sessions (config kvpool.sessions.dir, DESIGN.md §4
// "Sessions"). Idle sessions are saved here as session files (kvpool/session_file.h) and
// loaded back on the session's next turn — also after a daemon restart — instead of
// recomputing their prompt.
//
// This is the one kvpool class that does file I/O (blocking POSIX calls); the KvPool facade
// and the session bookkeeping stay I/O-free and only hand snapshots to and from it.
//
// Layout: one file per (tenant, session_id), named by a 128-bit hash of the key
// (<32 hex digits>.tss), so any key bytes make a safe name and a name reveals nothing. The key
// itself is stored inside the file and verified on load; a hash collision therefore costs a
// recompute, never another tenant's cache. The naming is part of the on-disk contract: files
// written under another scheme are never loaded (expire() still removes them by age).
// Files are created 0600, and a directory open() creates 0700: they hold conversations.
// Writes go to "<final name>.<pid>.<n>.tmp" and are renamed into place, so a reader (or a
// restart after a crash) sees the old file or the new one, never a mix. The directory belongs
// to one daemon: open() deletes every "*.tmp" in it as leftovers of interrupted writes.
//
// Accounting: bytes_on_disk() and num_files() cover the *.tss files; they are initialised by
// scanning at open() and kept current by save/remove/expire (files changed behind the
// daemon's back are noticed at the next open()).
//
// Threading: not thread-safe; one owner thread (or external locking). Every call may block on
// the disk, so callers keep it off latency-critical paths where they can.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "kvpool/session_file.h"

namespace trimserve {

class SessionDir {
 public:
  // Creates the directory (and parents) if missing, checks it is a writable directory, removes
  // leftover temporary files and scans the session files for bytes_on_disk(). Errors:
  // kInvalidArgument (empty path), kFailedPrecondition (the path is not a directory); with the
  // OS error text, kPermissionDenied (EACCES/EPERM) and kUnavailable (anything else, e.g. a
  // read-only file system).
  static Result<std::unique_ptr<SessionDir>> open(const std::string& path);

  // Writes the session's file atomically: a temporary file in the directory, fsync, rename
  // over the final name (replacing an older save of the same key), fsync of the directory.
  // Errors (disk full, directory made read-only, ...): kUnavailable with the OS error; the
  // temporary file is removed and an older file of the key, if any, is left intact.
  // Precondition: check_session_snapshot(s).ok() (encode_session's).
  Status save(const SessionSnapshot& s);

  // The session saved for (tenant, session_id): nullopt when there is no file. Errors (the
  // message names the file): kDataLoss for a corrupt file (session_file.h's messages);
  // kFailedPrecondition "foreign session file: ..." when the stored (tenant, session_id)
  // differs from the requested one (a hash collision) or the stored model fingerprint is not
  // byte-equal to expected_fingerprint (another model or KV layout); kUnavailable when the
  // file cannot be read. On any error the caller logs it, remove()s the key and recomputes.
  // The file stays on disk after a successful load; the caller decides when to remove it.
  Result<std::optional<SessionSnapshot>> load(const std::string& tenant,
                                              const std::string& session_id,
                                              const std::string& expected_fingerprint);

  // Deletes the key's file; nothing happens when there is none (or when it cannot be deleted:
  // the next save() replaces it, expire() retries it).
  void remove(const std::string& tenant, const std::string& session_id);

  // Deletes session files last written more than ttl_s seconds ago (ttl_s <= 0: none);
  // returns how many were deleted.
  int64_t expire(double ttl_s);

  int64_t bytes_on_disk() const { return bytes_on_disk_; }
  int64_t num_files() const { return num_files_; }
  const std::filesystem::path& path() const { return dir_; }

  // Where the key's file lives (whether or not it exists).
  std::string path_for(const std::string& tenant, const std::string& session_id) const;

 private:
  explicit SessionDir(std::filesystem::path dir) : dir_(std::move(dir)) {}

  Status scan();
  // Deletes a session file and takes it out of the accounting; false if it was not deleted.
  bool delete_file(const std::filesystem::path& file);

  std::filesystem::path dir_;
  int64_t bytes_on_disk_ = 0;
  int64_t num_files_ = 0;
  uint64_t temp_counter_ = 0;
};

}  // namespace trimserve
