/* An MPI job for tests/real_net/mpi.py: every rank passes a number around the ring 60
 * times, 50 ms apart, folds what it gets into a sum, and rank 0 prints the sum of all
 * ranks' sums: the same for every uninterrupted run of the same size. */
#include <mpi.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    unsigned long sum = 0;
    for (int i = 0; i < 60; i++) {
        unsigned long v = (unsigned long)(i * 31 + rank * 7), got = 0;
        MPI_Sendrecv(&v, 1, MPI_UNSIGNED_LONG, (rank + 1) % size, 0, &got, 1, MPI_UNSIGNED_LONG,
                     (rank + size - 1) % size, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        sum = sum * 1000003 + got;
        usleep(50000);
    }
    unsigned long total = 0;
    MPI_Reduce(&sum, &total, 1, MPI_UNSIGNED_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) printf("checksum %lu\n", total);
    MPI_Finalize();
    return 0;
}
