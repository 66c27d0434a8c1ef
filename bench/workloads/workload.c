// Benchmark workload for crest: touch memory, say READY, then loop, stamping a heartbeat
// into a shared page, until killed. On SIGUSR1 it verifies its memory against the checksum
// taken after touching and prints OK or BAD (and records the verdict in the shared page).
//
//   workload HBFILE HARNESS_PID mem RANDOM_BYTES ZERO_BYTES UNTOUCHED_BYTES
//       one private anonymous mapping: RANDOM_BYTES of random data, then ZERO_BYTES
//       written with zeros (real pages), then UNTOUCHED_BYTES never touched
//   workload HBFILE HARNESS_PID text BYTES
//       one private anonymous mapping of BYTES of log-like text (text.h), for the
//       compression rows
//   workload HBFILE HARNESS_PID maps COUNT PAGES
//       COUNT separate mappings of PAGES random pages each (a hole between two, so
//       they do not merge into one area)
//   workload HBFILE HARNESS_PID threads NTHREADS BYTES
//       NTHREADS threads in all (the main one included), BYTES of random memory
//   workload HBFILE HARNESS_PID tree NPROCS BYTES
//       NPROCS processes in a binary tree (process i is the parent of 2i+1 and 2i+2),
//       each with its own BYTES of random memory
//
// The loop sleeps 100 us between heartbeats so that an idle workload does not take a
// core from the tool or the floor programs measured beside it on a small machine. Each
// iteration compares the time since the previous one with the largest gap recorded in the
// shared page: a checkpoint freezes the process, so the largest gap is the freeze time,
// and after a restart the first iteration closes a gap whose end is the moment the
// restored process ran again. The workload exits by itself when the harness is gone.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shared.h"
#include "text.h"

static volatile struct bench_shared* sh;
static volatile sig_atomic_t got_usr1;
static pid_t harness_pid;
static int my_index;           // tree: index of this process; 0 otherwise
static int tree_n;             // tree: number of processes
static pid_t tree_child[2];    // tree: this process's children (0 = none)

struct region {
  uint64_t* p;
  size_t words;
  int zero;  // 1: must read as zeros (written with zeros or never touched)
};
static struct region* regions;
static size_t nregions;
static uint64_t sum_expected;
static uint64_t touched_bytes;

// One line on fd `fd` with write(2) (no stdio buffering across checkpoints).
static void vline(int fd, const char* fmt, va_list ap) {
  char buf[512];
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  if (n < 0) n = 0;
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  ssize_t w = write(fd, buf, n);
  (void)w;
}

static void die(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vline(2, fmt, ap);
  va_end(ap);
  exit(2);
}

static void say(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vline(1, fmt, ap);
  va_end(ap);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

// splitmix64's output function of a counter: incompressible, and every word independent,
// so filling runs at memory/page-fault speed.
static inline uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t word_counter;  // global index of the next random word (distinct data everywhere)

static void fill_random(uint64_t* p, size_t words) {
  uint64_t base = word_counter + ((uint64_t)my_index << 40);
  for (size_t i = 0; i < words; ++i) p[i] = mix64(base + i);
  word_counter += words;
}

// Eight independent lanes of s = (s ^ w) * odd: each step is a bijection of s, so a
// change in any single word always changes the result.
static uint64_t hash_words(const uint64_t* w, size_t n, uint64_t h) {
  const uint64_t P = 0x9FB21C651E98DF25ull;
  uint64_t s[8];
  for (int j = 0; j < 8; ++j) s[j] = h + (uint64_t)(j + 1) * 0x9E3779B97F4A7C15ull;
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] = (s[j] ^ w[i + j]) * P;
  for (; i < n; ++i) s[i & 7] = (s[i & 7] ^ w[i]) * P;
  uint64_t r = n;
  for (int j = 0; j < 8; ++j) r = mix64(r ^ s[j]);
  return r;
}

static void add_region(uint64_t* p, size_t bytes, int zero) {  // at most 3 (mem, threads, tree)
  static struct region fixed[3];
  if (!regions) regions = fixed;
  if (nregions == 3) die("too many regions");
  regions[nregions++] = (struct region){p, bytes / 8, zero};
}

// Checksum of the random regions in order; with check_zero, *zero_ok = 0 if a zero region
// is not zero (not at start-up: reading never-touched memory would map the zero page).
static uint64_t checksum_all(int check_zero, int* zero_ok) {
  uint64_t h = 0x1234;
  *zero_ok = 1;
  for (size_t r = 0; r < nregions; ++r) {
    const struct region* g = &regions[r];
    if (g->zero) {
      if (!check_zero) continue;
      uint64_t acc = 0;
      for (size_t i = 0; i < g->words; ++i) acc |= g->p[i];
      if (acc) *zero_ok = 0;
    } else {
      h = hash_words(g->p, g->words, h);
    }
  }
  return h;
}

