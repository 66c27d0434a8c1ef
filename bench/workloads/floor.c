// This machine's floors, to compare crest with: what a plain program needs to move the same
// bytes. Each prints the seconds of its timed part on stdout (CLOCK_MONOTONIC).
//
//   floor dump FILE BYTES   touch BYTES of anonymous memory (untimed), then, timed: create
//                           FILE.tmp, write the memory with 8 MiB write()s, fsync it, rename
//                           it to FILE, fsync the directory (what cr_checkpoint --sync does
//                           with its image)
//   floor restore FILE      timed: open FILE, map fresh anonymous memory of its size, read
//                           the file into it with 8 MiB read()s, close
//   floor memcpy BYTES      touch two buffers of BYTES (untimed), then, timed: one memcpy
//   floor compress CODEC BYTES THREADS
//                           fill BYTES with log-like text (text.h, the text-* workloads'
//                           memory; untimed), then, timed: THREADS threads compress their
//                           share in 4 MiB chunks (a context each, reused), as crest's
//                           writers do with --compress=CODEC (lz4, or zstd:LEVEL); no I/O
//   floor warm BYTES        touch BYTES of fresh anonymous memory and free it (prints
//                           nothing): the harness runs it before every timed step so that
//                           what the step allocates comes from pages the host backs (see
//                           bench/README.md, "Warm pages")
//   floor spin              a CPU-bound loop until killed: the load of the "loaded" rows
//                           (one program taking a core beside the tool)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lz4.h>
#include <pthread.h>
#include <zstd.h>

#include "text.h"

#define CHUNK (8u << 20)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char* what) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  exit(2);
}

static char* touched(size_t bytes) {
  if (bytes == 0) return NULL;
  uint64_t* p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  for (size_t i = 0; i < bytes / 8; ++i) p[i] = (i * 0x9E3779B97F4A7C15ull) | 1;  // no zero page
  return (char*)p;
}

static void dump(const char* file, size_t bytes) {
  char* mem = touched(bytes);
  char tmp[4096], dirbuf[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", file);
  snprintf(dirbuf, sizeof dirbuf, "%s", file);
  const char* dir = dirname(dirbuf);
  double t0 = now();
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0400);
  if (fd < 0) die("open");
  for (size_t off = 0; off < bytes;) {
    size_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
    ssize_t w = write(fd, mem + off, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    off += (size_t)w;
  }
  if (fsync(fd) != 0) die("fsync");
  if (close(fd) != 0) die("close");
  if (rename(tmp, file) != 0) die("rename");
  int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) die("open dir");
  fsync(d);
  close(d);
  double t1 = now();
  printf("%.9f\n", t1 - t0);
}

static void restore(const char* file) {
  double t0 = now();
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open");
  struct stat st;
  if (fstat(fd, &st) != 0) die("fstat");
  size_t bytes = (size_t)st.st_size;
  char* mem = NULL;
  if (bytes) {
    mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) die("mmap");
  }
  for (size_t off = 0; off < bytes;) {
    size_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
    ssize_t r = read(fd, mem + off, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    if (r == 0) break;
    off += (size_t)r;
  }
  close(fd);
  double t1 = now();
  printf("%.9f\n", t1 - t0);
}

static void copy(size_t bytes) {
  char* src = touched(bytes);
  char* dst = touched(bytes);
  double t0 = now();
  memcpy(dst, src, bytes);
  double t1 = now();
  if (bytes && dst[bytes - 1] != src[bytes - 1]) return;  // keep the copy observable
  printf("%.9f\n", t1 - t0);
}

struct compress_job {
  const char* src;
  size_t bytes;
  int zstd_level;  // 0: lz4
  size_t out_total;
};

static void* compress_share(void* arg) {
  struct compress_job* j = arg;
  const size_t chunk = 4u << 20;
  size_t cap = j->zstd_level ? ZSTD_compressBound(chunk) : (size_t)LZ4_compressBound((int)chunk);
  char* out = malloc(cap);
  ZSTD_CCtx* z = ZSTD_createCCtx();
  if (!out || !z) die("out of memory");
  for (size_t off = 0; off < j->bytes; off += chunk) {
    size_t n = j->bytes - off < chunk ? j->bytes - off : chunk;
    if (j->zstd_level) {
      size_t r = ZSTD_compressCCtx(z, out, cap, j->src + off, n, j->zstd_level);
      if (ZSTD_isError(r)) die("zstd");
      j->out_total += r;
    } else {
      int r = LZ4_compress_default(j->src + off, out, (int)n, (int)cap);
      if (r <= 0) die("lz4");
      j->out_total += (size_t)r;
    }
  }
  ZSTD_freeCCtx(z);
  free(out);
  return NULL;
}

static void compress(const char* codec, size_t bytes, int threads) {
  int level = 0;
  if (strncmp(codec, "zstd:", 5) == 0)
    level = atoi(codec + 5);
  else if (strcmp(codec, "lz4") != 0)
    die("codec");
  if (threads < 1 || threads > 64 || (strncmp(codec, "zstd:", 5) == 0 && level < 1)) die("arguments");
  char* src = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (src == MAP_FAILED) die("mmap");
  fill_text(src, bytes, 1);
  struct compress_job jobs[64];
  pthread_t tids[64];
  size_t per = (bytes / threads + (4u << 20) - 1) / (4u << 20) * (4u << 20);  // whole chunks
  double t0 = now();
  for (int i = 0; i < threads; ++i) {
    size_t lo = (size_t)i * per < bytes ? (size_t)i * per : bytes;
    size_t hi = lo + per < bytes ? lo + per : bytes;
    jobs[i] = (struct compress_job){src + lo, hi - lo, level, 0};
    if (pthread_create(&tids[i], NULL, compress_share, &jobs[i]) != 0) die("pthread_create");
  }
  size_t out = 0;
  for (int i = 0; i < threads; ++i) {
    pthread_join(tids[i], NULL);
    out += jobs[i].out_total;
  }
  double t1 = now();
  printf("%.9f %zu\n", t1 - t0, out);
}

static void warm(size_t bytes) {
  if (bytes == 0) return;
  void* p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  munmap(p, bytes);
}

static void spin(void) {
  volatile uint64_t x = 1;
  for (;;) x = x * 6364136223846793005ull + 1442695040888963407ull;
}

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "dump") == 0)
    dump(argv[2], strtoull(argv[3], NULL, 0));
  else if (argc == 3 && strcmp(argv[1], "restore") == 0)
    restore(argv[2]);
  else if (argc == 3 && strcmp(argv[1], "memcpy") == 0)
    copy(strtoull(argv[2], NULL, 0));
  else if (argc == 5 && strcmp(argv[1], "compress") == 0)
    compress(argv[2], strtoull(argv[3], NULL, 0), atoi(argv[4]));
  else if (argc == 3 && strcmp(argv[1], "warm") == 0)
    warm(strtoull(argv[2], NULL, 0));
  else if (argc == 2 && strcmp(argv[1], "spin") == 0)
    spin();
  else {
    fprintf(stderr, "usage: floor dump FILE BYTES | floor restore FILE | floor memcpy BYTES | floor compress CODEC BYTES THREADS | floor warm BYTES | floor spin\n");
    return 255;
  }
  return 0;
}
