/* A program that does not link libcr loads it with dlopen("libcr.so.0") (by soname,
   LD_LIBRARY_PATH names the build's library directory) and calls cr_strerror through
   dlsym; cri_signum is exported with CR_SIGNUM's value. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libcr.h>

#include "check.h"

int main(void) {
  CHECK(dlsym(RTLD_DEFAULT, "cr_strerror") == NULL); /* not loaded yet */
  void *lib = dlopen("libcr.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "dlopen.c: dlopen(libcr.so.0): %s\n", dlerror());
    return 1;
  }
  const char *(*strerror_fn)(int) = (const char *(*)(int))dlsym(lib, "cr_strerror");
  CHECK(strerror_fn != NULL);
  if (strerror_fn) {
    CHECK_EQ_STR(strerror_fn(CR_ETEMPFAIL), "Temporary error: checkpoint cancelled");
    CHECK_EQ_STR(strerror_fn(ENOENT), strerror(ENOENT));
  }
  const int *signum = (const int *)dlsym(lib, "cri_signum");
  CHECK(signum != NULL && *signum == CR_SIGNUM);
  CHECK(dlsym(lib, "cr_link_me") != NULL);
  CHECK(dlsym(lib, "cr_request_checkpoint") != NULL);
  /* crest's internals stay hidden. */
  CHECK(dlsym(lib, "_ZN5crest5libcr17handles_in_flightEPii") == NULL);
  Dl_info info;
  if (strerror_fn && dladdr((void *)strerror_fn, &info)) {
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    CHECK_EQ_STR(base, "libcr.so.0");
  }
  CHECK(dlclose(lib) == 0);
  /* Linked with -z nodelete: still there after dlclose (its signal handler points in). */
  CHECK(dlopen("libcr.so.0", RTLD_NOW | RTLD_NOLOAD) != NULL);
  return check_done("dlopen.c");
}
