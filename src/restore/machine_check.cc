// The CPU and mapped-file checks a restart makes before it creates any process.
//
// A file mapped privately by reference gives the restored process every page it did not
// change, so a rebuilt library or an upgraded program would run the new code at the old
// addresses. What counts as "the same file":
//   - an ELF file with a build-id: the same build-id and the same size (a copy on another
//     machine, or a file touched, is the same build; a stripped or relinked one is not);
//   - any other file: the same size and modification time.
// The inode number is recorded too (cr_info shows it) but not compared: a copy on
// another machine, or one moved with --relocate, has another.
#include "restore/machine_check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/fd.h"
#include "base/format.h"
#include "sys/cpu_features.h"
#include "sys/elf_build_id.h"

namespace crest {

namespace {

std::string hex(const std::vector<uint8_t>& bytes) {
  std::string s;
  for (uint8_t b : bytes) s += format("%02x", b);
  return s;
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

// What differs between the saved identity and the file now ("" if nothing that counts).
Result<std::string> what_changed(const MappedFileRecord& rec, int fd, const struct stat& st) {
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (!rec.build_id.empty()) {
    std::vector<uint8_t> now;
    if (fd >= 0) now = CR_TRY(elf_build_id(fd));
    if (fd >= 0 && now != rec.build_id)
      return format("ELF build-id %s, the image's is %s", now.empty() ? "none" : hex(now).c_str(), hex(rec.build_id).c_str());
    if (size != rec.size) return format("same build-id, but %llu bytes where the image's had %llu", (unsigned long long)size,
                                        (unsigned long long)rec.size);
    return std::string();
  }
  if (size != rec.size)
    return format("%llu bytes, the image's had %llu", (unsigned long long)size, (unsigned long long)rec.size);
  if (mtime != rec.mtime_ns)
    return format("modified at %lld.%09lld, the image's at %lld.%09lld", (long long)(mtime / 1000000000),
                  (long long)(mtime % 1000000000), (long long)(rec.mtime_ns / 1000000000),
                  (long long)(rec.mtime_ns % 1000000000));
  return std::string();
}

}  // namespace

Result<void> check_machine(const ImageHeader& header, const CpuFeaturesRecord& cpu, const RestoreOptions& options) {
  utsname u{};
  char saved[sizeof header.kernel_release + 1] = {};
  memcpy(saved, header.kernel_release, sizeof header.kernel_release);
  if (uname(&u) == 0 && strcmp(saved, u.release) != 0)
    fprintf(stderr, "cr_restart: warning: the image was made on kernel %s, this is %s\n", saved, u.release);
  std::vector<std::string> missing = missing_cpu_features(cpu, this_cpu_features());
  if (missing.empty()) return {};
  std::string list = join(missing);
  if (options.allow_missing_cpu_features) {
    fprintf(stderr, "cr_restart: warning: this CPU lacks %s, which the checkpointed one had (--allow-missing-cpu-features)\n",
            list.c_str());
    return {};
  }
  return Error::incompatible(format("this CPU lacks %s, which the checkpointed CPU had and its programs may use "
                                    "(--allow-missing-cpu-features restarts it anyway)",
                                    list.c_str()));
}

Result<void> check_mapped_files(pid_t pid, const std::vector<MappedFileRecord>& files, const RestoreOptions& options) {
  for (const MappedFileRecord& rec : files) {
    const std::string path = relocate_path(rec.path, options.relocations);
    struct stat st {};
    Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.valid() ? fstat(fd.get(), &st) != 0 : ::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // reported, naming it, where it is mapped
      return Error::os(format("process %d maps %s", pid, path.c_str()));
    }
    std::string changed = CR_TRY(what_changed(rec, fd.get(), st), "process %d maps %s", pid, path.c_str());
    if (changed.empty()) continue;
    if (options.allow_changed_files) {
      fprintf(stderr, "cr_restart: warning: process %d maps %s, which has changed since the checkpoint: %s\n", pid,
              path.c_str(), changed.c_str());
      continue;
    }
    return Error(ErrorKind::IncompatibleImage, ESTALE,
                 format("process %d maps %s, which has changed since the checkpoint: %s (--allow-changed-files "
                        "restarts it anyway)",
                        pid, path.c_str(), changed.c_str()));
  }
  return {};
}

}  // namespace crest
