#!/usr/bin/env python3
"""philosophers - lab 9: five philosophers (threads phil-0..phil-4), five forks (threading.Lock).

Philosopher i eats with fork i (left) and fork i+1 mod 5 (right), each held by a `with` block,
--meals times.
  --variant naive    everyone takes the left fork first. The philosophers all pick up their
                     left fork, meet at a barrier, then each waits for the right one, which its
                     neighbour holds: a cycle through all five. HANGS ON PURPOSE; kill it.
  --variant ordered  the fix: take the lower-numbered fork first (philosopher 4 takes fork 0,
                     then fork 4), so no cycle can form.
  --no-force         naive without the barrier: it hangs only when the timing is unlucky.
  --variant waiter   the other fix: a waiter (threading.Semaphore(4)) lets at most four sit at
                     the table at once, so one of them always gets both forks.
The ground-truth line (meals of each philosopher) is printed once everyone has eaten, or for
naive, flushed once everyone holds a fork.
"""
import argparse
import threading

import wl

N = 5
forks = [threading.Lock() for _ in range(N)]
tids = [0] * N
meals = [0] * N


def eat(i):
    meals[i] += 1


def naive(i, n, holding):
    left, right = forks[i], forks[(i + 1) % N]
    for _ in range(n):
        with left:
            if holding:
                holding.wait()  # everyone holds the left fork...
            with right:         # ... and waits here forever for the neighbour's
                eat(i)


def ordered(i, n, _):
    first, second = sorted((i, (i + 1) % N))
    for _ in range(n):
        with forks[first]:
            with forks[second]:
                eat(i)


def with_waiter(i, n, waiter):
    left, right = forks[i], forks[(i + 1) % N]
    for _ in range(n):
        with waiter:            # at most N-1 at the table
            with left:
                with right:
                    eat(i)


def philosopher(i, fn, n, shared):
    tids[i] = wl.tid()
    fn(i, n, shared)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", choices=("naive", "ordered", "waiter"), default="naive")
    ap.add_argument("--meals", type=int, default=10, help="meals each (default 10)")
    ap.add_argument("--no-force", action="store_true", help="naive without the barrier")
    a = ap.parse_args()
    if a.meals < 1:
        wl.die("philosophers: --meals must be at least 1")
    wl.name_thread("philo-main")
    force = threading.Barrier(N + 1) if not a.no_force else None
    fn, shared = {"naive": (naive, force),
                  "ordered": (ordered, None),
                  "waiter": (with_waiter, threading.Semaphore(N - 1))}[a.variant]
    ts = [wl.named_thread(f"phil-{i}", philosopher, i, fn, a.meals, shared) for i in range(N)]
    for t in ts:
        t.start()
    if a.variant == "naive" and force:
        shared.wait()
        print("every philosopher holds the left fork and waits for the right one")
        wl.truth(hang="cycle", pid=wl.pid(), tids=",".join(map(str, tids)),
                 holder_fork0=tids[0])
    for t in ts:
        t.join()
    wl.truth(hang="none", variant=a.variant, meals=",".join(map(str, meals)),
             tids=",".join(map(str, tids)))


if __name__ == "__main__":
    main()
