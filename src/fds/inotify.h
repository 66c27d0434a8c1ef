// FdKind::Inotify: an inotify instance and its watches. At checkpoint each watch comes
// from /proc/PID/fdinfo/FD ("inotify wd:%x ino:%lx sdev:%x mask:%x ignored_mask:0
// fhandle-bytes:%x fhandle-type:%x f_handle:%s"), with the path of the watched object,
// which the kernel does not show:
//   1. open_by_handle_at() with the file handle of the fdinfo line, on a mount of that
//      device (needs CAP_DAC_READ_SEARCH: root), checked by device and inode;
//   2. otherwise a search by device and inode: the process's cwd and what lies below it
//      (three levels, a few thousand entries), the directories of its open files, and
//      their parents;
// a watch whose path is found by neither fails the checkpoint naming pid, fd and wd.
// Events queued and not yet read cannot be saved (reading them consumes them): a
// warning says how many bytes are lost.
//
// At restart cr_restart makes the instance with inotify_init1, adds every watch again on
// its path with its mask, and gives it the SAME watch descriptor. A new instance hands
// out wds in increasing order (1, 2, ...; one removed is not reused), so:
//   1. the watches in wd order are added with a placeholder mask (IN_UNMOUNT and the
//      path flags only: no event can be queued for them); while the wd the kernel gives
//      is below the saved one, that watch is removed and added again (each add takes the
//      next number); the IN_IGNORED events of the removals are read away;
//   2. once all are placed, each gets its real mask (inotify_add_watch on an object
//      already watched replaces the mask and keeps the wd).
// The next wd of the restored instance is the highest saved wd + 1 (the original may
// have been further on, if watches above that were removed: fdinfo does not show it).
// The fd's flags (IN_NONBLOCK) are the record's open flags.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crest {

struct InotifyWatchRecord {
  int32_t wd = 0;
  uint32_t mask = 0;      // as inotify_add_watch() takes it (events and IN_* flags)
  std::string path;       // the watched file or directory
  template <class V> void fields(V& v) { v.field("wd", wd); v.field("mask", mask); v.field("path", path); }
};

struct InotifyRecord {
  std::vector<InotifyWatchRecord> watches;
  template <class V> void fields(V& v) { v.field("watches", watches); }
};

}  // namespace crest
