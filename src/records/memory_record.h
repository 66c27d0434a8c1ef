// MemoryMapRecord: every area of the address space and how to recreate it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "records/machine_record.h"

namespace crest {

enum class VmaKind : uint8_t {
  Anonymous = 1,      // private anonymous (heap, stack, malloc arenas); pages in the image
  FilePrivate = 2,    // private file mapping; pages that differ from the file in the image
  FileShared = 3,     // shared file mapping; by reference to the file, no pages
  SharedAnon = 4,     // shared anonymous (or of a deleted file / memfd); all pages in the image
  Vdso = 5,           // [vdso], [vvar], [vvar_vclock]: this kernel's, moved into place
  DeletedPrivate = 6, // private mapping of a deleted file: all pages in the image, restored anonymous
  SysvShm = 7,        // System V shared memory attachment: object_id = shmid, all pages saved once
};

// madvise-style flags carried from VmFlags
enum VmaAdvice : uint32_t {
  kAdviceGrowsDown = 1u << 0,
  kAdviceDontFork = 1u << 1,
  kAdviceWipeOnFork = 1u << 2,
  kAdviceDontDump = 1u << 3,
  kAdviceNoReserve = 1u << 4,
  kAdviceMayWrite = 1u << 5,
  // The area was a mapping of the file `path`, saved by content (cr_checkpoint --save-*):
  // kind DeletedPrivate (private) or SharedAnon (shared), restored from the image's
  // pages without opening the file.
  kAdviceSavedFile = 1u << 6,
};

// Attributes of an area that the restore sets again after mapping it (VmFlags codes in
// /proc/PID/smaps): locks (mlock, mlock2 MLOCK_ONFAULT) and madvise hints. The older
// advice bits above (dc, wf, dd) keep their place in `advice`.
enum VmaAttr : uint32_t {
  kAttrLocked = 1u << 0,         // "lo": mlock
  kAttrLockOnFault = 1u << 1,    // "lf": mlock2(MLOCK_ONFAULT)
  kAttrHugePage = 1u << 2,       // "hg": MADV_HUGEPAGE
  kAttrNoHugePage = 1u << 3,     // "nh": MADV_NOHUGEPAGE
  kAttrMergeable = 1u << 4,      // "mg": MADV_MERGEABLE
  kAttrRandom = 1u << 5,         // "rr": MADV_RANDOM
  kAttrSequential = 1u << 6,     // "sr": MADV_SEQUENTIAL
};

struct VmaRecord {
  uint64_t start = 0, end = 0;
  uint32_t prot = 0;        // PROT_*
  VmaKind kind = VmaKind::Anonymous;
  uint32_t advice = 0;      // VmaAdvice bits
  uint64_t file_offset = 0;
  std::string path;         // file path, or the special name ("[vdso]")
  uint64_t object_id = 0;   // SharedAnon: the shared memory object's inode (the same in every
                            // area and process that shares it); file_offset is into it
  uint32_t attrs = 0;       // VmaAttr bits

  template <class V> void fields(V& v) {
    v.field("start", start); v.field("end", end); v.field("prot", prot); v.field("kind", kind);
    v.field("advice", advice); v.field("file_offset", file_offset); v.field("path", path);
    v.field("object_id", object_id); v.field("attrs", attrs);
  }
};

// A System V shared memory segment some area is attached to.
struct SysvShmRecord {
  int32_t shmid = 0;
  int32_t key = 0;
  uint64_t size = 0;
  uint32_t mode = 0;       // permission bits, and SHM_DEST (01000) if marked for removal
  template <class V> void fields(V& v) {
    v.field("shmid", shmid); v.field("key", key); v.field("size", size); v.field("mode", mode);
  }
};

struct MemoryMapRecord {
  std::vector<VmaRecord> vmas;
  std::vector<SysvShmRecord> sysv_shm;
  std::vector<MappedFileRecord> files;  // each FilePrivate area's file, once per path
  template <class V> void fields(V& v) {
    v.field("vmas", vmas); v.field("sysv_shm", sysv_shm); v.field("files", files);
  }
};

}  // namespace crest
