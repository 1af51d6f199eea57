#!/usr/bin/env python3
"""table - lab 6: one lock for a whole table against a lock per stripe of it.

--threads workers ("table-0", ...) each make --ops updates of a --buckets table of counters;
update i of worker k goes to bucket (i * 7919 + k * 104729) % buckets, so which bucket (and
so which lock) each update takes is fixed by the program, not by the scheduler.
  --locks global   one threading.Lock (table_lock) for every bucket
  --locks striped  --stripes threading.Locks (stripe_locks[s]), bucket b under b % stripes
The ground-truth line: sum, expected_sum (threads x ops: no update lost), acquisitions (the
updates made, each under one lock), locks, and hottest (the most updates one lock took).
"""
import argparse
import threading

import wl


def worker(k, table, lock_for, ops):
    n = len(table)
    for i in range(ops):
        b = (i * 7919 + k * 104729) % n
        with lock_for(b):
            table[b] += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--locks", choices=("global", "striped"), default="striped")
    ap.add_argument("--stripes", type=int, default=64, help="locks when striped (default 64)")
    ap.add_argument("--buckets", type=int, default=1024, help="table size (default 1024)")
    ap.add_argument("--threads", type=int, default=2, help="workers (default 2)")
    ap.add_argument("--ops", type=int, default=3000, help="updates per worker (default 3000)")
    a = ap.parse_args()
    if a.stripes < 1 or a.buckets < 1 or a.threads < 1 or a.ops < 0:
        wl.die("table: --stripes, --buckets and --threads must be at least 1")
    wl.name_thread("table-main")
    table = [0] * a.buckets
    if a.locks == "global":
        table_lock = threading.Lock()
        locks = [table_lock]

        def lock_for(b):
            return table_lock
    else:
        stripe_locks = [threading.Lock() for _ in range(a.stripes)]
        locks = stripe_locks

        def lock_for(b):
            return stripe_locks[b % a.stripes]
    ts = [wl.named_thread(f"table-{k}", worker, k, table, lock_for, a.ops)
          for k in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    per_lock = [0] * len(locks)
    for k in range(a.threads):
        for i in range(a.ops):
            b = (i * 7919 + k * 104729) % a.buckets
            per_lock[0 if a.locks == "global" else b % a.stripes] += 1
    wl.truth(sum=sum(table), expected_sum=a.threads * a.ops, acquisitions=a.threads * a.ops,
             locks=len(locks), hottest=max(per_lock))


if __name__ == "__main__":
    main()
