// Pseudo-terminal pairs (pty.h).
//
// At checkpoint the queued bytes are read, not peeked (a tty has no MSG_PEEK): the
// master's through a dup of the target's master (pidfd_getfd), the slave's input through
// a slave of our own (TIOCGPTPEER, non-blocking); then they are written back the way a
// restart writes them (refill_pty), so a job that goes on running finds them queued again.
#include "fds/pty.h"

#include <asm/termbits.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <map>

#include "fds/fd_kind.h"
#include "fds/fd_table.h"
#include "fds/terminal.h"
#include "restore/restore_context.h"
#include "sys/io.h"

namespace crest {

namespace {

constexpr unsigned kPtmxMajor = 5, kPtmxMinor = 2;
constexpr unsigned kFirstSlaveMajor = 136, kLastSlaveMajor = 143;
// How long a refill waits for the line discipline to take the bytes written.
constexpr int kRefillWaitMs = 2000;

bool is_master(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == kPtmxMajor && minor(st.st_rdev) == kPtmxMinor;
}

bool detect_master(const FdFacts& f) { return is_master(f.st); }

bool detect_slave(const FdFacts& f) {
  unsigned maj = major(f.st.st_rdev);
  return S_ISCHR(f.st.st_mode) && maj >= kFirstSlaveMajor && maj <= kLastSlaveMajor;
}

Result<int> int_ioctl(int fd, unsigned long request, const char* what) {
  int v = 0;
  if (ioctl(fd, request, &v) != 0) return Error::os(what);
  return v;
}

Result<void> set_ioctl(int fd, unsigned long request, int v, const char* what) {
  if (ioctl(fd, request, &v) != 0) return Error::os(what);
  return {};
}

Result<void> dump_master(const FdFacts& f, FdRecord& rec) {
  Fd dup = CR_TRY(dup_target_fd(f.pid, f.fd));
  PtyMasterRecord m;
  m.index = static_cast<uint32_t>(CR_TRY(int_ioctl(dup.get(), TIOCGPTN, "TIOCGPTN"), "fd %d", f.fd));
  set_payload(rec, FdKind::PtyMaster, m);
  return {};
}

Result<void> dump_slave(const FdFacts& f, FdRecord& rec) {
  PtySlaveRecord s;
  s.index = minor(f.st.st_rdev) + ((major(f.st.st_rdev) - kFirstSlaveMajor) << 20);
  set_payload(rec, FdKind::PtySlave, s);
  return {};
}

// A slave of our own on `master` (TIOCGPTPEER), unlocked for the time of the open.
Result<Fd> open_peer(int master, int flags, bool locked) {
  if (locked) CR_TRY(set_ioctl(master, TIOCSPTLCK, 0, "unlocking the pty (TIOCSPTLCK)"));
  Fd s(ioctl(master, TIOCGPTPEER, flags | O_NOCTTY | O_CLOEXEC));
  int e = errno;
  if (locked) CR_TRY(set_ioctl(master, TIOCSPTLCK, 1, "locking the pty again (TIOCSPTLCK)"));
  if (!s.valid()) return Error::os("opening the pty's slave (TIOCGPTPEER)", e);
  return s;
}

// Waits until `fd`'s input queue (FIONREAD) holds at least `want` bytes: a pty hands the
// bytes written to it to the other side's line discipline asynchronously.
Result<void> wait_queued(int fd, size_t want, const char* side) {
  for (int ms = 0;; ++ms) {
    int n = CR_TRY(int_ioctl(fd, FIONREAD, "FIONREAD on a pty"));
    if (static_cast<size_t>(n) >= want) return {};
    if (ms >= kRefillWaitMs)
      return Error::timed_out(format("the pty's %s queue holds %d of the %zu bytes written back", side, n, want));
    usleep(1000);
  }
}

// Writes the queued bytes back: the input through the master, what the slave had
// written through the slave, with echo, signals, input and output processing off (the
// bytes were processed once already), then the saved termios.
Result<void> refill_pty(int master, int slave, const TermiosRecord& saved, const std::vector<uint8_t>& to_slave,
                        const std::vector<uint8_t>& to_master) {
  if (to_slave.empty() && to_master.empty()) return {};
  TermiosRecord quiet = saved;
  quiet.lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOKE | ISIG | IEXTEN);
  quiet.iflag &= ~(ICRNL | INLCR | IGNCR | ISTRIP | IUCLC | IXON | IXOFF | BRKINT | PARMRK | INPCK);
  quiet.oflag &= ~OPOST;
  CR_TRY(write_termios(slave, quiet));
  CR_TRY(write_all(master, to_slave.data(), to_slave.size()), "writing a pty's queued input");
  CR_TRY(wait_queued(slave, to_slave.size(), "input"));
  CR_TRY(write_all(slave, to_master.data(), to_master.size()), "writing a pty's queued output");
  CR_TRY(wait_queued(master, to_master.size(), "output"));
  return write_termios(slave, saved);
}

// Reads what `fd` holds without blocking (poll first: the master may be the target's
// blocking description). `packet`: each read starts with a packet-mode status byte.
Result<std::vector<uint8_t>> drain(int fd, bool packet, uint32_t index, const char* side) {
  std::vector<uint8_t> out;
  uint8_t buf[4096];
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) break;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EIO)) break;  // EIO: the other side closed, nothing left
    if (n < 0) return Error::os(format("reading the queued %s of pty %u", side, index));
    if (n == 0)
      return Error::unsupported(format("pty %u: an end-of-file (VEOF) queued in its %s (consumed by the checkpoint)", index, side));
    size_t skip = 0;
    if (packet) {
      if (buf[0] != TIOCPKT_DATA)
        return Error::unsupported(
            format("pty %u: a packet-mode status 0x%x pending on its master (consumed by the checkpoint)", index, buf[0]));
      skip = 1;
    }
    out.insert(out.end(), buf + skip, buf + n);
  }
  return out;
}

