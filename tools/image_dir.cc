#include "image_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#include "base/fd.h"
#include "base/scope_exit.h"
#include "image/image_reader.h"
#include "image/image_writer.h"
#include "records/process_tree_record.h"

namespace crest {

namespace {

std::string file_of(const std::string& dir, pid_t pid) { return format("%s/context.%d", dir.c_str(), pid); }
std::string temp_of(const std::string& dir, pid_t pid) { return format("%s/.context.%d.tmp", dir.c_str(), pid); }

bool is_pages(SectionType t) { return t == SectionType::MemoryPages || t == SectionType::MemoryPagesCompressed; }

Result<void> copy_section(ImageWriter& w, const Section& s) {
  return w.write_section(s.type, s.owner, {{s.payload.data(), s.payload.size()}});
}

struct OutFile {
  Fd fd;
  std::unique_ptr<ImageWriter> writer;
};

}  // namespace

void discard_split(const std::string& dir, const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) unlink(temp_of(dir, pid).c_str());
}

Result<std::vector<pid_t>> split_image(int in, const std::string& dir, bool sync) {
  ImageReader reader(in, "the checkpoint stream");
  CR_TRY(reader.read_header());
  Section tree_section = CR_TRY(reader.next_section());
  if (tree_section.type != SectionType::ProcessTree) return Error::corrupt("the checkpoint stream does not start with its process tree");
  ProcessTreeRecord tree = CR_TRY(decode_section<ProcessTreeRecord>(tree_section));
  std::vector<pid_t> pids;
  for (const TreeEntryRecord& e : tree.processes)
    if (!e.zombie) pids.push_back(e.pid);

  bool ok = false;
  ScopeExit cleanup([&] {
    if (!ok) discard_split(dir, pids);
  });
  std::map<pid_t, OutFile> outs;
  for (pid_t pid : pids) {
    std::string path = temp_of(dir, pid);
    unlink(path.c_str());
    OutFile& o = outs[pid];
    o.fd = Fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0400));
    if (!o.fd.valid()) return Error::os(format("cannot create %s", path.c_str()));
    o.writer = std::make_unique<ImageWriter>(o.fd.get());
    CR_TRY(o.writer->write_header(), "%s", path.c_str());
    CR_TRY(copy_section(*o.writer, tree_section), "%s", path.c_str());
  }
  // Metadata sections follow their process's Process section (threads are owned by
  // their tids, shared pipe and socket data by the process that saved them); pages
  // name their process as owner.
  pid_t current = 0;
  for (;;) {
    Section s = CR_TRY(reader.next_section());
    if (s.type == SectionType::Trailer) break;
    if (s.type == SectionType::Process) current = static_cast<pid_t>(s.owner);
    pid_t to = is_pages(s.type) ? static_cast<pid_t>(s.owner) : current;
    auto out = outs.find(to);
    if (out == outs.end())
      return Error::corrupt(format("%s section of process %d, which is not in the process tree", section_name(s.type), to));
    CR_TRY(copy_section(*out->second.writer, s), "context.%d", to);
  }
  for (auto& [pid, o] : outs) {
    CR_TRY(o.writer->write_trailer(), "context.%d", pid);
    if (sync && fsync(o.fd.get()) != 0) return Error::os(format("fsync %s", temp_of(dir, pid).c_str()));
    if (close(o.fd.release()) != 0) return Error::os(format("close %s", temp_of(dir, pid).c_str()));
  }
  ok = true;
  return pids;
}

Result<void> commit_split(const std::string& dir, const std::vector<pid_t>& pids, bool noclobber, bool backup) {
  bool ok = false;
  ScopeExit cleanup([&] {
    if (!ok) discard_split(dir, pids);
  });
  if (noclobber)
    for (pid_t pid : pids)
      if (access(file_of(dir, pid).c_str(), F_OK) == 0)
        return Error::os(format("%s exists (--noclobber)", file_of(dir, pid).c_str()), EEXIST);
  for (pid_t pid : pids) {
    std::string path = file_of(dir, pid);
    if (backup && access(path.c_str(), F_OK) == 0) {
      std::string name;
      for (int n = 1;; ++n) {
        name = format("%s.~%d~", path.c_str(), n);
        if (access(name.c_str(), F_OK) != 0) break;
      }
      if (rename(path.c_str(), name.c_str()) != 0) return Error::os(format("rename %s to %s", path.c_str(), name.c_str()));
    }
    if (rename(temp_of(dir, pid).c_str(), path.c_str()) != 0)
      return Error::os(format("rename %s to %s", temp_of(dir, pid).c_str(), path.c_str()));
  }
  ok = true;
  return {};
}

