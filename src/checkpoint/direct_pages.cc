#include "checkpoint/direct_pages.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "base/scope_exit.h"
#include "checkpoint/page_runs.h"
#include "image/format.h"
#include "sys/io.h"

namespace crest {

namespace {

constexpr size_t kPipeBytes = 1 << 20;  // /proc/sys/fs/pipe-max-size's default: no privilege needed
constexpr size_t kIovOutput = 64;       // the iovecs' offset in the area's outputs (after the pipe fds)
static_assert(kIovOutput + 4 * sizeof(iovec) <= InjectionArea::kOutputSize);

}  // namespace

Result<std::unique_ptr<DirectPages>> DirectPages::open(ImageWriter& writer, const Tracee& leader, pid_t pid,
                                                       uint64_t gadget, bool borrow_gadget) {
  if (!writer.in_place()) return std::unique_ptr<DirectPages>();
  std::unique_ptr<DirectPages> d(new DirectPages(writer, leader, pid));
  // The mapping that packs and hashes each payload needs the image readable: reopened.
  d->image_rw_ = Fd(::open(format("/proc/self/fd/%d", writer.fd()).c_str(), O_RDWR | O_CLOEXEC));
  if (!d->image_rw_.valid()) return std::unique_ptr<DirectPages>();  // the buffered path then
  d->area_ = CR_TRY(InjectionArea::create(leader, gadget, borrow_gadget), "process %d", pid);
  std::vector<BatchCall> calls;
  for (size_t k = 0; k < kPipes; ++k) calls.push_back({SYS_pipe2, {d->area_->output(8 * k), O_CLOEXEC}});
  auto made = CR_TRY(d->area_->run(leader, calls), "making pipes in process %d", pid);
  int fds[2 * kPipes] = {};
  CR_TRY(leader.read_memory(d->area_->output(0), fds, sizeof fds));
  std::vector<int> read_ends_there;
  for (size_t k = 0; k < kPipes; ++k) {
    if (made[k] != 0) return Error::remote(format("pipe2 in process %d", pid), static_cast<int>(-made[k]));
    d->write_ends_[k] = fds[2 * k + 1];  // closed by the destructor from here on
    read_ends_there.push_back(fds[2 * k]);
  }
  auto taken = [&]() -> Result<void> {
    for (size_t k = 0; k < kPipes; ++k) {
      d->read_ends_[k] = CR_TRY(dup_target_fd(pid, fds[2 * k]));
      (void)fcntl(d->read_ends_[k].get(), F_SETPIPE_SZ, kPipeBytes);  // smaller if the user's pipe quota is spent
      int size = fcntl(d->read_ends_[k].get(), F_GETPIPE_SZ);
      if (size <= 0) return Error::os("F_GETPIPE_SZ");
      d->capacity_[k] = static_cast<size_t>(size);
    }
    return {};
  }();
  calls.clear();
  for (int fd : read_ends_there) calls.push_back({SYS_close, {static_cast<uint64_t>(fd)}});
  auto closed = d->area_->run(leader, calls);
  if (!taken) return taken.error();
  if (!closed) return closed.error();
  return d;
}

DirectPages::~DirectPages() {
  if (!area_) return;
  std::vector<BatchCall> calls;
  for (int fd : write_ends_)
    if (fd >= 0) calls.push_back({SYS_close, {static_cast<uint64_t>(fd)}});
  if (!calls.empty()) (void)area_->run(leader_, calls);
  area_.reset();  // unmapped
}

Result<uint64_t> DirectPages::write_range(uint64_t addr, uint64_t pages, bool keep_zeros) {
  const uint64_t page = sysconf(_SC_PAGESIZE);
  uint64_t written = 0;
  while (pages > 0) {
    uint64_t n = std::min<uint64_t>(pages, kMaxSectionPages);
    written += CR_TRY(write_section(addr, n, keep_zeros));
    addr += n * page;
    pages -= n;
  }
  return written;
}

Result<uint64_t> DirectPages::write_section(uint64_t addr, uint64_t pages, bool keep_zeros) {
  const uint64_t page = sysconf(_SC_PAGESIZE);
  const uint64_t at = writer_.payload_offset();
  const PageRunHeader head{addr, pages};
  if (pwrite(image_rw_.get(), &head, sizeof head, static_cast<off_t>(at)) != static_cast<ssize_t>(sizeof head))
    return Error::os("writing image (page run header)");
  CR_TRY(splice_bytes(addr, pages * page, at + sizeof head));
  // Pack and checksum the payload in the page cache, through a shared mapping of it.
  const uint64_t map_at = at & ~(page - 1);
  const size_t map_len = (at - map_at) + sizeof head + pages * page;
  void* map = mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, image_rw_.get(), static_cast<off_t>(map_at));
  if (map == MAP_FAILED) return Error::os("mapping the image to checksum pages");
  ScopeExit unmap([&] { munmap(map, map_len); });
  uint8_t* payload = static_cast<uint8_t*>(map) + (at - map_at);
  const size_t size = keep_zeros ? sizeof head + pages * page : pack_runs_skip_zeros(payload, addr, pages, page);
  if (size == 0) {
    CR_TRY(writer_.discard_in_place());
    return uint64_t{0};
  }
  CR_TRY(writer_.commit_in_place(SectionType::MemoryPages, static_cast<uint32_t>(pid_), size, XXH3_64bits(payload, size)));
  return uint64_t{size};
}

