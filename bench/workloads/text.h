// Log-like text for the compression rows: what memory full of a job's log lines looks like to
// a compressor (zstd -1 makes it about 4-5x smaller). Shared by workload.c (the target's
// memory) and floor.c (the codec floor compresses the same bytes).
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline uint64_t text_mix64(uint64_t z) {  // splitmix64's output function
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Fills p[0, bytes) with lines such as
//   2026-11-25T10:17:03.512Z INFO  [solver] rank 12: step 40213 finished in 88 ms
// drawn from a fixed vocabulary with numbers from a counter-based generator (seeded).
static inline void fill_text(char* p, size_t bytes, uint64_t seed) {
  static const char* const levels[] = {"INFO ", "INFO ", "INFO ", "DEBUG", "DEBUG", "WARN ", "ERROR"};
  static const char* const modules[] = {"scheduler", "solver", "io.writer", "net.rpc", "mesh", "cache", "auth", "ckpt"};
  uint64_t ms = 37023512;  // 10:17:03.512
  size_t off = 0;
  char line[256];
  for (uint64_t i = 0; off < bytes; ++i) {
    uint64_t r = text_mix64(seed + i), s = text_mix64(~(seed + i));
    ms += r % 23;
    unsigned h = (unsigned)(ms / 3600000 % 24), m = (unsigned)(ms / 60000 % 60), sec = (unsigned)(ms / 1000 % 60);
    unsigned frac = (unsigned)(ms % 1000), rank = (unsigned)(r >> 8) % 64;
    int n = snprintf(line, sizeof line, "2026-11-25T%02u:%02u:%02u.%03uZ %s [%s] rank %u: ", h, m, sec, frac,
                     levels[(r >> 16) % 7], modules[(r >> 24) % 8], rank);
    switch ((r >> 32) % 6) {
      case 0: n += snprintf(line + n, sizeof line - n, "step %llu finished in %llu ms\n", (unsigned long long)(i / 3), (unsigned long long)(s % 200)); break;
      case 1: n += snprintf(line + n, sizeof line - n, "sent %llu bytes to node n%04llu\n", (unsigned long long)(s % 1048576), (unsigned long long)(s >> 20) % 512); break;
      case 2: n += snprintf(line + n, sizeof line - n, "cache miss for key %08llx, loading from tier %llu\n", (unsigned long long)(s & 0xffffffff), (unsigned long long)(s >> 40) % 3); break;
      case 3: n += snprintf(line + n, sizeof line - n, "retrying request %llu (attempt %llu of 5)\n", (unsigned long long)(i / 7), (unsigned long long)(s % 5 + 1)); break;
      case 4: n += snprintf(line + n, sizeof line - n, "residual %llu.%06llue-%02llu after iteration %llu\n", (unsigned long long)(s % 10), (unsigned long long)(s >> 8) % 1000000, (unsigned long long)(s >> 40) % 16, (unsigned long long)(i / 5)); break;
      default: n += snprintf(line + n, sizeof line - n, "{\"event\":\"heartbeat\",\"load\":%llu.%02llu,\"queue\":%llu}\n", (unsigned long long)(s % 4), (unsigned long long)(s >> 8) % 100, (unsigned long long)(s >> 16) % 1000); break;
    }
    size_t take = (size_t)n < bytes - off ? (size_t)n : bytes - off;
    memcpy(p + off, line, take);
    off += take;
  }
}
