// On-disk layout of a crest image (docs/image-format.md is the byte-level spec).
#pragma once

#include <cstdint>

namespace crest {

inline constexpr char kImageMagic[8] = {'C', 'R', 'E', 'S', 'T', 'I', 'M', 'G'};
inline constexpr char kEndMagic[8] = {'C', 'R', 'E', 'S', 'T', 'E', 'N', 'D'};
// Version 2: FdRecord keeps the fields every descriptor has and carries its kind's own
// record as a payload (src/fds/). Version 1 images (positional per-kind parameters) are
// refused by name: they were made by an older crest.
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint32_t kArchX86_64 = 62;  // ELF EM_X86_64
inline constexpr uint32_t kSectionMagic = 0x45535243;  // "CRSE" little-endian
inline constexpr uint64_t kMaxSectionPayload = 1ull << 30;

// Section type numbers are stable and never reused.
enum class SectionType : uint32_t {
  Process = 1,      // ProcessRecord
  MemoryMap = 2,    // MemoryMapRecord
  MemoryPages = 3,  // one or more runs: PageRunHeader + page data
  Thread = 4,       // ThreadRecord
  FdTable = 5,      // FdTableRecord
  Signals = 6,      // SignalsRecord
  FileData = 7,     // contents of a deleted-but-open file: u32 fd index, then bytes
  ProcessTree = 8,  // ProcessTreeRecord
  PipeData = 9,     // u64 pipe_id, u32 pipe size, u32 0, then the bytes buffered in the pipe
  MemoryPagesCompressed = 11,  // a MemoryPages payload compressed (image/compression.h)
  SocketData = 10,  // u64 inode, u32 message count, u32 0, then per message: u32 length,
                    // u32 sender name length, sender name, bytes
  SysvIpc = 12,     // SysvIpcRecord: System V semaphore sets and message queues the job uses
  Attributes = 20,  // AttributesRecord: the process's attributes, one entry per unit (src/attrs)
  Trailer = 0xFFFF,
};

const char* section_name(SectionType t);

struct SectionHeader;
uint32_t section_header_check(SectionHeader h);

#pragma pack(push, 1)
struct ImageHeader {
  char magic[8];
  uint32_t format_version;
  uint32_t arch;
  uint32_t page_size;
  uint32_t header_size;        // sizeof(ImageHeader)
  char kernel_release[64];     // uname -r of the checkpointing machine, NUL-padded
  char crest_version[24];      // NUL-padded
  uint64_t flags;              // 0
  uint64_t checksum;           // XXH3-64 of the 120 bytes before it
};
static_assert(sizeof(ImageHeader) == 128);

struct SectionHeader {
  uint32_t magic;              // kSectionMagic
  uint32_t type;               // SectionType
  uint32_t owner;              // pid or tid the section belongs to; 0 = global
  uint32_t header_check;       // low 32 bits of XXH3-64 over the other 28 bytes (this field as 0)
  uint64_t length;             // payload bytes that follow
  uint64_t payload_checksum;   // XXH3-64 of the payload
};
static_assert(sizeof(SectionHeader) == 32);

struct TrailerRecord {
  uint64_t section_count;      // sections before the trailer
  uint64_t stream_bytes;       // bytes of the stream before the trailer's section header
  uint64_t stream_checksum;    // XXH3-64 of the image header and every section header before
                               // the trailer (each section header holds its payload checksum)
};
static_assert(sizeof(TrailerRecord) == 24);

// The head of a PipeData or SocketData payload.
struct ObjectDataHeader {
  uint64_t object_id;          // the pipe's or socket's inode
  uint32_t value;              // PipeData: the pipe's size; SocketData: the message count
  uint32_t zero;
};
static_assert(sizeof(ObjectDataHeader) == 16);

struct PageRunHeader {
  uint64_t address;            // first page
  uint64_t page_count;         // page_count * page_size bytes of data follow
};
static_assert(sizeof(PageRunHeader) == 16);
// A MemoryPages payload holds at most its runs' headers and kMaxSectionPages pages in all
// (the writer's buffer: one header and kMaxSectionPages pages). Readers rely on it to
// bound what a compressed section may claim.
inline constexpr uint64_t kMaxSectionPages = 1024;
inline constexpr uint64_t kPageRunHeaderBytes = sizeof(PageRunHeader);
#pragma pack(pop)

}  // namespace crest
