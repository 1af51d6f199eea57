#!/usr/bin/env python3
"""thread_module - lab 26: the low-level _thread module against threading.

--workers threads ("worker-i") each do --jobs jobs of --job-ms (a sleep), then count
themselves finished. How they are started and waited for is the --api:
  threading - threading.Thread(...).start(), then join(): main waits for every worker.
  thread    - _thread.start_new_thread(...): no handle and no join. main returns as soon as
              every worker is asleep, and the interpreter exits under the workers, which die
              in their sleep (the broken one).
  locks     - _thread with a join built by hand: main holds a _thread.allocate_lock() per
              worker, the worker releases it as its last act, main acquires them all.
The ground-truth line is printed when main is done waiting (or not).
"""
import _thread
import argparse
import threading
import time

import wl

finished = [0]
count_lock = _thread.allocate_lock()


tids = []


def worker(name, jobs, job_ms, done_lock):
    wl.name_thread(name)
    with count_lock:
        tids.append(wl.tid())
    for _ in range(jobs):
        time.sleep(job_ms / 1000)
    with count_lock:
        finished[0] += 1
    if done_lock is not None:
        done_lock.release()


def all_asleep(n):
    with count_lock:
        ts = list(tids)
    if len(ts) < n:
        return False
    for t in ts:
        try:
            with open(f"/proc/self/task/{t}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "S":
                    return False
        except OSError:
            return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--api", choices=("threading", "thread", "locks"), default="threading")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--job-ms", type=int, default=20)
    a = ap.parse_args()
    wl.name_thread("thread-main")
    names = [f"worker-{i}" for i in range(a.workers)]
    if a.api == "threading":
        ts = [threading.Thread(target=worker, args=(n, a.jobs, a.job_ms, None)) for n in names]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    elif a.api == "thread":
        for n in names:
            _thread.start_new_thread(worker, (n, a.jobs, a.job_ms, None))
        # return only once every worker is asleep (state S in /proc): the exit then always
        # lands inside their waits, however busy the machine is
        while not all_asleep(a.workers):
            time.sleep(0.001)
    else:
        locks = []
        for n in names:
            lk = _thread.allocate_lock()
            lk.acquire()
            locks.append(lk)
            _thread.start_new_thread(worker, (n, a.jobs, a.job_ms, lk))
        for lk in locks:
            lk.acquire()            # blocks until that worker's last act releases it
    with count_lock:
        done = finished[0]
    wl.truth(api=a.api, workers=a.workers, jobs=a.jobs, finished=done)


if __name__ == "__main__":
    main()
