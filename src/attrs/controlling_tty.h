// A session leader's controlling terminal and its foreground process group (/proc/PID/stat
// tty_nr and tpgid). Put back only where the leader is a session leader again (cr_restart
// --restore-sid): TIOCSCTTY on the fd of that terminal the leader holds, then TIOCSPGRP.
// Otherwise the process is in cr_restart's session and has cr_restart's terminal, as in
// BLCR.
#pragma once

#include "attrs/attribute.h"

namespace crest {

struct ControllingTtyRecord {
  uint64_t tty = 0;         // tty_nr (the terminal's device number); 0: none, or not a session leader
  int32_t foreground = 0;   // tpgid: the terminal's foreground process group
  int32_t fd = -1;          // an fd of the leader open on that terminal (-1: none)
  template <class V> void fields(V& v) { v.field("tty", tty); v.field("foreground", foreground); v.field("fd", fd); }
};

struct ControllingTty : AttributeUnit<13, ControllingTtyRecord> {
  static constexpr const char* kName = "controlling_tty";
  static Result<void> read(const ThreadProbe& probe, Record& rec);
  static Result<void> restore(const RestoreTarget& target, const Record& rec);
};

}  // namespace crest
