#!/usr/bin/env python3
"""start_methods - lab 4: multiprocessing start methods seen as processes.

A multiprocessing.Pool(--workers) maps a small task under the chosen start method:
  fork       - workers are forks of this process; no exec.
  spawn      - each worker is a fresh interpreter: fork + exec of python.
  forkserver - one server interpreter is started (fork + exec); it forks the workers.
spawn and forkserver also start a resource tracker process (fork + exec).
"""
import argparse
import multiprocessing as mp
import os

import wl


def init_worker():
    wl.name_thread("mp-worker")


def task(n):
    return n * n, os.getpid()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", choices=("fork", "spawn", "forkserver"), default="fork")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--tasks", type=int, default=16)
    a = ap.parse_args()
    wl.name_thread("mp-main")
    ctx = mp.get_context(a.method)
    t0 = wl.now_ns()
    with ctx.Pool(a.workers, initializer=init_worker) as p:
        res = p.map(task, range(a.tasks))
        pids = sorted({pid for _, pid in res})
        pool_pids = sorted(w.pid for w in p._pool)
    wl.truth(method=a.method, workers=a.workers, tasks=a.tasks,
             result=sum(r for r, _ in res), parent=os.getpid(),
             worker_pids=",".join(map(str, pool_pids)),
             used_pids=",".join(map(str, pids)), elapsed_ns=wl.now_ns() - t0)


if __name__ == "__main__":
    main()