static void* map_anon(size_t bytes) {
  void* p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap %zu bytes: %s", bytes, strerror(errno));
  return p;
}

static void on_usr1(int sig) {
  (void)sig;
  got_usr1 = 1;
}

static void sleep_ns(long ns) {
  struct timespec ts = {0, ns};
  clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

static int harness_gone(void) { return kill(harness_pid, 0) != 0 && errno == ESRCH; }

// Verify this process's memory; returns 1 if good.
static int verify_self(uint64_t* found) {
  int zero_ok;
  *found = checksum_all(1, &zero_ok);
  return zero_ok && *found == sum_expected;
}

// ---- tree ----------------------------------------------------------------------------

static void tree_spawn_children(void) {
  for (int k = 0; k < 2; ++k) {
    int c = 2 * my_index + 1 + k;
    if (c >= tree_n) break;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      my_index = c;
      tree_child[0] = tree_child[1] = 0;
      tree_spawn_children();
      return;  // the child goes on to allocate its own memory
    }
    tree_child[k] = pid;
  }
}

static void tree_member_loop(void) {  // every process of the tree but the root
  volatile struct bench_slot* me = &sh->slot[my_index];
  for (uint64_t i = 0;; ++i) {
    me->pid = (uint64_t)getpid();
    if (got_usr1) {
      got_usr1 = 0;
      for (int k = 0; k < 2; ++k)
        if (tree_child[k]) kill(tree_child[k], SIGUSR1);
      uint64_t found;
      me->verify_status = verify_self(&found) ? 1 : 2;
      me->verify_seq = me->verify_seq + 1;
    }
    if (i % 1000 == 0 && harness_gone()) _exit(3);
    sleep_ns(1000000);
  }
}

// ---- threads -------------------------------------------------------------------------

static void* idle_thread(void* arg) {
  (void)arg;
  for (;;) sleep_ns(1000000);
  return NULL;
}

// ---- main ----------------------------------------------------------------------------

static uint64_t parse_u64(const char* s) {
  char* end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || *end) die("bad number: %s", s);
  return v;
}

