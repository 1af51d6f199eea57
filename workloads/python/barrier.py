#!/usr/bin/env python3
"""barrier - lab 13: nobody starts round r+1 before everyone has finished round r.

--threads workers ("worker-0", ...) do --rounds rounds of work; worker i's work is a sleep of
(i+1) x --hold-ms (so the workers are never equally fast), then it waits at the barrier.
  --variant ok      threading.Barrier(n): reusable, one generation a round.
  --variant broken  a one-shot barrier (a counter and a threading.Event that is never
                    cleared) reused every round: it holds the first round, then lets every
                    thread through at once, and the fast workers run ahead of the slow.
The ground-truth line: threads, rounds, early (how often a worker left the barrier of a round
that not everyone had reached, counted by the program).
"""
import argparse
import threading
import time

import wl


class OneShotBarrier:
    """The bug: all_here is set once and never cleared, so only round 1 waits."""

    def __init__(self, n):
        self.n = n
        self.count = 0
        self.lock = threading.Lock()
        self.all_here = threading.Event()

    def wait(self):
        with self.lock:
            self.count += 1
            if self.count == self.n:
                self.all_here.set()
        self.all_here.wait()


state = {"early": 0}
arrived = []
count_lock = threading.Lock()


def worker(i, n, barrier, rounds, hold):
    for r in range(rounds):
        time.sleep((i + 1) * hold)      # this round's work: the trace sees it as a sleep
        with count_lock:
            arrived[r] += 1
        barrier.wait()
        with count_lock:
            if arrived[r] < n:
                state["early"] += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", choices=("ok", "broken"), default="ok")
    ap.add_argument("--threads", type=int, default=3, help="workers (default 3)")
    ap.add_argument("--rounds", type=int, default=10, help="rounds (default 10)")
    ap.add_argument("--hold-ms", type=int, default=10, help="worker i works (i+1) x this")
    a = ap.parse_args()
    if a.threads < 2 or a.rounds < 1 or a.hold_ms < 1:
        wl.die("barrier: --threads at least 2, --rounds and --hold-ms at least 1")
    wl.name_thread("barrier-main")
    arrived.extend([0] * a.rounds)
    barrier = threading.Barrier(a.threads) if a.variant == "ok" else OneShotBarrier(a.threads)
    ts = [wl.named_thread(f"worker-{i}", worker, i, a.threads, barrier, a.rounds,
                          a.hold_ms / 1000) for i in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wl.truth(variant=a.variant, threads=a.threads, rounds=a.rounds, early=state["early"])


if __name__ == "__main__":
    main()
