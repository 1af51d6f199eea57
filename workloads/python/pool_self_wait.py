#!/usr/bin/env python3
"""pool_self_wait - a task that waits for another task of its own pool: an executor deadlock.

The ThreadPoolExecutor has --workers workers (default 1). The main thread submits --workers
"outer" tasks and waits for the first one's result; each outer task submits an "inner" task to
the same pool and waits for its result. Every worker is then inside an outer task, so no
worker is left to run an inner one: the inner tasks stay queued and everything waits for ever.
The outer tasks meet at a barrier before submitting, so every worker runs one whatever the
scheduler does. HANGS ON PURPOSE; kill it. The ground-truth line (hang=pool) is printed once
every worker runs an outer task (workers=: the tid running outer task 0, 1, ...). Fixed
(--fixed): the outer task calls inner() itself instead of submitting it.
"""
import argparse
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import wl

started = {}                        # outer task number -> the worker running it
started_lock = threading.Lock()


def inner():
    return 42


def outer(pool, n, fixed, main_tid, i, all_started):
    with started_lock:
        started[i] = wl.tid()
    # every outer task is running, each in a worker of its own, before any submits its inner
    # task: none is left for the inner tasks, whatever the scheduler does
    if all_started.wait() == 0 and not fixed:
        wl.truth(hang="pool", pid=os.getpid(), main_tid=main_tid,
                 workers=",".join(str(started[k]) for k in range(n)))
    if fixed:
        return inner()
    fut = pool.submit(inner)        # queued: every worker is running an outer task
    return fut.result()             # the bug: waits for a task that cannot start


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--fixed", action="store_true", help="the corrected program: finishes")
    a = ap.parse_args()
    if a.workers < 1:
        wl.die("pool_self_wait: --workers must be at least 1")
    pool = ThreadPoolExecutor(max_workers=a.workers, thread_name_prefix="pool")
    # the outer tasks: none finishes before all have started (the barrier), so no worker is
    # ever idle and each submit starts a worker of its own, up to --workers; the inner tasks
    # then find no idle worker and none to start
    all_started = threading.Barrier(a.workers)
    futs = [pool.submit(outer, pool, a.workers, a.fixed, wl.tid(), i, all_started)
            for i in range(a.workers)]
    result = futs[0].result()
    wl.truth(hang="none", result=result)
    pool.shutdown()


if __name__ == "__main__":
    main()
