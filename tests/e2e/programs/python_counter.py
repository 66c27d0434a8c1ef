"""Counter printed with short sleeps by a python3 interpreter (run with -u)."""
import os
import time

CONTROL = os.environ.get("CRTEST_CONTROL")


def mark(word):
    if CONTROL:
        with open(CONTROL, "a") as f:
            f.write(word + "\n")


def main():
    data = {}
    mark("LOOP")
    for i in range(61):
        data[i] = str(i * i)
        print("count", i)
        time.sleep(0.05)
    mark("LOOPDONE")
    print("sum", sum(len(v) for v in data.values()))
    print("done")


main()
