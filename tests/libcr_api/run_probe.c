/* Started under cr_run (not linked with libcr): prints what the preload did, one
   "key=value" per line, for cr_run_test.py. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  const char *preload = getenv("LD_PRELOAD");
  printf("LD_PRELOAD=%s\n", preload ? preload : "(unset)");
  printf("cr_init=%s\n", dlsym(RTLD_DEFAULT, "cr_init") ? "found" : "absent");
  printf("cr_request_checkpoint=%s\n", dlsym(RTLD_DEFAULT, "cr_request_checkpoint") ? "found" : "absent");
  printf("cr_run_link_me=%s\n", dlsym(RTLD_DEFAULT, "cr_run_link_me") ? "found" : "absent");
  printf("cr_omit_link_me=%s\n", dlsym(RTLD_DEFAULT, "cr_omit_link_me") ? "found" : "absent");
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[4096];
  int run = 0, omit = 0, full = 0;
  while (maps && fgets(line, sizeof line, maps)) {
    if (strstr(line, "/libcr_run.so")) run = 1;
    if (strstr(line, "/libcr_omit.so")) omit = 1;
    if (strstr(line, "/libcr.so")) full = 1;
  }
  if (maps) fclose(maps);
  printf("mapped_run=%d\nmapped_omit=%d\nmapped_libcr=%d\n", run, omit, full);
  for (int i = 1; i < argc; ++i) printf("arg%d=%s\n", i, argv[i]);
  return 0;
}
