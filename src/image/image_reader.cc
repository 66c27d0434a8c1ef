#include "image/image_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "sys/io.h"

namespace crest {

ImageReader::ImageReader(int fd, std::string name) : fd_(fd), name_(std::move(name)), stream_hash_(XXH3_createState()) {
  XXH3_64bits_reset(stream_hash_);
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) base_ = lseek(fd, 0, SEEK_CUR);
}

// The payload of `length` bytes at the current offset as a mapping of the file; false
// (nothing done) where it cannot be: the file is shorter (the read then says where the
// image is truncated), mmap fails.
Result<bool> ImageReader::map_payload(Section& s, uint64_t length) {
  const uint64_t page = sysconf(_SC_PAGESIZE);
  const uint64_t at = static_cast<uint64_t>(base_) + offset_;
  struct stat st {};
  if (fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) < at + length) return false;
  if (lseek(fd_, 0, SEEK_CUR) != static_cast<off_t>(at)) return false;  // someone else moved it: read
  const uint64_t map_at = at & ~(page - 1);
  const size_t len = (at - map_at) + length;
  // MAP_POPULATE: the page table is filled at once from the page cache (no copy), so that
  // neither the checksum nor the copy into the process takes a fault per page.
  void* base = mmap(nullptr, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd_, static_cast<off_t>(map_at));
  if (base == MAP_FAILED) return false;
  if (lseek(fd_, static_cast<off_t>(at + length), SEEK_SET) < 0) {
    munmap(base, len);
    return Error::os(format("%s: seeking past a page section", name_.c_str()));
  }
  s.mapped = std::shared_ptr<const uint8_t>(static_cast<const uint8_t*>(base) + (at - map_at),
                                            [base, len](const uint8_t*) { munmap(base, len); });
  s.mapped_size = length;
  s.payload.clear();
  offset_ += length;
  return true;
}
ImageReader::~ImageReader() { XXH3_freeState(stream_hash_); }

Result<void> ImageReader::take(void* data, size_t size, const char* what, bool chain) {
  auto got = read_up_to(fd_, data, size, cancel_fd_);
  if (!got) return got.error().context(format("%s at byte %llu (%s)", name_.c_str(), static_cast<unsigned long long>(offset_), what));
  if (*got < size)
    return Error::corrupt(format("%s: image truncated at byte %llu (the stream ends inside %s)", name_.c_str(),
                                 static_cast<unsigned long long>(offset_ + *got), what));
  if (chain) XXH3_64bits_update(stream_hash_, data, size);  // headers only, as the writer
  offset_ += size;
  return {};
}

Result<ImageHeader> ImageReader::read_header() {
  ImageHeader h{};
  CR_TRY(take(&h, sizeof h, "the image header", true));
  if (memcmp(h.magic, kImageMagic, 8) != 0)
    return Error::corrupt(format("%s is not a crest image (bad magic at byte 0)", name_.c_str()));
  if (XXH3_64bits(&h, offsetof(ImageHeader, checksum)) != h.checksum)
    return Error::corrupt(format("%s: image header is corrupt (checksum mismatch in bytes 0-127)", name_.c_str()));
  if (h.format_version == 1)
    return Error::incompatible(format("%s: image format version 1 was made by an older crest (before file descriptor kinds "
                                      "had records of their own); this crest reads version %u only: re-checkpoint the "
                                      "process with this crest", name_.c_str(), kFormatVersion));
  if (h.format_version != kFormatVersion)
    return Error::incompatible(format("%s: image format version %u is not supported (this crest reads version %u)",
                                      name_.c_str(), h.format_version, kFormatVersion));
  if (h.arch != kArchX86_64)
    return Error::incompatible(format("%s: image is for architecture %u (ELF machine number), this machine is x86-64 (62)",
                                      name_.c_str(), h.arch));
  if (h.page_size != static_cast<uint32_t>(sysconf(_SC_PAGESIZE)))
    return Error::incompatible(format("%s: image page size %u differs from this machine's %ld", name_.c_str(),
                                      h.page_size, sysconf(_SC_PAGESIZE)));
  if (h.header_size != sizeof h)
    return Error::corrupt(format("%s: unexpected header size %u", name_.c_str(), h.header_size));
  return h;
}

