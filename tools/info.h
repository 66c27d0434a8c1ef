// cr_info's three ways of showing an image (docs/cr_info.md): a summary for people,
// every record, and JSON.
#pragma once

#include <cstdio>
#include <string>

#include "base/result.h"
#include "restore/image_check.h"

namespace crest {

// info_summary.cc: processes, threads, ids, memory by kind, files, the image's state.
void print_summary(const std::string& name, const VerifiedImage& image, FILE* out);
// info_json.cc: the whole image as one JSON object (schema in docs/cr_info.md).
void print_json(const std::string& name, const VerifiedImage& image, FILE* out);
// cr_info.cc: every section with its record, as read (stops at the first error).
Result<void> print_records(int fd, const std::string& name, FILE* out);

}  // namespace crest
