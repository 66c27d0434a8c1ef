#include "image/image_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "sys/io.h"

namespace crest {

const char* section_name(SectionType t) {
  switch (t) {
    case SectionType::Process: return "Process";
    case SectionType::MemoryMap: return "MemoryMap";
    case SectionType::MemoryPages: return "MemoryPages";
    case SectionType::Thread: return "Thread";
    case SectionType::FdTable: return "FdTable";
    case SectionType::Signals: return "Signals";
    case SectionType::FileData: return "FileData";
    case SectionType::ProcessTree: return "ProcessTree";
    case SectionType::PipeData: return "PipeData";
    case SectionType::SocketData: return "SocketData";
    case SectionType::SysvIpc: return "SysvIpc";
    case SectionType::Attributes: return "Attributes";
    case SectionType::MemoryPagesCompressed: return "MemoryPagesCompressed";
    case SectionType::Trailer: return "Trailer";
  }
  return "unknown";
}

ImageWriter::ImageWriter(int fd) : fd_(fd), stream_hash_(XXH3_createState()) {
  XXH3_64bits_reset(stream_hash_);
  struct stat st {};
  int flags = fcntl(fd, F_GETFL);
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flags >= 0 && !(flags & O_APPEND)) base_ = lseek(fd, 0, SEEK_CUR);
}
ImageWriter::~ImageWriter() { XXH3_freeState(stream_hash_); }

// `chain`: the bytes are a header, part of the trailer's checksum. Payloads are not: each
// has its own checksum in its section header, which is chained, so the trailer still
// covers every byte once, without hashing the payloads twice.
Result<void> ImageWriter::emit(const void* data, size_t size, bool chain) {
  CR_TRY(write_all(fd_, data, size), "writing image");
  if (chain) XXH3_64bits_update(stream_hash_, data, size);
  bytes_ += size;
  return {};
}

Result<void> ImageWriter::write_header() {
  ImageHeader h{};
  memcpy(h.magic, kImageMagic, 8);
  h.format_version = kFormatVersion;
  h.arch = kArchX86_64;
  h.page_size = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  h.header_size = sizeof h;
  utsname u{};
  uname(&u);
  // NUL-padded, and always ending in a NUL (h is zeroed).
  memcpy(h.kernel_release, u.release, std::min(strlen(u.release), sizeof h.kernel_release - 1));
  memcpy(h.crest_version, CREST_VERSION, std::min(strlen(CREST_VERSION), sizeof h.crest_version - 1));
  h.checksum = XXH3_64bits(&h, offsetof(ImageHeader, checksum));
  return emit(&h, sizeof h, true);
}

uint32_t section_header_check(SectionHeader h) {
  h.header_check = 0;
  return static_cast<uint32_t>(XXH3_64bits(&h, sizeof h));
}

Result<void> ImageWriter::write_section(SectionType type, uint32_t owner,
                                        std::initializer_list<std::pair<const void*, size_t>> parts) {
  SectionHeader h{};
  h.magic = kSectionMagic;
  h.type = static_cast<uint32_t>(type);
  h.owner = owner;
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  for (auto& [p, n] : parts) {
    h.length += n;
    XXH3_64bits_update(st, p, n);
  }
  h.payload_checksum = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  h.header_check = section_header_check(h);
  CR_TRY(emit(&h, sizeof h, true));
  for (auto& [p, n] : parts) CR_TRY(emit(p, n, false));
  ++sections_;
  return {};
}

SectionHeader ImageWriter::header_of(SectionType type, uint32_t owner, size_t size, uint64_t checksum) const {
  SectionHeader h{};
  h.magic = kSectionMagic;
  h.type = static_cast<uint32_t>(type);
  h.owner = owner;
  h.length = size;
  h.payload_checksum = checksum;
  h.header_check = section_header_check(h);
  return h;
}

Result<void> ImageWriter::commit_in_place(SectionType type, uint32_t owner, size_t size, uint64_t checksum) {
  const SectionHeader h = header_of(type, owner, size, checksum);
  const off_t at = static_cast<off_t>(payload_offset() - sizeof h);
  if (pwrite(fd_, &h, sizeof h, at) != static_cast<ssize_t>(sizeof h)) return Error::os("writing image (section header)");
  const off_t end = at + static_cast<off_t>(sizeof h + size);
  if (ftruncate(fd_, end) != 0 || lseek(fd_, end, SEEK_SET) != end) return Error::os("writing image (end of a section)");
  XXH3_64bits_update(stream_hash_, &h, sizeof h);
  bytes_ += sizeof h + size;
  ++sections_;
  return {};
}

Result<void> ImageWriter::discard_in_place() {
  const off_t end = static_cast<off_t>(payload_offset() - sizeof(SectionHeader));
  if (ftruncate(fd_, end) != 0 || lseek(fd_, end, SEEK_SET) != end) return Error::os("writing image (an empty section)");
  return {};
}

Result<void> ImageWriter::write_section_prehashed(SectionType type, uint32_t owner, const void* payload, size_t size,
                                                  uint64_t checksum) {
  const SectionHeader h = header_of(type, owner, size, checksum);
  CR_TRY(emit(&h, sizeof h, true));
  CR_TRY(emit(payload, size, false));
  ++sections_;
  return {};
}

Result<void> ImageWriter::write_trailer() {
  TrailerRecord t{sections_, bytes_, XXH3_64bits_digest(stream_hash_)};
  CR_TRY(write_section(SectionType::Trailer, 0, {{&t, sizeof t}}));
  return emit(kEndMagic, sizeof kEndMagic, false);
}

}  // namespace crest
