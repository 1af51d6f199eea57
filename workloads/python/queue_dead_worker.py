#!/usr/bin/env python3
"""queue_dead_worker - Queue.join() whose worker died: a thread-pool bug.

The worker takes jobs from `jobs` and marks each done, but dies with an exception on job 3
(a bug in the job), before task_done(). The main thread's jobs.join() waits for every job put
to be marked done, which no thread is left to do. HANGS ON PURPOSE; kill it. The ground-truth
line is printed once the worker is gone.
"""
import os
import queue
import threading

jobs = queue.Queue()


def work(item):
    if item == 3:
        raise RuntimeError(f"job {item} failed")


def worker():
    while True:
        item = jobs.get()
        work(item)
        jobs.task_done()


def main():
    w = threading.Thread(target=worker, name="worker", daemon=True)
    w.start()
    for i in range(6):
        jobs.put(i)
    w.join()     # the worker's exception ended it
    print(f"hang=queue-join pid={os.getpid()} unfinished={jobs.unfinished_tasks}", flush=True)
    jobs.join()


if __name__ == "__main__":
    main()
