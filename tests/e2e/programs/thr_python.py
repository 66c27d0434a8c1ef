"""python3 with 4 worker threads fed through a queue.Queue (run with -u).

Main puts items one at a time with short sleeps, waits for each result and
prints progress in item order; workers block in Queue.get between items, so a
checkpoint at a random moment finds them blocked or computing."""
import os
import queue
import threading
import time

CONTROL = os.environ.get("CRTEST_CONTROL")
NWORKERS = 4
NITEMS = 60


def mark(word):
    if CONTROL:
        with open(CONTROL, "a") as f:
            f.write(word + "\n")


def work(n):
    h = 2166136261
    for i in range(2000 + n * 37):
        h = ((h ^ (i & 0xff)) * 16777619) & 0xFFFFFFFF
    return h


def worker(idx, tasks, results, counts):
    local = threading.local()
    local.idx = idx
    while True:
        item = tasks.get()
        if item is None:
            tasks.task_done()
            break
        results.put((item, work(item)))
        counts[local.idx] += 1
        tasks.task_done()


def main():
    tasks = queue.Queue()
    results = queue.Queue()
    counts = [0] * NWORKERS
    threads = [threading.Thread(target=worker, args=(i, tasks, results, counts))
               for i in range(NWORKERS)]
    for t in threads:
        t.start()
    print("started", NWORKERS, "workers")
    mark("LOOP")
    pending = {}
    total = 0
    for i in range(NITEMS):
        tasks.put(i)
        while i not in pending:
            item, value = results.get(timeout=30)
            pending[item] = value
        value = pending.pop(i)
        total = (total * 31 + value) & 0xFFFFFFFFFFFF
        print("item", i, "value", value)
        time.sleep(0.05)
    mark("LOOPDONE")
    for _ in threads:
        tasks.put(None)
    tasks.join()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive()
    print("workers joined", len(threads), "items", sum(counts))
    print("total", total)
    print("done")


main()
