#!/usr/bin/env python3
"""pools - lab 3: the same CPU-bound map on thread and process pools.

  threads   - multiprocessing.pool.ThreadPool (threads "pool-i": one runs at a time, GIL)
  processes - multiprocessing.Pool (worker processes "proc-i", fork start method)
  tpe       - concurrent.futures.ThreadPoolExecutor
  ppe       - concurrent.futures.ProcessPoolExecutor
  dummy     - multiprocessing.dummy.Pool: the multiprocessing API over threads
Every task spins pure Python for --work-ms of CPU and returns the CPU time it used.
--idle-wait (tpe): the map starts only once a worker, started by a first task, sleeps in its
work queue's get() in an untimed futex wait (the GIL's waits are timed or on a mutex), so that
wait for work is sure, and the map's first task ends it. Sure with --workers 1: after its task
the worker only counts itself idle (a Semaphore nobody else touches then) and calls get().
"""
import argparse
import concurrent.futures as cf
import itertools
import multiprocessing as mp
import multiprocessing.dummy
import multiprocessing.pool
import os
import threading
import time

import wl

_ids = itertools.count()
_ids_lock = threading.Lock()


def init_thread():
    with _ids_lock:
        wl.name_thread(f"pool-{next(_ids)}")


def init_process():
    wl.name_thread(f"proc-{os.getpid() % 100000}")


def task(args):
    n, ms = args
    t0 = time.thread_time_ns()
    end = t0 + ms * 1_000_000
    x = n
    while time.thread_time_ns() < end:
        for i in range(500):
            x = (x * 31 + i) % 1000003
    return n * 2654435761, time.thread_time_ns() - t0, os.getpid(), wl.tid()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("threads", "processes", "tpe", "ppe", "dummy"),
                    default="threads")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tasks", type=int, default=16)
    ap.add_argument("--work-ms", type=int, default=10)
    ap.add_argument("--idle-wait", action="store_true",
                    help="tpe: map only once a worker waits for work")
    a = ap.parse_args()
    wl.name_thread("pools-main")
    jobs = [(n, a.work_ms) for n in range(a.tasks)]
    t0 = wl.now_ns()
    fork = mp.get_context("fork")
    if a.mode == "threads":
        with multiprocessing.pool.ThreadPool(a.workers, initializer=init_thread) as p:
            res = p.map(task, jobs)
    elif a.mode == "processes":
        with fork.Pool(a.workers, initializer=init_process) as p:
            res = p.map(task, jobs)
    elif a.mode == "dummy":
        # multiprocessing's name, threading's workers: multiprocessing.dummy is a thread pool
        with multiprocessing.dummy.Pool(a.workers, initializer=init_thread) as p:
            res = p.map(task, jobs)
    elif a.mode == "tpe":
        with cf.ThreadPoolExecutor(a.workers, initializer=init_thread) as ex:
            if a.idle_wait:
                first = ex.submit(wl.tid).result()
                wl.until(lambda: wl.sleeps_untimed(first))
            res = list(ex.map(task, jobs))
    else:
        with cf.ProcessPoolExecutor(a.workers, mp_context=fork,
                                    initializer=init_process) as ex:
            res = list(ex.map(task, jobs))
    wall = wl.now_ns() - t0
    cpu = sum(r[1] for r in res)
    wl.truth(mode=a.mode, workers=a.workers, tasks=a.tasks, done=len(res),
             checksum=sum(r[0] for r in res), cpu_ns_total=cpu, wall_ns=wall,
             parallelism_x100=cpu * 100 // max(wall, 1),
             worker_pids=",".join(sorted({str(r[2]) for r in res})),
             worker_tids=",".join(sorted({str(r[3]) for r in res})))


if __name__ == "__main__":
    main()
