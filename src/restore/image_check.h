// What a restart checks in an image before it creates a process, as functions that the
// restore and `cr_info --verify` share: a verified image is one cr_restart reads whole.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "image/image_reader.h"
#include "records/process_tree_record.h"
#include "restore/restore_context.h"

namespace crest {

// The ProcessTree section that follows the image header: the root first.
Result<ProcessTreeRecord> read_tree(ImageReader& reader);

// One process's sections up to and including its memory map, each record decoded whole,
// and checked: the sections a restore needs are there, the main thread is first, areas
// are sorted, page-aligned and apart, and each record has the shape restore uses.
// `first`: its first section, when already read.
Result<ProcessImage> read_process_sections(ImageReader& reader, std::optional<Section> first = {});

// The sections of every live process of `tree`, in its order; a zombie's parent must be
// among them.
Result<std::vector<ProcessImage>> read_processes(ImageReader& reader, const ProcessTreeRecord& tree);

// One run of saved pages inside a MemoryPages payload.
struct PageRun {
  uint64_t address;
  const uint8_t* data;
  size_t size;
};
// The runs of a (decompressed) MemoryPages payload: each one whole inside the payload and
// inside an area of `image` that takes pages.
Result<void> page_runs(const Section& s, const ProcessImage& image, const std::string& image_name, std::vector<PageRun>& runs);

// An image read as a restart reads it, nothing created: the header, the tree, every
// process's sections, every page run against its owner's map, the trailer.
struct VerifiedImage {
  ImageHeader header{};
  ProcessTreeRecord tree;
  std::vector<ProcessImage> processes;
  std::map<int32_t, uint64_t> pages;  // saved pages by pid
  uint64_t page_sections = 0, compressed_sections = 0;
  uint64_t bytes = 0;                 // bytes read, the end marker included
  // One file of a directory image (cr_checkpoint -d): the whole tree, one process of it.
  bool directory_member = false;
};
Result<VerifiedImage> verify_image(ImageReader& reader);

}  // namespace crest
