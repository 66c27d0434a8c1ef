/* Built against an installed crest (pkg-config libcr, or find_package(crest)) by
   install_test.py: the headers are found, -lcr links, the library loads at run time. */
#include <libcr.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  cr_checkpoint_args_t args;
  if (cr_initialize_checkpoint_args_t(&args) != 0 || args.cr_version != CR_CHECKPOINT_ARGS_VERSION) {
    fprintf(stderr, "installed_prog: cr_initialize_checkpoint_args_t failed\n");
    return 1;
  }
  const char *text = cr_strerror(CR_EOMITTED);
  if (strcmp(text, "Process omitted from checkpoint at a callback's request") != 0) {
    fprintf(stderr, "installed_prog: cr_strerror(CR_EOMITTED) = \"%s\"\n", text);
    return 1;
  }
  printf("installed_prog: libcr %s, release %s, CR_SIGNUM %d\n", LIBCR_VERSION, CR_RELEASE_VERSION,
         cri_signum);
  return 0;
}
