// PagePipeline: reading target memory (and checksumming it) on one or more reader threads
// while a writer thread writes the sections out, so the copies overlap on two cores. A
// small ring of buffers bounds cr_checkpoint's memory whatever the target's size.
// With compression, two writer threads compress in parallel (sections of one process
// may reach the image in any order: each covers its own addresses). One pipeline can
// carry the pages of several processes (each section names its owner), so that the
// processes of a tree are read at the same time into one stream.
// While it runs, asynchronous signals go to the writer threads (the caller blocks them), so
// that a signal such as the -t alarm interrupts a write blocked on a full pipe.
#pragma once

#include <signal.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/result.h"
#include "image/compression.h"
#include "image/image_writer.h"

namespace crest {

// One buffer of the ring. Its bytes are not zero-filled: they are written before they are
// read, and the pages a small dump never uses are never faulted in.
struct PageBuffer {
  std::unique_ptr<uint8_t[]> bytes;
  uint8_t* data() const { return bytes.get(); }
};

class PagePipeline {
 public:
  // With a codec, the writer thread also compresses each section (the checksum passed to
  // submit() is then ignored: the compressed payload gets its own).
  PagePipeline(ImageWriter& writer, size_t buffers, size_t buffer_size, Compression compression = {});
  ~PagePipeline();
  PagePipeline(const PagePipeline&) = delete;
  PagePipeline& operator=(const PagePipeline&) = delete;

  // True if the writers compress: the checksum passed to submit() is then not used.
  bool compressing() const { return compression_.codec != Codec::None; }
  // A free buffer of buffer_size bytes; fails once the writer has failed.
  Result<PageBuffer*> acquire();
  // Queues buf[0, size) as one MemoryPages section of process `owner` with the given
  // payload checksum.
  void submit(PageBuffer* buf, size_t size, uint64_t checksum, uint32_t owner);
  // Gives back a buffer that turned out to hold nothing to write.
  void release(PageBuffer* buf);
  // The image to oneself while it is held (the writers wait): for sections written
  // around the pipeline (direct_pages.h).
  std::unique_lock<std::mutex> exclusive() { return std::unique_lock<std::mutex>(write_mu_); }
  // Waits until everything queued is written; the writer's error, if any.
  Result<void> finish();

 private:
  struct Job {
    PageBuffer* buf;
    size_t size;
    uint64_t checksum;
    uint32_t owner;
  };
  void run();

  ImageWriter& writer_;
  Compression compression_;
  std::vector<PageBuffer> storage_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PageBuffer*> free_;
  std::deque<Job> queue_;
  bool closing_ = false;
  std::optional<Error> error_;
  sigset_t caller_mask_;
  std::mutex write_mu_;  // one section at a time into the image
  std::vector<std::thread> threads_;
};

}  // namespace crest
