#include "sys/io.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "base/fd.h"

namespace crest {

Result<void> write_all(int fd, const void* data, size_t size) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) return Error::os("write (interrupted)", EINTR);
      return Error::os("write");
    }
    p += n;
    size -= n;
  }
  return {};
}

Result<size_t> read_up_to(int fd, void* data, size_t size, int cancel) {
  auto* p = static_cast<char*>(data);
  size_t got = 0;
  while (got < size) {
    if (cancel >= 0) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {cancel, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return Error::os("poll");
      }
      if (fds[1].revents) return Error::os("reading: cancelled", ECANCELED);
    }
    ssize_t n = ::read(fd, p + got, size - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::os("read");
    }
    if (n == 0) break;
    got += n;
  }
  return got;
}

Result<void> read_exact(int fd, void* data, size_t size, const char* what, int cancel) {
  size_t got = CR_TRY(read_up_to(fd, data, size, cancel), "reading %s", what);
  if (got < size) return Error::corrupt(format("image truncated: end of stream inside %s (%zu of %zu bytes)", what, got, size));
  return {};
}

Result<std::string> read_text_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::os("open " + path);
  // Most /proc files fit the stack buffer; a large one (smaps of a process with 10,000
  // areas is ~10 MB) is read straight into a heap buffer grown 4x at a time, where
  // appending 64 KiB reads to a string copied it several times over.
  char stack[4096];
  std::unique_ptr<char[]> heap;
  char* buf = stack;
  size_t cap = sizeof stack, len = 0;
  for (;;) {
    if (cap - len < 1024) {
      size_t bigger = cap * 4;
      std::unique_ptr<char[]> grown(new char[bigger]);  // not zero-filled
      memcpy(grown.get(), buf, len);
      heap = std::move(grown);
      buf = heap.get();
      cap = bigger;
    }
    ssize_t n = ::read(fd.get(), buf + len, cap - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::os("read " + path);
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  return std::string(buf, len);
}

Result<Fd> dup_target_fd(pid_t pid, int fd) {
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return Error::os(format("pidfd_open(%d)", pid));
  Fd dup(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
  if (!dup.valid()) return Error::os(format("pidfd_getfd of fd %d of process %d", fd, pid));
  return dup;
}

Result<std::string> read_link(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return Error::os("readlink " + path);
  return std::string(buf, n);
}

}  // namespace crest
