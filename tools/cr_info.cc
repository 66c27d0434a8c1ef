// cr_info: what a crest image holds, for people (a summary), for debugging (every
// record) and for programs (JSON); --verify checks it as cr_restart would.
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "attrs/attribute_table.h"
#include "base/fd.h"
#include "fds/fd_table.h"
#include "image/compression.h"
#include "image/image_reader.h"
#include "info.h"
#include "info_names.h"
#include "records/fd_record.h"
#include "records/memory_record.h"
#include "records/process_record.h"
#include "records/process_tree_record.h"
#include "records/signals_record.h"
#include "records/sysv_ipc_record.h"
#include "records/thread_record.h"
#include "tool_common.h"

namespace crest {

namespace {

template <typename R>
Result<void> print_record(const Section& s, std::string& out) {
  R r = CR_TRY(decode_section<R>(s));
  Printer p(out, 1);
  r.fields(p);
  return {};
}

// "  run ADDRESS: N pages" for each run, each checked to lie inside the payload.
Result<void> print_page_runs(const Section& s, uint32_t page_size, std::string& out) {
  size_t at = 0;
  while (at < s.payload.size()) {
    PageRunHeader run{};
    if (s.payload.size() - at < sizeof run) return Error::corrupt("short page run header");
    memcpy(&run, s.payload.data() + at, sizeof run);
    at += sizeof run;
    if (run.page_count == 0 || run.page_count > (s.payload.size() - at) / page_size)
      return Error::corrupt(format("the page run at %llx (%llu pages) does not fit its MemoryPages section",
                                   static_cast<unsigned long long>(run.address), static_cast<unsigned long long>(run.page_count)));
    out += format("  run %llx: %llu pages\n", static_cast<unsigned long long>(run.address),
                  static_cast<unsigned long long>(run.page_count));
    at += run.page_count * page_size;
  }
  return {};
}

}  // namespace

Result<void> print_records(int fd, const std::string& name, FILE* out) {
  ImageReader reader(fd, name);
  ImageHeader h = CR_TRY(reader.read_header());
  fprintf(out, "image %s: format %u, %s, page size %u, kernel %.64s, crest %.24s\n", name.c_str(), h.format_version,
          arch_name(h.arch).c_str(), h.page_size, h.kernel_release, h.crest_version);
  while (!reader.complete()) {
    Section s = CR_TRY(reader.next_section());
    bool compressed = s.type == SectionType::MemoryPagesCompressed;
    if (compressed) s.payload = CR_TRY(decompress_pages(s.payload));
    fprintf(out, "section %s (owner %u, %zu bytes%s)\n", section_name(s.type), s.owner, s.payload.size(),
            compressed ? " decompressed" : "");
    std::string text;
    switch (s.type) {
      case SectionType::ProcessTree: CR_TRY(print_record<ProcessTreeRecord>(s, text)); break;
      case SectionType::Process: CR_TRY(print_record<ProcessRecord>(s, text)); break;
      case SectionType::Thread: CR_TRY(print_record<ThreadRecord>(s, text)); break;
      case SectionType::Signals: CR_TRY(print_record<SignalsRecord>(s, text)); break;
      case SectionType::FdTable: {
        FdTableRecord table = CR_TRY(decode_section<FdTableRecord>(s));
        CR_TRY(print_fd_table(table, text, 1));  // each kind's payload by its field names
        break;
      }
      case SectionType::Attributes: {
        AttributesRecord attrs = CR_TRY(decode_section<AttributesRecord>(s));
        CR_TRY(print_attributes(attrs, text, 1));  // each unit's record by its field names
        break;
      }
      case SectionType::MemoryMap: CR_TRY(print_record<MemoryMapRecord>(s, text)); break;
      case SectionType::SysvIpc: CR_TRY(print_record<SysvIpcRecord>(s, text)); break;
      case SectionType::MemoryPages:
      case SectionType::MemoryPagesCompressed: CR_TRY(print_page_runs(s, h.page_size, text)); break;
      default: break;
    }
    fputs(text.c_str(), out);
  }
  return {};
}

}  // namespace crest

using namespace crest;

namespace {

const char kUsage[] =
    "Usage: cr_info [--summary | --records | --json | --verify] IMAGE\n"
    "Show what a crest image holds; IMAGE - reads standard input.\n"
    "  -s, --summary   processes, threads, memory and files, in a screenful (the default)\n"
    "  -r, --records   every section with all its fields\n"
    "  -j, --json      the whole image as one JSON object (docs/cr_info.md)\n"
    "      --verify    check the image as cr_restart would before it creates a process;\n"
    "                  print one line, exit 0 only if it is complete and sound\n"
    "  -v, --version   print the version\n"
    "  -h, --help      print this help\n"
    "Every format verifies the whole image first (--records prints as it reads, and stops at\n"
    "the first error); a corrupt image is named on stderr and gives a non-zero exit code.\n";

enum class Mode { Summary, Records, Json, Verify };

}  // namespace

int main(int argc, char** argv) {
  static const option options[] = {
      {"summary", no_argument, nullptr, 's'}, {"records", no_argument, nullptr, 'r'}, {"json", no_argument, nullptr, 'j'},
      {"verify", no_argument, nullptr, 'V'},  {"version", no_argument, nullptr, 'v'}, {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0}};
  Mode mode = Mode::Summary;
  for (int c; (c = getopt_long(argc, argv, "srjvh", options, nullptr)) != -1;) {
    switch (c) {
      case 's': mode = Mode::Summary; break;
      case 'r': mode = Mode::Records; break;
      case 'j': mode = Mode::Json; break;
      case 'V': mode = Mode::Verify; break;
      case 'v': printf("cr_info version %s (crest)\n", CREST_VERSION); return 0;
      case 'h': fputs(kUsage, stdout); return 0;
      default: fputs(kUsage, stderr); return kExitUsage;
    }
  }
  if (optind + 1 != argc) {
    fprintf(stderr, optind == argc ? "cr_info: no image given\n" : "cr_info: one image only\n");
    fputs(kUsage, stderr);
    return kExitUsage;
  }
  const char* file = argv[optind];
  Fd fd(strcmp(file, "-") == 0 ? dup(0) : open(file, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int e = errno;
    fprintf(stderr, "cr_info: cannot open %s: %s\n", file, strerror(e));
    return e & 0xff;
  }
  auto fail = [](const Error& e) {
    fflush(stdout);
    fprintf(stderr, "cr_info: %s\n", e.message().c_str());
    return exit_code_for(e);
  };
  if (mode == Mode::Records) {
    auto r = print_records(fd.get(), file, stdout);
    if (!r) return fail(r.error());
    // A file is read again, as a restart reads it; a stream only had its checksums checked.
    if (lseek(fd.get(), 0, SEEK_SET) != 0) {
      printf("image complete, every checksum verified (read from a stream: not checked further)\n");
      return 0;
    }
  }
  ImageReader reader(fd.get(), file);
  auto image = verify_image(reader);
  if (!image) return fail(image.error());
  switch (mode) {
    case Mode::Summary: print_summary(file, *image, stdout); break;
    case Mode::Json: print_json(file, *image, stdout); break;
    case Mode::Records:
    case Mode::Verify:
      if (image->directory_member)
        printf("image %s: complete and verified, the file of process %d of a directory image (cr_restart -d)\n", file,
               image->processes[0].process.pid);
      else
        printf("image %s: complete and verified\n", file);
      break;
  }
  return 0;
}