// The pair's state, read through a dup of the target's master (and, for the slave's
// exclusive flag and input, a slave of our own or a dup of one in `slave_fds`).
Result<void> read_pair_state(pid_t pid, const FdRecord& master_rec, PtyMasterRecord& m,
                             const std::vector<std::pair<pid_t, int>>& slave_fds) {
  Fd master = CR_TRY(dup_target_fd(pid, master_rec.fd));
  int mfd = master.get();
  m.has_state = 1;
  m.locked = CR_TRY(int_ioctl(mfd, TIOCGPTLCK, "TIOCGPTLCK")) != 0;
  m.packet = CR_TRY(int_ioctl(mfd, TIOCGPKT, "TIOCGPKT")) != 0;
  m.exclusive = CR_TRY(int_ioctl(mfd, TIOCGEXCL, "TIOCGEXCL")) != 0;
  m.termios = CR_TRY(read_termios(mfd));
  struct winsize ws {};
  if (ioctl(mfd, TIOCGWINSZ, &ws) != 0) return Error::os("TIOCGWINSZ");
  m.rows = ws.ws_row, m.cols = ws.ws_col, m.xpixel = ws.ws_xpixel, m.ypixel = ws.ws_ypixel;
  // Our own slave, non-blocking (so a read never waits for VMIN bytes); an exclusive
  // slave cannot be opened again without CAP_SYS_ADMIN: then a dup of the job's.
  auto own = open_peer(mfd, O_RDWR | O_NONBLOCK, m.locked);
  Fd slave;
  if (own) {
    slave = std::move(*own);
  } else if (!slave_fds.empty()) {
    slave = CR_TRY(dup_target_fd(slave_fds[0].first, slave_fds[0].second));
  } else {
    return own.error().context(format("pty %u", m.index));
  }
  m.slave_exclusive = CR_TRY(int_ioctl(slave.get(), TIOCGEXCL, "TIOCGEXCL on the slave")) != 0;
  m.to_master = CR_TRY(drain(mfd, m.packet, m.index, "output"));
  // Through the job's slave (maybe blocking), a read returns at once only when a whole
  // line (canonical) or VMIN <= 1 byte is there.
  bool reads_at_once = own || (m.termios.lflag & ICANON) || m.termios.cc[VMIN] <= 1;
  int queued = CR_TRY(int_ioctl(slave.get(), FIONREAD, "FIONREAD on the slave"));
  if (queued > 0 && !reads_at_once)
    return Error::unsupported(format("pty %u: %d bytes of input queued on an exclusive slave with VMIN %d (a read could block)",
                                     m.index, queued, m.termios.cc[VMIN]));
  m.to_slave = CR_TRY(drain(slave.get(), false, m.index, "input"));
  // What the checkpoint read goes back, for a job that runs on.
  return refill_pty(mfd, slave.get(), m.termios, m.to_slave, m.to_master);
}

