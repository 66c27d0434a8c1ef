// semctl()'s fourth argument, which the caller must define (semctl(2)); used by the dump
// and the restore of System V semaphore sets.
#pragma once

#include <sys/sem.h>

namespace crest {

union SemArg {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

}  // namespace crest
