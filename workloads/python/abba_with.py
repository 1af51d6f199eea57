#!/usr/bin/env python3
"""abba_with - lab 7: an ABBA deadlock on two threading.Lock objects taken with `with`.

Thread "abba-1" runs `with lock_a: ... with lock_b:`, thread "abba-2" `with lock_b: ... with
lock_a:`. Both enter their first `with`, meet at a barrier, then each waits for the lock the
other holds: the barrier makes the cycle certain. HANGS ON PURPOSE (unless --ordered); kill it.
Because every lock is held by a `with` block, `conlab deadlock -p` names the holder of each
(the frame that entered the `with`) and reports a wait-for cycle with Python's names.
  --ordered  the fix: both threads take lock_a, then lock_b, --iters times, at the same time.
The ground-truth line is printed and flushed before the hang.
"""
import argparse
import threading

import wl

lock_a = threading.Lock()
lock_b = threading.Lock()
tids = {}


def transfer(first, second, both_hold):
    with first:
        both_hold.wait()
        with second:        # abba: waits here forever for the lock the other holds
            pass


def ordered(iters):
    for _ in range(iters):
        with lock_a:
            with lock_b:
                pass


def worker(name, fn, *args):
    tids[name] = wl.tid()
    fn(*args)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ordered", action="store_true",
                    help="the fix: one lock order for both threads")
    ap.add_argument("--iters", type=int, default=1000, help="with --ordered (default 1000)")
    a = ap.parse_args()
    if a.iters < 1:
        wl.die("abba_with: --iters must be at least 1")
    wl.name_thread("abba-main")
    if a.ordered:
        ts = [wl.named_thread(n, worker, n, ordered, a.iters) for n in ("abba-1", "abba-2")]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        wl.truth(hang="none", tid1=tids["abba-1"], tid2=tids["abba-2"], iters=a.iters)
        return
    both_hold = threading.Barrier(3)
    t1 = wl.named_thread("abba-1", worker, "abba-1", transfer, lock_a, lock_b, both_hold)
    t2 = wl.named_thread("abba-2", worker, "abba-2", transfer, lock_b, lock_a, both_hold)
    t1.start()
    t2.start()
    both_hold.wait()
    print(f"abba-1 (tid {tids['abba-1']}) holds lock_a and will wait for lock_b")
    print(f"abba-2 (tid {tids['abba-2']}) holds lock_b and will wait for lock_a")
    wl.truth(hang="abba", pid=wl.pid(), holder_a=tids["abba-1"], holder_b=tids["abba-2"],
             cycle="abba-1,abba-2")
    t1.join()
    t2.join()


if __name__ == "__main__":
    main()