Result<void> resolve_ptys(FdTables& tables, bool) {
  std::map<uint32_t, std::pair<pid_t, FdRecord*>> masters;  // index -> the first master fd
  std::map<uint32_t, std::vector<std::pair<pid_t, int>>> slaves;
  for (auto& [pid, table] : tables)
    for (FdRecord& rec : table->fds) {
      if (rec.kind == FdKind::PtyMaster) {
        uint32_t index = CR_TRY(payload_of<PtyMasterRecord>(rec)).index;
        if (!masters.count(index) && rec.same_as < 0) masters[index] = {pid, &rec};
      } else if (rec.kind == FdKind::PtySlave) {
        slaves[CR_TRY(payload_of<PtySlaveRecord>(rec)).index].push_back({pid, rec.fd});
      }
    }
  for (auto& [index, where] : masters) {
    auto [pid, rec] = where;
    PtyMasterRecord m = CR_TRY(payload_of<PtyMasterRecord>(*rec));
    CR_TRY(read_pair_state(pid, *rec, m, slaves[index]), "process %d fd %d (pty master of /dev/pts/%u)", pid, rec->fd, index);
    set_payload(*rec, FdKind::PtyMaster, m);
  }
  // A slave whose master is outside the image: the terminal the job was started from,
  // reconnected to cr_restart's terminal at restart (fds/terminal.cc). /dev/tty whose
  // controlling terminal is a slave of the image: that slave.
  for (auto& [pid, table] : tables)
    for (FdRecord& rec : table->fds) {
      if (rec.kind == FdKind::PtySlave) {
        uint32_t index = CR_TRY(payload_of<PtySlaveRecord>(rec)).index;
        if (masters.count(index)) continue;
        dev_t device = makedev(kFirstSlaveMajor + (index >> 20), index & 0xfffff);
        set_payload(rec, FdKind::Terminal, CR_TRY(read_terminal(pid, rec.fd, device), "process %d fd %d", pid, rec.fd));
      } else if (rec.kind == FdKind::Terminal) {
        uint64_t device = CR_TRY(terminal_payload(rec)).device;
        unsigned maj = major(device);
        uint32_t index = minor(device) + ((maj - kFirstSlaveMajor) << 20);
        if (maj >= kFirstSlaveMajor && maj <= kLastSlaveMajor && masters.count(index)) set_payload(rec, FdKind::PtySlave, PtySlaveRecord{index});
      }
    }
  return {};
}

Result<void> make_pty(const PtyMasterRecord& m, LocalPty& pty) {
  pty.master = Fd(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.master.valid()) return Error::os("opening /dev/ptmx");
  int mfd = pty.master.get();
  pty.slave = CR_TRY(open_peer(mfd, O_RDWR, true));
  CR_TRY(write_termios(mfd, m.termios));
  struct winsize ws {};
  ws.ws_row = m.rows, ws.ws_col = m.cols, ws.ws_xpixel = m.xpixel, ws.ws_ypixel = m.ypixel;
  if (ioctl(mfd, TIOCSWINSZ, &ws) != 0) return Error::os("TIOCSWINSZ");
  CR_TRY(refill_pty(mfd, pty.slave.get(), m.termios, m.to_slave, m.to_master));
  CR_TRY(set_ioctl(mfd, TIOCPKT, m.packet, "TIOCPKT"));
  if (m.exclusive && ioctl(mfd, TIOCEXCL) != 0) return Error::os("TIOCEXCL on the master");
  // The slave's exclusive flag is set once the image's slave fds are open (open_slave).
  pty.locked = m.locked;
  return set_ioctl(mfd, TIOCSPTLCK, m.locked, "TIOCSPTLCK");
}

