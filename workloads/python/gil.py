#!/usr/bin/env python3
"""gil - lab 2: CPU-bound Python threads and the GIL.

--threads threads "worker-i" each run a pure-Python loop for --ms of their own CPU time.
Only the thread holding the GIL runs Python code, so 4 threads take about 4 times as long
as one. A thread that wants the GIL waits on a timed condition variable for the switch
interval (sys.setswitchinterval, --switch-ms), then asks the holder to drop it.
"""
import argparse
import sys
import threading
import time

import wl

results = {}


def spin(name, ms):
    results[name] = [wl.tid(), 0]
    end = time.thread_time_ns() + ms * 1_000_000
    x = 0
    while time.thread_time_ns() < end:
        for i in range(1000):
            x += i
    results[name][1] = time.thread_time_ns()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--ms", type=int, default=100, help="CPU time per thread (default 100)")
    ap.add_argument("--switch-ms", type=float, default=5.0,
                    help="sys.setswitchinterval in ms (default 5, CPython's default)")
    a = ap.parse_args()
    wl.name_thread("gil-main")
    sys.setswitchinterval(a.switch_ms / 1000)
    t0 = wl.now_ns()
    ts = [wl.named_thread(f"worker-{i}", spin, f"worker-{i}", a.ms) for i in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = wl.now_ns() - t0
    cpu = sum(r[1] for r in results.values())
    wl.truth(threads=a.threads, ms=a.ms, switch_interval_us=int(sys.getswitchinterval() * 1e6),
             cpu_ns_total=cpu, wall_ns=wall, parallelism_x100=cpu * 100 // max(wall, 1),
             tids=",".join(str(results[f"worker-{i}"][0]) for i in range(a.threads)),
             python=".".join(map(str, sys.version_info[:3])))


if __name__ == "__main__":
    main()
