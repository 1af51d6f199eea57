#!/usr/bin/env python3
"""race - lab 1 twin: two threads update one global counter; the right result is 0.

Thread "inc" adds 1 --iters times, thread "dec" subtracts 1 as often.
  plain  - counter += 1: on CPython 3.10+ the interpreter switches threads only at
           eval-breaker points (calls, backward jumps), so this rarely loses an update.
  call   - read the counter, call a function, write it back: the call is a switch point,
           so updates are lost and the result is usually not 0.
  locked - every update under counter_lock (a threading.Lock): always 0.

--sure-waits (locked) makes a wait on counter_lock certain for both threads, whatever the
scheduler does: the main thread holds the lock as they start, each takes it once before its
loop, and main lets it go only once both sleep in their acquire() (an untimed futex wait: the
Lock's semaphore, the GIL's waits being timed).
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


def run(name, delta, variant, iters, start, sure):
    global counter
    tids[name] = wl.tid()
    waits = wait_ns = 0
    if sure:
        counter_lock.acquire()
        counter_lock.release()
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
    ap.add_argument("--sure-waits", action="store_true",
                    help="locked: both threads surely wait once on counter_lock")
    a = ap.parse_args()
    sure = a.sure_waits and a.variant == "locked"
    if a.iters is None:
        a.iters = 200000 if a.variant == "locked" else 1000000
    wl.name_thread("race-main")
    start = threading.Barrier(2)
    t0 = wl.now_ns()
    ts = [wl.named_thread(n, run, n, d, a.variant, a.iters, start, sure)
          for n, d in (("inc", 1), ("dec", -1))]
    if sure:
        counter_lock.acquire()
    for t in ts:
        t.start()
    if sure:
        wl.until(lambda: len(tids) == 2 and all(wl.sleeps_untimed(t) for t in tids.values()))
        counter_lock.release()
    for t in ts:
        t.join()
    wl.truth(variant=a.variant, iters=a.iters, result=counter, expected=0,
             lock_waits=stats["lock_waits"], wait_ns_total=stats["wait_ns"],
             inc_tid=tids["inc"], dec_tid=tids["dec"], elapsed_ns=wl.now_ns() - t0)


if __name__ == "__main__":
    main()
