#!/usr/bin/env python3
"""mp_lock - one multiprocessing.Lock shared by a parent and its children.

The parent takes the lock, starts --children processes (fork) that each take it in turn, and
releases it only once every child sleeps waiting for it (its one thread in an untimed futex
wait: the Lock is a semaphore in shared memory; the GIL's waits are timed), so every child
surely waits for it while the parent holds it. Each child then holds it --hold-ms.

--join-first HANGS ON PURPOSE: the parent joins the children before it releases the lock, a
deadlock across processes (each child waits for the lock the parent holds, the parent for the
children to exit). Its truth line says so once every child sleeps in its wait. --start spawn
starts the children fresh (each maps the lock's semaphore wherever it opens it) instead of
forking them. --semaphore makes it a multiprocessing.Semaphore(1): no owner, one permit taken.
"""
import argparse
import multiprocessing as mp
import time

import wl

lock = None     # the Lock, a global: a report names it "lock"


def child(lock, hold_ms):
    with lock:
        time.sleep(hold_ms / 1000)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--children", type=int, default=2)
    ap.add_argument("--hold-ms", type=int, default=20)
    ap.add_argument("--join-first", action="store_true",
                    help="join the children before releasing: hangs")
    ap.add_argument("--start", choices=("fork", "spawn"), default="fork")
    ap.add_argument("--semaphore", action="store_true", help="a Semaphore(1), not a Lock")
    a = ap.parse_args()
    if a.children < 1 or a.hold_ms < 0:
        wl.die("mp_lock: --children must be at least 1, --hold-ms not negative")
    global lock
    ctx = mp.get_context(a.start)
    lock = ctx.Semaphore(1) if a.semaphore else ctx.Lock()
    lock.acquire()
    ps = [ctx.Process(target=child, args=(lock, a.hold_ms)) for _ in range(a.children)]
    for p in ps:
        p.start()
    wl.until(lambda: all(wl.sleeps_untimed(p.pid) for p in ps))
    if a.join_first:
        wl.truth(hang="mplock", pid=wl.pid(), children=",".join(str(p.pid) for p in ps))
        for p in ps:
            p.join()        # each child waits for the lock this process holds
    lock.release()
    for p in ps:
        p.join()
    wl.truth(parent=wl.pid(), children=",".join(str(p.pid) for p in ps),
             exitcodes=",".join(str(p.exitcode) for p in ps))


if __name__ == "__main__":
    main()