Result<Section> ImageReader::next_section(std::vector<uint8_t> reuse) {
  if (complete_) return Error::corrupt(format("%s: read past the trailer", name_.c_str()));
  uint64_t start = offset_;
  const uint64_t stream_checksum_before = XXH3_64bits_digest(stream_hash_);  // does not change the state

  SectionHeader h{};
  CR_TRY(take(&h, sizeof h, "a section header", true));
  if (h.magic != kSectionMagic || section_header_check(h) != h.header_check)
    return Error::corrupt(format("%s: corrupt section header at byte %llu (bad magic or header checksum)", name_.c_str(),
                                 static_cast<unsigned long long>(start)));
  if (h.length > kMaxSectionPayload)
    return Error::corrupt(format("%s: section at byte %llu claims %llu bytes, more than the 1 GiB limit", name_.c_str(),
                                 static_cast<unsigned long long>(start), static_cast<unsigned long long>(h.length)));
  Section s{static_cast<SectionType>(h.type), h.owner, std::move(reuse)};
  const bool mapped = map_pages_ && s.type == SectionType::MemoryPages && h.length >= (64 << 10) && CR_TRY(map_payload(s, h.length));
  if (!mapped) {
    s.payload.resize(h.length);  // only bytes beyond the reused size are zero-filled
    CR_TRY(take(s.payload.data(), h.length, format("the payload of a %s section", section_name(s.type)).c_str(), false));
  }
  if (XXH3_64bits(s.bytes(), s.size()) != h.payload_checksum)
    return Error::corrupt(format("%s: checksum mismatch in the %s section at byte %llu (%llu bytes): the image is corrupt",
                                 name_.c_str(), section_name(s.type), static_cast<unsigned long long>(start),
                                 static_cast<unsigned long long>(h.length)));
  if (s.type == SectionType::Trailer) {
    TrailerRecord t{};
    if (s.payload.size() != sizeof t) return Error::corrupt(format("%s: malformed trailer", name_.c_str()));
    memcpy(&t, s.payload.data(), sizeof t);
    if (t.section_count != sections_ || t.stream_bytes != start || t.stream_checksum != stream_checksum_before)
      return Error::corrupt(format("%s: trailer does not match the stream (sections %llu/%llu, bytes %llu/%llu)",
                                   name_.c_str(), static_cast<unsigned long long>(t.section_count),
                                   static_cast<unsigned long long>(sections_), static_cast<unsigned long long>(t.stream_bytes),
                                   static_cast<unsigned long long>(start)));
    char end[8];
    CR_TRY(take(end, sizeof end, "the end marker", false));
    if (memcmp(end, kEndMagic, 8) != 0)
      return Error::corrupt(format("%s: image is corrupt: bad end marker at byte %llu", name_.c_str(),
                                   static_cast<unsigned long long>(offset_ - 8)));
    complete_ = true;
    return s;
  }
  switch (s.type) {
    case SectionType::Process: case SectionType::MemoryMap: case SectionType::MemoryPages:
    case SectionType::Thread: case SectionType::FdTable: case SectionType::Signals:
    case SectionType::FileData: case SectionType::ProcessTree: case SectionType::PipeData: case SectionType::SocketData:
    case SectionType::MemoryPagesCompressed: case SectionType::SysvIpc: case SectionType::Attributes:
    case SectionType::Trailer:
      break;
    default:
      return Error::corrupt(format("%s: unknown section type %u at byte %llu", name_.c_str(), h.type,
                                   static_cast<unsigned long long>(start)));
  }
  ++sections_;
  return s;
}

}  // namespace crest
