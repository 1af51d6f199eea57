#!/usr/bin/env python3
"""start_cost - lab 21: what a thread costs against what a process costs.

Starts --n threads ("t-i"), then --n processes (multiprocessing, fork, "p-i"), each of which
only waits --hold-ms and ends; the main thread starts them one after the other, then waits
for them all. --kind threads or processes starts only one group.
The ground-truth line gives the program's own start times (per thread, per process, in µs)
and memory: the resident set added by the threads (this process's VmRSS before and after)
and the proportional set size (Pss) of one child process, its private share.
"""
import argparse
import multiprocessing as mp
import os
import threading
import time

import wl


def hold(name, ms, ready=None):
    wl.name_thread(name)
    time.sleep(ms / 1000)


def rss_kb(pid="self", field="VmRSS"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=("both", "threads", "processes"), default="both")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--hold-ms", type=int, default=200)
    a = ap.parse_args()
    wl.name_thread("start-main")
    out = {"kind": a.kind, "n": a.n}
    if a.kind in ("both", "threads"):
        before = rss_kb()
        t0 = wl.now_ns()
        ts = [threading.Thread(target=hold, args=(f"t-{i}", a.hold_ms)) for i in range(a.n)]
        for t in ts:
            t.start()
        out["thread_start_us"] = (wl.now_ns() - t0) // 1000 // a.n
        out["threads_rss_kb"] = rss_kb() - before
        for t in ts:
            t.join()
    if a.kind in ("both", "processes"):
        ctx = mp.get_context("fork")
        t0 = wl.now_ns()
        ps = [ctx.Process(target=hold, args=(f"p-{i}", a.hold_ms)) for i in range(a.n)]
        for i, p in enumerate(ps):
            p.start()
            if i == 0:      # the first child, while it is surely alive
                out["process_pss_kb"] = pss_kb(p.pid)
                out["process_rss_kb"] = rss_kb(p.pid)
        out["process_start_us"] = (wl.now_ns() - t0) // 1000 // a.n
        for p in ps:
            p.join()
    wl.truth(**out)


if __name__ == "__main__":
    main()