Result<void> join_image(const std::string& dir, int out) {
  // Every context.PID in the directory.
  std::map<pid_t, std::string> files;
  DIR* d = opendir(dir.c_str());
  if (!d) return Error::os(format("cannot open the directory %s", dir.c_str()));
  while (dirent* e = readdir(d)) {
    const char* name = e->d_name;
    if (strncmp(name, "context.", 8) != 0) continue;
    char* end;
    long pid = strtol(name + 8, &end, 10);
    if (name[8] == '\0' || *end || pid <= 0) continue;
    files[static_cast<pid_t>(pid)] = format("%s/%s", dir.c_str(), name);
  }
  closedir(d);
  if (files.empty()) return Error::os(format("%s holds no context.PID file", dir.c_str()), ENOENT);

  struct Part {
    Fd fd;
    std::unique_ptr<ImageReader> reader;
  };
  std::map<pid_t, Part> parts;
  std::vector<uint8_t> tree_payload;
  std::string tree_from;
  ProcessTreeRecord tree;
  for (auto& [pid, path] : files) {
    Part& p = parts[pid];
    p.fd = Fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!p.fd.valid()) return Error::os(format("cannot open %s", path.c_str()));
    p.reader = std::make_unique<ImageReader>(p.fd.get(), path);
    CR_TRY(p.reader->read_header());
    Section s = CR_TRY(p.reader->next_section());
    if (s.type != SectionType::ProcessTree) return Error::corrupt(format("%s does not start with a process tree", path.c_str()));
    if (tree_from.empty()) {
      tree = CR_TRY(decode_section<ProcessTreeRecord>(s));
      tree_payload = std::move(s.payload);
      tree_from = path;
    } else if (s.payload != tree_payload) {
      return Error::invalid(format("%s and %s belong to different checkpoints; a directory must hold the files of one "
                                   "checkpoint only", tree_from.c_str(), path.c_str()));
    }
  }
  std::vector<pid_t> live;
  for (const TreeEntryRecord& e : tree.processes)
    if (!e.zombie) live.push_back(e.pid);
  for (pid_t pid : live)
    if (!parts.count(pid)) return Error::os(format("%s is missing (process %d of the checkpoint)", file_of(dir, pid).c_str(), pid), ENOENT);
  for (auto& [pid, p] : parts)
    if (std::find(live.begin(), live.end(), pid) == live.end())
      return Error::invalid(format("%s: process %d is not in the checkpoint's process tree", files[pid].c_str(), pid));

  ImageWriter writer(out);
  CR_TRY(writer.write_header());
  CR_TRY(writer.write_section(SectionType::ProcessTree, 0, {{tree_payload.data(), tree_payload.size()}}));
  // Metadata of every process first (up to and including its MemoryMap), then pages.
  for (pid_t pid : live) {
    ImageReader& r = *parts[pid].reader;
    for (;;) {
      Section s = CR_TRY(r.next_section());
      if (is_pages(s.type) || s.type == SectionType::Trailer)
        return Error::corrupt(format("%s: %s section before the memory map", r.name().c_str(), section_name(s.type)));
      CR_TRY(copy_section(writer, s));
      if (s.type == SectionType::MemoryMap) break;
    }
  }
  for (pid_t pid : live) {
    ImageReader& r = *parts[pid].reader;
    for (;;) {
      Section s = CR_TRY(r.next_section());
      if (s.type == SectionType::Trailer) break;
      if (!is_pages(s.type) || static_cast<pid_t>(s.owner) != pid)
        return Error::corrupt(format("%s: unexpected %s section of %u among the pages", r.name().c_str(), section_name(s.type), s.owner));
      CR_TRY(copy_section(writer, s));
    }
  }
  return writer.write_trailer();
}

}  // namespace crest
