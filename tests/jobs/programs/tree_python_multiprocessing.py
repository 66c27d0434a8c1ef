"""multiprocessing Pool (fork start method) of 2 workers mapping a function over
a range, results printed in order. The worker computing item POINT_ITEM waits at
a checkpoint point (sigwait for SIGUSR2) while the other worker goes on (it
needs about 0.5 s for the rest); the parent has printed the results before it
and waits for that one."""
import multiprocessing as mp
import os
import signal
import time

N = 40
POINT_ITEM = 15


def point(n):
    ctl = os.environ.get("CRTEST_CONTROL")
    if not ctl:
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
    with open(ctl, "a") as f:
        f.write("JOB %d\nCKPT %d\n" % (os.getpid(), n))
    signal.sigwait({signal.SIGUSR2})
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR2})


def work(x):
    if x == POINT_ITEM:
        point(1)
    else:
        time.sleep(0.02)    # the other worker is still busy at the checkpoint
    acc = 0
    for i in range(2000 + 50 * x):
        acc = (acc * 31 + i * x) % 1000003
    return x, acc


def main():
    ctx = mp.get_context("fork")
    with ctx.Pool(2) as pool:
        for x, acc in pool.imap(work, range(N), chunksize=1):
            print("%d -> %d" % (x, acc), flush=True)
        pool.close()
        pool.join()
    print("done", flush=True)


if __name__ == "__main__":
    main()
