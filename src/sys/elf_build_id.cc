// Reads an ELF file's build-id note with pread, checking every offset and size it
// takes from the file against the file's size.
#include "sys/elf_build_id.h"

#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace crest {

namespace {

// Exactly `size` bytes at `off`, or false (short file, or read error in `err`).
bool read_at(int fd, void* out, size_t size, uint64_t off, int& err) {
  auto* p = static_cast<uint8_t*>(out);
  while (size > 0) {
    ssize_t n = pread(fd, p, size, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
    off += static_cast<uint64_t>(n);
  }
  return true;
}

constexpr size_t kMaxNotes = 64 * 1024;  // note segments are a few hundred bytes

}  // namespace

Result<std::vector<uint8_t>> elf_build_id(int fd) {
  int err = 0;
  Elf64_Ehdr eh;
  if (!read_at(fd, &eh, sizeof eh, 0, err)) {
    if (err) return Error::os("reading an ELF header", err);
    return std::vector<uint8_t>{};
  }
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 4096)
    return std::vector<uint8_t>{};
  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  if (!read_at(fd, ph.data(), ph.size() * sizeof(Elf64_Phdr), eh.e_phoff, err)) {
    if (err) return Error::os("reading ELF program headers", err);
    return std::vector<uint8_t>{};
  }
  for (const Elf64_Phdr& p : ph) {
    if (p.p_type != PT_NOTE || p.p_filesz == 0 || p.p_filesz > kMaxNotes) continue;
    std::vector<uint8_t> notes(p.p_filesz);
    if (!read_at(fd, notes.data(), notes.size(), p.p_offset, err)) {
      if (err) return Error::os("reading an ELF note segment", err);
      continue;
    }
    const uint64_t align = p.p_align == 8 ? 8 : 4;
    auto up = [align](uint64_t n) { return (n + align - 1) & ~(align - 1); };
    uint64_t at = 0;
    while (at + sizeof(Elf64_Nhdr) <= notes.size()) {
      Elf64_Nhdr nh;
      memcpy(&nh, notes.data() + at, sizeof nh);
      uint64_t name_at = at + sizeof nh;
      uint64_t desc_at = name_at + up(nh.n_namesz);
      uint64_t next = desc_at + up(nh.n_descsz);
      if (desc_at > notes.size() || nh.n_descsz > notes.size() - desc_at) break;
      if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(notes.data() + name_at, "GNU", 4) == 0)
        return std::vector<uint8_t>(notes.begin() + desc_at, notes.begin() + desc_at + nh.n_descsz);
      at = next;
    }
  }
  return std::vector<uint8_t>{};
}

}  // namespace crest
