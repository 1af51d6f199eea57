#!/usr/bin/env python3
"""mp_join_before_get - a parent joins its child before reading the child's Queue.

The child puts 1 MiB on a multiprocessing.Queue: its feeder thread writes it into a pipe that
holds 64 KiB, then blocks until someone reads. The child's main thread, at exit, joins that
feeder thread (the Queue's finalizer), so the child cannot exit; the parent joins the child
before calling get(), so it never reads. The multiprocessing guide's "joining processes that
use queues" deadlock, across two processes. HANGS ON PURPOSE; kill the process group.
"""
import multiprocessing
import os


def produce(results):
    results.put(b"x" * (1 << 20))


def main():
    results = multiprocessing.Queue()
    child = multiprocessing.Process(target=produce, args=(results,), name="producer")
    child.start()
    print(f"hang=join-before-get pid={os.getpid()} child={child.pid}", flush=True)
    child.join()          # the bug: get() first, then join()
    results.get()


if __name__ == "__main__":
    main()