// The process vmsplices up to one pipe's worth into each pipe (one injected batch), crest
// splices each pipe to its place in the image. vmsplice'd pages are referenced, not
// copied, until they are spliced: that is safe because every thread of the process is
// stopped for the whole dump and every pipe is drained before this returns, so the image
// gets the bytes of the frozen process. What vmsplice does not take (a short count, an
// error) is copied the slow way.
Result<void> DirectPages::splice_bytes(uint64_t addr, uint64_t size, uint64_t at) {
  const uint64_t start = addr;
  while (size > 0) {
    iovec iov[kPipes] = {};
    std::vector<BatchCall> calls;
    uint64_t taken = 0;
    for (size_t k = 0; k < kPipes && taken < size; ++k) {
      uint64_t len = std::min<uint64_t>(capacity_[k], size - taken);
      iov[k] = {reinterpret_cast<void*>(addr + taken), len};
      calls.push_back({SYS_vmsplice, {static_cast<uint64_t>(write_ends_[k]), area_->output(kIovOutput + k * sizeof(iovec)), 1,
                                      SPLICE_F_NONBLOCK}});
      taken += len;
    }
    CR_TRY(leader_.write_memory(area_->output(kIovOutput), iov, calls.size() * sizeof(iovec)));
    auto got = CR_TRY(area_->run(leader_, calls), "vmsplice in process %d", pid_);
    for (size_t k = 0; k < calls.size(); ++k) {
      const uint64_t from = reinterpret_cast<uint64_t>(iov[k].iov_base);
      loff_t to = static_cast<loff_t>(at + (from - start));
      size_t in_pipe = got[k] > 0 ? static_cast<size_t>(got[k]) : 0;
      for (size_t left = in_pipe; left > 0;) {
        ssize_t m = splice(read_ends_[k].get(), nullptr, image_rw_.get(), &to, left, SPLICE_F_MOVE);
        if (m <= 0) return Error::os("splice into the image");
        left -= static_cast<size_t>(m);
      }
      if (in_pipe < iov[k].iov_len) {
        std::vector<uint8_t> rest(iov[k].iov_len - in_pipe);
        CR_TRY(leader_.read_memory(from + in_pipe, rest.data(), rest.size()));
        if (pwrite(image_rw_.get(), rest.data(), rest.size(), to) != static_cast<ssize_t>(rest.size()))
          return Error::os("writing image (pages)");
      }
    }
    addr += taken;
    size -= taken;
  }
  return {};
}

}  // namespace crest
