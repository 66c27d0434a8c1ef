/* Prints a counter with short sleeps; checkpointed at random times. */
#define _GNU_SOURCE
#include "crtest.h"

#include <stdint.h>
#include <unistd.h>

int main(void) {
    uint64_t h = 1469598103934665603ULL;
    t_mark("LOOP");
    for (int i = 0; i <= 120; i++) {
        t_printf("count %d", i);
        h = (h ^ (uint64_t)i) * 1099511628211ULL;
        usleep(20000);
    }
    t_mark("LOOPDONE");
    t_printf("hash %016llx", (unsigned long long)h);
    t_pass();
}
