#include "checkpoint/page_pipeline.h"

namespace crest {

PagePipeline::PagePipeline(ImageWriter& writer, size_t buffers, size_t buffer_size, Compression compression)
    : writer_(writer), compression_(compression), storage_(buffers) {
  for (auto& b : storage_) {
    b.bytes.reset(new uint8_t[buffer_size]);  // default-initialized: not zeroed
    free_.push_back(&b);
  }
  sigset_t all;
  sigfillset(&all);
  for (int sync : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP}) sigdelset(&all, sync);
  pthread_sigmask(SIG_BLOCK, &all, &caller_mask_);
  size_t workers = compression_.codec == Codec::None ? 1 : 2;
  for (size_t i = 0; i < workers; ++i)
    threads_.emplace_back([this] {
      pthread_sigmask(SIG_SETMASK, &caller_mask_, nullptr);
      run();
    });
}

PagePipeline::~PagePipeline() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  pthread_sigmask(SIG_SETMASK, &caller_mask_, nullptr);
}

void PagePipeline::run() {
  std::optional<PageCompressor> compressor;  // one context and output buffer per thread
  if (compression_.codec != Codec::None) compressor.emplace(compression_);
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;
      job = queue_.front();
      queue_.pop_front();
    }
    Result<void> r;
    bool failed;
    {
      std::lock_guard lock(mu_);
      failed = error_.has_value();
    }
    if (!failed && !compressor) {
      std::lock_guard write_lock(write_mu_);
      r = writer_.write_section_prehashed(SectionType::MemoryPages, job.owner, job.buf->data(), job.size, job.checksum);
    } else if (!failed) {
      auto packed = compressor->compress(job.buf->data(), job.size);
      if (!packed) {
        r = packed.error();
      } else {
        auto [data, size] = *packed;
        uint64_t checksum = XXH3_64bits(data, size);
        std::lock_guard write_lock(write_mu_);
        r = writer_.write_section_prehashed(SectionType::MemoryPagesCompressed, job.owner, data, size, checksum);
      }
    }
    {
      std::lock_guard lock(mu_);
      if (!r && !error_) error_ = r.error();
      free_.push_back(job.buf);
    }
    cv_.notify_all();
  }
}

Result<PageBuffer*> PagePipeline::acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !free_.empty() || error_.has_value(); });
  if (error_) return *error_;
  auto* b = free_.back();
  free_.pop_back();
  return b;
}

void PagePipeline::submit(PageBuffer* buf, size_t size, uint64_t checksum, uint32_t owner) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back({buf, size, checksum, owner});
  }
  cv_.notify_all();
}

void PagePipeline::release(PageBuffer* buf) {
  {
    std::lock_guard lock(mu_);
    free_.push_back(buf);
  }
  cv_.notify_all();
}

Result<void> PagePipeline::finish() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return (queue_.empty() && free_.size() == storage_.size()) || error_.has_value(); });
  if (error_) return *error_;
  return {};
}

}  // namespace crest
