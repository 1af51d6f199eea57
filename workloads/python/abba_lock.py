#!/usr/bin/env python3
"""abba_lock - lab 7 twin: an ABBA deadlock on two threading.Lock objects.

Thread "abba-1" takes lock_a then lock_b, thread "abba-2" takes lock_b then lock_a. Both
hold their first lock, meet at a barrier, sleep the forcing delay, then block forever on the
lock the other holds. HANGS ON PURPOSE (unless --no-hang or --ordered); kill it.
  --ordered  the fix: both threads take lock_a, then lock_b, at the same time, --iters times.
  --pdb      abba-1 enters the debugger (breakpoint()) just before its second acquire: pdb
             stops that one thread; the others go on (or stay stuck) without it.
The ground-truth line is
printed and flushed before the hang (wait_line: the line where both threads wait). On CPython 3.11/3.12 a threading.Lock is a POSIX
semaphore, so the futex each thread sleeps on is the lock's own address.
"""
import argparse
import ctypes
import inspect
import sys
import threading
import time

import wl

lock_a = threading.Lock()
lock_b = threading.Lock()
tids = {}
pdb_wanted = [False]


def futex_addr(lock):
    """The sem_t a 3.11/3.12 threading.Lock sleeps on (lockobject: head, then lock_lock)."""
    if sys.version_info >= (3, 13):
        return "unknown"
    return hex(ctypes.c_void_p.from_address(id(lock) + 16).value)


def path(name, first, second, holding, delay, iters):
    tids[name] = wl.tid()
    if holding is None:
        for _ in range(iters):
            with first:
                with second:
                    pass
        return
    first.acquire()
    holding.wait()
    time.sleep(delay)
    if name == "abba-1" and pdb_wanted[0]:
        breakpoint()        # try: where, p lock_a.locked(), p lock_b.locked(), continue
    second.acquire()        # never returns: the other thread holds it
    second.release()
    first.release()


def wait_line():
    """The line of path()'s second acquire(), where each hung thread waits."""
    src, start = inspect.getsourcelines(path)
    return start + next(i for i, text in enumerate(src) if "second.acquire()  " in text)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--delay-ms", type=int, default=50, help="forcing delay (default 50)")
    ap.add_argument("--no-hang", action="store_true",
                    help="run the two paths one after the other: never hangs")
    ap.add_argument("--ordered", action="store_true",
                    help="the fix: one lock order for both threads, running together")
    ap.add_argument("--iters", type=int, default=1000,
                    help="with --no-hang or --ordered (default 1000)")
    ap.add_argument("--pdb", action="store_true", help="breakpoint() in abba-1 before it hangs")
    a = ap.parse_args()
    wl.name_thread("abba-main")
    delay = a.delay_ms / 1000
    pdb_wanted[0] = a.pdb
    if a.ordered:
        ts = [wl.named_thread(n, path, n, lock_a, lock_b, None, delay, a.iters)
              for n in ("abba-1", "abba-2")]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        wl.truth(hang="none", path1="lock_a,lock_b", path2="lock_a,lock_b",
                 tid1=tids["abba-1"], tid2=tids["abba-2"], iters=a.iters)
        return
    if a.no_hang:
        for name, f, s in (("abba-1", lock_a, lock_b), ("abba-2", lock_b, lock_a)):
            t = wl.named_thread(name, path, name, f, s, None, delay, a.iters)
            t.start()
            t.join()
        wl.truth(hang="none", path1="lock_a,lock_b", path2="lock_b,lock_a",
                 tid1=tids["abba-1"], tid2=tids["abba-2"], iters=a.iters)
        return
    holding = threading.Barrier(3)
    t1 = wl.named_thread("abba-1", path, "abba-1", lock_a, lock_b, holding, delay, 0)
    t2 = wl.named_thread("abba-2", path, "abba-2", lock_b, lock_a, holding, delay, 0)
    t1.start()
    t2.start()
    holding.wait()
    print(f"abba-1 (tid {tids['abba-1']}) holds lock_a and will wait for lock_b")
    print(f"abba-2 (tid {tids['abba-2']}) holds lock_b and will wait for lock_a")
    wl.truth(hang="abba", pid=wl.pid(), holder_a=tids["abba-1"], holder_b=tids["abba-2"],
             waiter_a=tids["abba-2"], waiter_b=tids["abba-1"], cycle="abba-1,abba-2",
             futex_a=futex_addr(lock_a), futex_b=futex_addr(lock_b), delay_ms=a.delay_ms,
             wait_line=wait_line())
    t1.join()
    t2.join()


if __name__ == "__main__":
    main()