Result<void> make_ptys(const std::vector<const ProcessImage*>& images, const RestoreOptions&, SharedFiles& shared) {
  for (const ProcessImage* image : images)
    for (const FdRecord& rec : image->fds.fds) {
      if (rec.kind != FdKind::PtyMaster) continue;
      PtyMasterRecord m = CR_TRY(payload_of<PtyMasterRecord>(rec));
      if (!m.has_state) continue;
      if (shared.ptys.count(m.index)) return Error::corrupt(format("pty %u saved twice", m.index));
      CR_TRY(make_pty(m, shared.ptys[m.index]), "fd %d (pty master of /dev/pts/%u)", rec.fd, m.index);
      if (m.slave_exclusive && ioctl(shared.ptys[m.index].slave.get(), TIOCEXCL) != 0) return Error::os("TIOCEXCL on the slave");
    }
  return {};
}

Result<LocalPty*> find_pty(SharedFiles& shared, uint32_t index, int fd) {
  auto it = shared.ptys.find(index);
  if (it == shared.ptys.end()) return Error::corrupt(format("fd %d: pty %u was not made", fd, index));
  return &it->second;
}

Result<Fd> open_master(FdOpenContext& c, const FdRecord& rec) {
  LocalPty* pty = CR_TRY(find_pty(c.shared, CR_TRY(payload_of<PtyMasterRecord>(rec)).index, rec.fd));
  Fd f(fcntl(pty->master.get(), F_DUPFD_CLOEXEC, 0));
  if (!f.valid() || fcntl(f.get(), F_SETFL, rec.flags & O_NONBLOCK) != 0) return Error::os(format("fd %d: a dup of its pty master", rec.fd));
  return f;
}

Result<Fd> open_slave(FdOpenContext& c, const FdRecord& rec) {
  LocalPty* pty = CR_TRY(find_pty(c.shared, CR_TRY(payload_of<PtySlaveRecord>(rec)).index, rec.fd));
  // An exclusive slave refuses new opens without CAP_SYS_ADMIN: lifted for this one.
  int excl = CR_TRY(int_ioctl(pty->slave.get(), TIOCGEXCL, "TIOCGEXCL on the slave"));
  if (excl && ioctl(pty->slave.get(), TIOCNXCL) != 0) return Error::os("TIOCNXCL on the slave");
  auto f = open_peer(pty->master.get(), rec.flags & (O_ACCMODE | O_NONBLOCK), pty->locked);
  if (excl && ioctl(pty->slave.get(), TIOCEXCL) != 0) return Error::os("TIOCEXCL on the slave");
  if (!f) return f.error().context(format("fd %d (%s)", rec.fd, rec.path.c_str()));
  return f;
}

}  // namespace

Result<TermiosRecord> read_termios(int fd) {
  struct termios2 t {};
  if (ioctl(fd, TCGETS2, &t) != 0) return Error::os("TCGETS2");
  TermiosRecord r;
  r.iflag = t.c_iflag, r.oflag = t.c_oflag, r.cflag = t.c_cflag, r.lflag = t.c_lflag, r.line = t.c_line;
  r.cc.assign(t.c_cc, t.c_cc + NCCS);
  r.ispeed = t.c_ispeed, r.ospeed = t.c_ospeed;
  return r;
}

Result<void> write_termios(int fd, const TermiosRecord& r) {
  struct termios2 t {};
  if (r.cc.size() != NCCS) return Error::corrupt(format("a termios with %zu control characters (%d expected)", r.cc.size(), NCCS));
  t.c_iflag = r.iflag, t.c_oflag = r.oflag, t.c_cflag = r.cflag, t.c_lflag = r.lflag, t.c_line = r.line;
  std::copy(r.cc.begin(), r.cc.end(), t.c_cc);
  t.c_ispeed = r.ispeed, t.c_ospeed = r.ospeed;
  if (ioctl(fd, TCSETS2, &t) != 0) return Error::os("TCSETS2");
  return {};
}

const FdKindOps kPtyMasterKind{
    .kind = FdKind::PtyMaster,
    .name = "pty master",
    .detect = detect_master,
    .dump = dump_master,
    .resolve = resolve_ptys,
    .make_shared = make_ptys,
    .open = open_master,
    .print = print_payload<PtyMasterRecord>,
};

const FdKindOps kPtySlaveKind{
    .kind = FdKind::PtySlave,
    .name = "pty slave",
    .detect = detect_slave,
    .dump = dump_slave,
    .open = open_slave,
    .print = print_payload<PtySlaveRecord>,
};

}  // namespace crest
