/* Minimal assertions for the libcr API tests: a failed CHECK prints where and what, and
   the program exits 1 at the end (all checks run). */
#ifndef CREST_LIBCR_API_CHECK_H
#define CREST_LIBCR_API_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++check_failures;                                                        \
    }                                                                          \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                          \
  do {                                                                              \
    long long va_ = (long long)(a), vb_ = (long long)(b);                           \
    if (va_ != vb_) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", __FILE__, \
              __LINE__, #a, #b, va_, vb_);                                          \
      ++check_failures;                                                             \
    }                                                                               \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                            \
  do {                                                                                \
    const char *sa_ = (a), *sb_ = (b);                                                \
    if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                      \
      fprintf(stderr, "%s:%d: check failed: %s == %s (\"%s\" != \"%s\")\n", __FILE__, \
              __LINE__, #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");          \
      ++check_failures;                                                               \
    }                                                                                 \
  } while (0)

/* A call that must fail with -1 (or ret) and errno err. */
#define CHECK_FAILS(call, ret, err)                                                  \
  do {                                                                               \
    errno = 0;                                                                       \
    long long r_ = (long long)(call);                                                \
    int e_ = errno;                                                                  \
    if (r_ != (ret) || e_ != (err)) {                                                \
      fprintf(stderr, "%s:%d: %s: expected %lld/errno %d (%s), got %lld/errno %d (%s)\n", \
              __FILE__, __LINE__, #call, (long long)(ret), (err), strerror(err), r_, e_,  \
              strerror(e_));                                                         \
      ++check_failures;                                                              \
    }                                                                                \
  } while (0)

static int check_done(const char *name) {
  if (check_failures) {
    fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
    return 1;
  }
  printf("%s: all checks passed\n", name);
  return 0;
}

#endif
