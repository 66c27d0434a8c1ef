// cr_info: verifies an image and prints its header and records (crest's own tool).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "base/fd.h"
#include "image/compression.h"
#include "image/image_reader.h"
#include "records/sysv_ipc_record.h"
#include "fds/fd_table.h"
#include "records/memory_record.h"
#include "records/process_record.h"
#include "records/signals_record.h"
#include "records/thread_record.h"
#include "tool_common.h"

using namespace crest;

namespace {

template <typename R>
Result<void> print(const Section& s, std::string& out) {
  R r = CR_TRY(decode_section<R>(s));
  Printer p(out, 1);
  r.fields(p);
  return {};
}

Result<void> dump(int fd, const std::string& name, bool records) {
  ImageReader reader(fd, name);
  ImageHeader h = CR_TRY(reader.read_header());
  printf("image %s: format %u, arch %u, page size %u, kernel %.64s, crest %.24s\n", name.c_str(), h.format_version, h.arch,
         h.page_size, h.kernel_release, h.crest_version);
  uint64_t pages = 0, page_sections = 0, compressed = 0;
  while (!reader.complete()) {
    Section s = CR_TRY(reader.next_section());
    if (s.type == SectionType::MemoryPagesCompressed) {
      s.payload = CR_TRY(decompress_pages(s.payload), "the MemoryPagesCompressed section of process %u", s.owner);
      s.type = SectionType::MemoryPages;
      ++compressed;
    }
    if (s.type == SectionType::MemoryPages) {
      for (size_t at = 0; at + sizeof(PageRunHeader) <= s.payload.size();) {
        PageRunHeader run{};
        memcpy(&run, s.payload.data() + at, sizeof run);
        pages += run.page_count;
        at += sizeof run + run.page_count * h.page_size;
      }
      ++page_sections;
      continue;
    }
    printf("section %s (owner %u, %zu bytes)\n", section_name(s.type), s.owner, s.payload.size());
    if (!records) continue;
    std::string out;
    switch (s.type) {
      case SectionType::Process: CR_TRY(print<ProcessRecord>(s, out)); break;
      case SectionType::Thread: CR_TRY(print<ThreadRecord>(s, out)); break;
      case SectionType::Signals: CR_TRY(print<SignalsRecord>(s, out)); break;
      case SectionType::FdTable: {
        FdTableRecord table = CR_TRY(decode_section<FdTableRecord>(s));
        CR_TRY(print_fd_table(table, out, 1));  // each kind's payload by its field names
        break;
      }
      case SectionType::MemoryMap: CR_TRY(print<MemoryMapRecord>(s, out)); break;
      case SectionType::SysvIpc: CR_TRY(print<SysvIpcRecord>(s, out)); break;
      default: break;
    }
    fputs(out.c_str(), stdout);
  }
  printf("%llu pages in %llu MemoryPages sections (%llu compressed)\nimage complete and verified\n", (unsigned long long)pages,
         (unsigned long long)page_sections, (unsigned long long)compressed);
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  bool records = true;
  const char* file = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("Usage: cr_info [--verify] IMAGE\nVerify a crest image and print its sections (all records unless --verify).\n");
      return 0;
    }
    if (!strcmp(argv[i], "--verify")) records = false;
    else if (!file) file = argv[i];
    else { fprintf(stderr, "cr_info: one image only\n"); return kExitUsage; }
  }
  if (!file) { fprintf(stderr, "Usage: cr_info [--verify] IMAGE\n"); return kExitUsage; }
  Fd fd(strcmp(file, "-") == 0 ? dup(0) : open(file, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) { fprintf(stderr, "cr_info: cannot open %s: %s\n", file, strerror(errno)); return errno & 0xff; }
  auto r = dump(fd.get(), file, records);
  if (!r) { fprintf(stderr, "cr_info: %s\n", r.error().message().c_str()); return exit_code_for(r.error()); }
  return 0;
}
