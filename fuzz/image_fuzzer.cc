// libFuzzer target: an input is an image stream, read as cr_restart reads one: the
// header, every section with its checks, each record decoded, page sections
// decompressed. Nothing may crash, hang or allocate without bound; a record that
// decodes must encode back to the same bytes.
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/record_types.h"
#include "image/compression.h"
#include "image/image_reader.h"

using namespace crest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_create("crest-fuzz-image", MFD_CLOEXEC);
  if (fd < 0) __builtin_trap();
  for (size_t done = 0; done < size;) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) __builtin_trap();
    done += static_cast<size_t>(n);
  }
  lseek(fd, 0, SEEK_SET);
  {
    ImageReader reader(fd, "fuzzed image");
    if (reader.read_header()) {
      for (;;) {
        auto s = reader.next_section();
        if (!s || s->type == SectionType::Trailer) break;
        if (s->type == SectionType::MemoryPagesCompressed) (void)decompress_pages(s->payload);
        else fuzz::decode_checked(s->type, s->payload);
      }
    }
  }
  close(fd);
  return 0;
}
