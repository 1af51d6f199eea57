#!/usr/bin/env python3
"""race - lab 1 twin: two threads update one global counter; the right result is 0.

Thread "inc" adds 1 --iters times, thread "dec" subtracts 1 as often.
  plain  - counter += 1: on CPython 3.10+ the interpreter switches threads only at
           eval-breaker points (calls, backward jumps), so this rarely loses an update.
  call   - read the counter, call a function, write it back: the call is a switch point,
           so updates are lost and the result is usually not 0.
  locked - every update under counter_lock (a threading.Lock): always 0.
"""
import argparse
import threading

import wl

counter = 0
counter_lock = threading.Lock()
stats = {"lock_waits": 0, "wait_ns": 0}
tids = {}


def adjust(v, delta):
    return v + delta


def run(name, delta, variant, iters, start):
    global counter
    tids[name] = wl.tid()
    waits = wait_ns = 0
    start.wait()
    if variant == "plain":
        for _ in range(iters):
            counter += delta
    elif variant == "call":
        for _ in range(iters):
            v = counter
            counter = adjust(v, delta)
    else:
        for _ in range(iters):
            if not counter_lock.acquire(blocking=False):
                t0 = wl.now_ns()
                counter_lock.acquire()
                wait_ns += wl.now_ns() - t0
                waits += 1
            counter += delta
            counter_lock.release()
    with counter_lock:
        stats["lock_waits"] += waits
        stats["wait_ns"] += wait_ns


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", choices=("plain", "call", "locked"), default="call")
    ap.add_argument("--iters", type=int, default=None,
                    help="updates per thread (default 1000000; 200000 when locked)")
    a = ap.parse_args()
    if a.iters is None:
        a.iters = 200000 if a.variant == "locked" else 1000000
    wl.name_thread("race-main")
    start = threading.Barrier(2)
    t0 = wl.now_ns()
    ts = [wl.named_thread(n, run, n, d, a.variant, a.iters, start)
          for n, d in (("inc", 1), ("dec", -1))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wl.truth(variant=a.variant, iters=a.iters, result=counter, expected=0,
             lock_waits=stats["lock_waits"], wait_ns_total=stats["wait_ns"],
             inc_tid=tids["inc"], dec_tid=tids["dec"], elapsed_ns=wl.now_ns() - t0)


if __name__ == "__main__":
    main()
