// A restart must refuse an image whose memory map is unsorted or has overlapping areas
// (the restore's binary search over areas relies on the order), with a message naming the
// area, before it creates any process. The image is a real one (a checkpoint of a child),
// rewritten with valid checksums and one change to its MemoryMap section.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/fd.h"
#include "checkpoint/checkpointer.h"
#include "image/codec.h"
#include "image/image_reader.h"
#include "image/image_writer.h"
#include "records/memory_record.h"
#include "restore/restorer.h"

namespace crest {
namespace {

// A checkpoint of a sleeping child (killed afterwards, so its pid is free again).
Fd checkpoint_child() {
  pid_t child = fork();
  if (child == 0) {
    for (;;) pause();
  }
  Fd image(memfd_create("image", MFD_CLOEXEC));
  CheckpointOptions opt;
  opt.pid = child;
  opt.scope = Scope::Process;
  opt.out_fd = image.get();
  auto r = checkpoint_process(opt);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_TRUE(r) << (r ? "" : r.error().message());
  lseek(image.get(), 0, SEEK_SET);
  return image;
}

// The same image with `edit` applied to its memory map.
Fd rewrite(int in, const std::function<void(MemoryMapRecord&)>& edit) {
  ImageReader reader(in, "original");
  EXPECT_TRUE(reader.read_header());
  Fd out(memfd_create("rewritten", MFD_CLOEXEC));
  ImageWriter writer(out.get());
  EXPECT_TRUE(writer.write_header());
  while (!reader.complete()) {
    auto s = reader.next_section();
    EXPECT_TRUE(s) << (s ? "" : s.error().message());
    if (!s || reader.complete()) break;
    if (s->type == SectionType::MemoryMap) {
      auto map = decode_section<MemoryMapRecord>(*s);
      EXPECT_TRUE(map);
      edit(*map);
      EXPECT_TRUE(writer.write_record(SectionType::MemoryMap, s->owner, *map));
    } else {
      EXPECT_TRUE(writer.write_section(s->type, s->owner, {{s->payload.data(), s->payload.size()}}));
    }
  }
  EXPECT_TRUE(writer.write_trailer());
  lseek(out.get(), 0, SEEK_SET);
  return out;
}

Result<pid_t> restore(int fd) {
  RestoreOptions opt;
  opt.in_fd = fd;
  opt.image_name = "rewritten image";
  return restore_process(opt);
}

TEST(MalformedMap, UnchangedRewriteIsAccepted) {
  // The rewrite itself is sound (every section reads back with valid checksums): only
  // the edits below make an image bad.
  Fd image = checkpoint_child();
  Fd same = rewrite(image.get(), [](MemoryMapRecord&) {});
  ImageReader reader(same.get(), "rewritten");
  ASSERT_TRUE(reader.read_header());
  size_t sections = 0;
  while (!reader.complete()) {
    auto s = reader.next_section();
    ASSERT_TRUE(s) << s.error().message();
    ++sections;
  }
  EXPECT_GT(sections, 5u);
}

TEST(MalformedMap, UnsortedAreasAreRejected) {
  Fd image = checkpoint_child();
  Fd bad = rewrite(image.get(), [](MemoryMapRecord& m) {
    ASSERT_GE(m.vmas.size(), 2u);
    std::swap(m.vmas[0], m.vmas[1]);
  });
  auto r = restore(bad.get());
  ASSERT_FALSE(r) << "an unsorted memory map was restored as pid " << *r;
  EXPECT_NE(r.error().message().find("malformed memory map"), std::string::npos) << r.error().message();
}

TEST(MalformedMap, OverlappingAreasAreRejected) {
  Fd image = checkpoint_child();
  Fd bad = rewrite(image.get(), [](MemoryMapRecord& m) {
    ASSERT_GE(m.vmas.size(), 2u);
    m.vmas[1].start = m.vmas[0].end - 4096;  // starts inside the area before it
    if (m.vmas[1].start < m.vmas[0].start) m.vmas[1].start = m.vmas[0].start;
  });
  auto r = restore(bad.get());
  ASSERT_FALSE(r) << "an overlapping memory map was restored as pid " << *r;
  EXPECT_NE(r.error().message().find("malformed memory map"), std::string::npos) << r.error().message();
}

TEST(MalformedMap, UnalignedAreaIsRejected) {
  Fd image = checkpoint_child();
  Fd bad = rewrite(image.get(), [](MemoryMapRecord& m) {
    ASSERT_GE(m.vmas.size(), 1u);
    m.vmas.back().end += 1;
  });
  auto r = restore(bad.get());
  ASSERT_FALSE(r) << "an unaligned memory map was restored as pid " << *r;
  EXPECT_NE(r.error().message().find("malformed memory map"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace crest
