#!/usr/bin/env python3
"""sem_pool - lab 11: a threading.Semaphore as a pool of k permits (say, k connections).

--workers threads ("worker-0", ...) meet at a barrier, then each takes a permit --rounds
times and holds it for --hold-ms, sleeping (the work a permit stands for: waiting for a
server). A threading.Semaphore(k) lets at most k hold a permit at once; the others wait.
  --no-pool  the broken version: no semaphore, every worker goes in at once.
The ground-truth line: max_inside (the most workers inside at once, counted by the program
under a lock), entries (permits taken), permits.
"""
import argparse
import contextlib
import threading
import time

import wl

state = {"inside": 0, "max_inside": 0, "entries": 0}
count_lock = threading.Lock()


def enter():
    with count_lock:
        state["inside"] += 1
        state["entries"] += 1
        state["max_inside"] = max(state["max_inside"], state["inside"])


def leave():
    with count_lock:
        state["inside"] -= 1


def worker(pool, start, rounds, hold):
    start.wait()
    for _ in range(rounds):
        with pool:
            enter()
            time.sleep(hold)    # the permit's work: the trace sees it as a sleep
            leave()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--permits", type=int, default=3, help="k (default 3)")
    ap.add_argument("--workers", type=int, default=6, help="threads (default 6)")
    ap.add_argument("--rounds", type=int, default=3, help="permits each takes (default 3)")
    ap.add_argument("--hold-ms", type=int, default=50, help="how long a permit is held")
    ap.add_argument("--no-pool", action="store_true", help="no semaphore: all go in at once")
    a = ap.parse_args()
    if a.permits < 1 or a.workers < 1 or a.rounds < 1 or a.hold_ms < 0:
        wl.die("sem_pool: --permits, --workers and --rounds must be at least 1")
    wl.name_thread("pool-main")
    pool = contextlib.nullcontext() if a.no_pool else threading.Semaphore(a.permits)
    start = threading.Barrier(a.workers)
    ts = [wl.named_thread(f"worker-{i}", worker, pool, start, a.rounds, a.hold_ms / 1000)
          for i in range(a.workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wl.truth(permits=0 if a.no_pool else a.permits, workers=a.workers, rounds=a.rounds,
             entries=state["entries"], max_inside=state["max_inside"])


if __name__ == "__main__":
    main()