int main(int argc, char** argv) {
  if (argc < 4) die("usage: workload HBFILE HARNESS_PID MODE ARGS...");
  harness_pid = (pid_t)parse_u64(argv[2]);
  const char* mode = argv[3];
  const long page = sysconf(_SC_PAGESIZE);

  int fd = open(argv[1], O_RDWR | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", argv[1], strerror(errno));
  void* shp = mmap(NULL, sizeof(struct bench_shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (shp == MAP_FAILED) die("mmap %s: %s", argv[1], strerror(errno));
  close(fd);
  sh = shp;
  sh->magic = BENCH_MAGIC;
  sh->nprocs = 1;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);

  if (strcmp(mode, "mem") == 0 && argc == 7) {
    uint64_t rnd = parse_u64(argv[4]), zero = parse_u64(argv[5]), untouched = parse_u64(argv[6]);
    uint64_t total = rnd + zero + untouched;
    if (total % page) die("sizes must be multiples of the page size");
    if (total) {
      char* p = map_anon(total);
      if (rnd) {
        fill_random((uint64_t*)p, rnd / 8);
        add_region((uint64_t*)p, rnd, 0);
      }
      if (zero) {
        memset(p + rnd, 0, zero);  // real pages that hold zeros (not the zero page)
        add_region((uint64_t*)(p + rnd), zero, 1);
      }
      if (untouched) add_region((uint64_t*)(p + rnd + zero), untouched, 1);  // never touched
    }
    touched_bytes = rnd + zero;
  } else if (strcmp(mode, "text") == 0 && argc == 5) {
    uint64_t bytes = parse_u64(argv[4]);
    if (bytes == 0 || bytes % page) die("the size must be a positive multiple of the page size");
    char* p = map_anon(bytes);
    fill_text(p, bytes, 1);
    add_region((uint64_t*)p, bytes, 0);
    touched_bytes = bytes;
  } else if (strcmp(mode, "maps") == 0 && argc == 6) {
    uint64_t count = parse_u64(argv[4]), pages = parse_u64(argv[5]);
    size_t stride = (pages + 1) * page, len = pages * page;
    // Reserve the whole range (PROT_NONE), then map each small area over its part and
    // unmap the page after it: the holes keep the areas apart, the reservation keeps other
    // allocations out of the range meanwhile.
    char* base = mmap(NULL, count * stride, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) die("mmap reservation: %s", strerror(errno));
    regions = malloc(count * sizeof *regions);
    if (!regions) die("out of memory");
    for (uint64_t i = 0; i < count; ++i) {
      char* want = base + i * stride;
      void* p = mmap(want, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (p != want) die("mmap of small mapping %llu: %s", (unsigned long long)i, strerror(errno));
      if (munmap(want + len, page) != 0) die("munmap: %s", strerror(errno));
      fill_random(p, len / 8);
      regions[nregions++] = (struct region){p, len / 8, 0};
    }
    touched_bytes = count * len;
  } else if (strcmp(mode, "threads") == 0 && argc == 6) {
    uint64_t n = parse_u64(argv[4]), bytes = parse_u64(argv[5]);
    if (bytes) {
      void* p = map_anon(bytes);
      fill_random(p, bytes / 8);
      add_region(p, bytes, 0);
    }
    touched_bytes = bytes;
    for (uint64_t i = 1; i < n; ++i) {
      pthread_t t;
      pthread_attr_t a;
      pthread_attr_init(&a);
      pthread_attr_setstacksize(&a, 64 * 1024);
      int e = pthread_create(&t, &a, idle_thread, NULL);
      if (e) die("pthread_create: %s", strerror(e));
      pthread_attr_destroy(&a);
    }
  } else if (strcmp(mode, "tree") == 0 && argc == 6) {
    tree_n = (int)parse_u64(argv[4]);
    uint64_t bytes = parse_u64(argv[5]);
    if (tree_n < 1 || tree_n > BENCH_MAX_PROCS) die("tree: 1..%d processes", BENCH_MAX_PROCS);
    sh->nprocs = tree_n;
    tree_spawn_children();
    if (bytes) {
      void* p = map_anon(bytes);
      fill_random(p, bytes / 8);
      add_region(p, bytes, 0);
    }
    touched_bytes = bytes * tree_n;
    int zero_ok;
    sum_expected = checksum_all(0, &zero_ok);
    sh->slot[my_index].pid = (uint64_t)getpid();
    sh->slot[my_index].ready = 1;
    if (my_index != 0) tree_member_loop();
    for (int i = 0; i < tree_n; ++i)
      while (!sh->slot[i].ready) {
        if (harness_gone()) exit(3);
        sleep_ns(1000000);
      }
  } else {
    die("unknown mode or wrong arguments: %s", mode);
  }

  if (strcmp(mode, "tree") != 0) {
    int zero_ok;
    sum_expected = checksum_all(0, &zero_ok);
  }
  sh->sum_expected = sum_expected;
  sh->pid = (uint64_t)getpid();
  say("READY pid=%d touched=%llu sum=%016llx", (int)getpid(), (unsigned long long)touched_bytes,
      (unsigned long long)sum_expected);
  uint64_t last = now_ns();
  sh->heartbeat_ns = last;
  sh->ready = 1;

  for (uint64_t i = 0;; ++i) {
    uint64_t now = now_ns();
    uint64_t gap = now - last;
    if (gap > sh->max_gap_ns) {
      sh->max_gap_ns = gap;
      sh->max_gap_end_ns = now;
    }
    sh->heartbeat_ns = now;
    sh->pid = (uint64_t)getpid();
    last = now;
    if (got_usr1) {
      got_usr1 = 0;
      uint64_t seqs[BENCH_MAX_PROCS];
      if (tree_n) {
        for (int k = 0; k < tree_n; ++k) seqs[k] = sh->slot[k].verify_seq;
        for (int k = 0; k < 2; ++k)
          if (tree_child[k]) kill(tree_child[k], SIGUSR1);
      }
      uint64_t found;
      int ok = verify_self(&found);
      if (tree_n) {
        for (int k = 1; k < tree_n; ++k) {
          uint64_t deadline = now_ns() + 120ull * 1000000000ull;
          while (sh->slot[k].verify_seq == seqs[k] && now_ns() < deadline) sleep_ns(1000000);
          if (sh->slot[k].verify_seq == seqs[k] || sh->slot[k].verify_status != 1) ok = 0;
        }
      }
      sh->sum_found = found;
      if (ok)
        say("OK sum=%016llx", (unsigned long long)found);
      else
        say("BAD expected=%016llx found=%016llx", (unsigned long long)sum_expected, (unsigned long long)found);
      sh->verify_status = ok ? 1 : 2;
      sh->verify_seq = sh->verify_seq + 1;
      last = now_ns();  // the verification is not a freeze
    }
    if (i % 4096 == 0 && harness_gone()) exit(3);
    sleep_ns(100000);
  }
}
