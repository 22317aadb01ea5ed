#!/usr/bin/python3
"""procstat: what bench/compare.sh reads from /proc about a server.

    procstat.py cpu PID...     per PID given: CPU seconds (user+system,
                               and reaped children's) of it and all its
                               descendants, summed; one figure per PID
    procstat.py pss PID...     per PID given: Pss in KiB from
                               smaps_rollup, summed the same way
    procstat.py pids PID...    every PID those sums cover

A server is often several processes (nginx master and worker, hitch's
manager and worker): counting only one would flatter it. Each PID's
figures already cover all its threads. A process that vanished between
listing and reading counts as zero.
"""
import os
import sys

TICKS = os.sysconf("SC_CLK_TCK")


def children(pid):
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(k) for k in f.read().split()]
    except OSError:
        pass
    return kids


def tree(roots):
    seen, todo = [], list(roots)
    while todo and len(seen) < 100000:  # bounded, even if /proc lies
        pid = todo.pop()
        if pid in seen:
            continue
        seen.append(pid)
        todo += children(pid)
    return seen


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The command name may hold spaces and parentheses: split
            # after its closing one. utime stime cutime cstime are fields
            # 14-17, i.e. 11-14 after the name.
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / TICKS


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main(argv):
    if len(argv) < 3 or argv[1] not in ("cpu", "pss", "pids"):
        sys.exit("usage: procstat.py cpu|pss|pids PID...")
    roots = [int(p) for p in argv[2:]]
    if argv[1] == "cpu":
        print(" ".join(f"{sum(cpu_seconds(p) for p in tree([r])):.2f}"
                       for r in roots))
    elif argv[1] == "pss":
        print(" ".join(str(sum(pss_kib(p) for p in tree([r])))
                       for r in roots))
    else:
        print(" ".join(str(p) for p in tree(roots)))


if __name__ == "__main__":
    main(sys.argv)
