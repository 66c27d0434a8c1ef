/* Checkpoints itself like BLCR's self-checkpoint pattern: the image file is open at
 * descriptor 5 and cr_checkpoint (from $CR_CHECKPOINT) is started with -F 5, so the
 * process holds the very open file the image is written to; descriptor 6 is another file.
 * Then it reports which of its descriptors are open. In the restarted copy the wait for
 * cr_checkpoint fails (it is not our child there): fd 5 and its dup fd 8 must be closed,
 * fd 6 open. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) return 90;
  setvbuf(stdout, NULL, _IONBF, 0);
  int img = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int keep = open(argv[2], O_RDONLY);
  if (img < 0 || keep < 0 || dup2(img, 5) != 5 || dup2(keep, 6) != 6 || dup2(img, 8) != 8) return 91;
  close(img);
  close(keep);
  char self[16];
  snprintf(self, sizeof self, "%d", getpid());
  pid_t child = fork();
  if (child == 0) {
    fcntl(5, F_SETFD, 0);
    execl(getenv("CR_CHECKPOINT"), "cr_checkpoint", "--pid", "-F", "5", self, (char*)NULL);
    _exit(127);
  }
  int status = 0;
  pid_t got = waitpid(child, &status, 0);
  if (got == child)
    printf("original: cr_checkpoint exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  else
    printf("restarted: wait %s\n", strerror(errno));
  printf("fd5 %s fd6 %s fd8 %s\n", fcntl(5, F_GETFD) >= 0 ? "open" : "closed", fcntl(6, F_GETFD) >= 0 ? "open" : "closed",
         fcntl(8, F_GETFD) >= 0 ? "open" : "closed");
  return 0;
}
