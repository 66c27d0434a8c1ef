// BLCR's headers used from C++ (BLCR's testcxx.cc): everything is inside
// __BEGIN_DECLS/__END_DECLS, so the functions have C linkage and the library's symbols
// resolve; the macros and types behave as in C.
#include <libcr.h>

#include <cstdio>
#include <cstring>
#include <type_traits>

static_assert(sizeof(cr_checkpoint_args_t) == 28);
static_assert(CR_SIGNUM == 64);
static_assert(CR_ETEMPFAIL == 2354 && CR_MAX_ERRCODE == 2366);
static_assert(std::is_same_v<decltype(&cr_strerror), const char* (*)(int)>);
static_assert(std::is_same_v<decltype(&cr_request_checkpoint),
                             int (*)(cr_checkpoint_args_t*, cr_checkpoint_handle_t*)>);

int main() {
  int failures = 0;
  // These calls link only if the declarations have C linkage.
  if (std::strcmp(cr_strerror(CR_ENOINIT), "Calling thread has not called cr_init()") != 0) {
    std::fprintf(stderr, "headers_cxx: cr_strerror(CR_ENOINIT) = \"%s\"\n", cr_strerror(CR_ENOINIT));
    ++failures;
  }
  cr_checkpoint_args_t args;
  if (cr_initialize_checkpoint_args_t(&args) != 0 || args.cr_version != 1 || args.cr_fd != -1) {
    std::fprintf(stderr, "headers_cxx: cr_initialize_checkpoint_args_t gave wrong defaults\n");
    ++failures;
  }
  cr_spinlock_t lock = CR_SPINLOCK_INITIALIZER;
  cr_spinlock_lock(&lock);
  if (cr_spinlock_trylock(&lock)) {
    std::fprintf(stderr, "headers_cxx: a held spinlock was taken again\n");
    ++failures;
  }
  cr_spinlock_unlock(&lock);
  if (cri_signum != CR_SIGNUM) {
    std::fprintf(stderr, "headers_cxx: cri_signum = %d\n", cri_signum);
    ++failures;
  }
  if (failures) return 1;
  std::puts("headers_cxx: all checks passed");
  return 0;
}
