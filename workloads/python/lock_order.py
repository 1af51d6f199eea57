#!/usr/bin/env python3
"""lock_order - a lock-order inversion that never hangs: thread "left" takes ledger.lock, then
audit_lock (bare acquire() calls); once it is done, thread "right" takes audit_lock, then
ledger.lock (`with`). One after the other nothing waits; run at the same time the two orders
could deadlock (each holding the lock the other needs): a potential deadlock that
`conlab deadlock --locks` names without it happening.

Both threads stay alive until the program ends, so their names can be read while it runs.
  --ordered     the fix: both threads take ledger.lock first
  --threads-end each thread ends once it is done and is joined before the next starts: their
                names can then only be read from the Thread objects the program keeps
  --wait-stdin  after the truth line, wait for a line on stdin before ending (a test ends it
                once conlab has said what it saw)
  --linger S    after the truth line, stay S seconds before ending: time for a tracer to read
                the names of the locks and threads while they exist (shown, never graded)
"""
import argparse
import os
import sys
import threading
import time


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries = []


ledger = Ledger()
audit_lock = threading.Lock()
finish = threading.Event()


def left(done, stay):
    ledger.lock.acquire()
    audit_lock.acquire()
    ledger.entries.append("left")
    audit_lock.release()
    ledger.lock.release()
    done.set()
    if stay:
        finish.wait()


def right(done, ordered, stay):
    first, second = (ledger.lock, audit_lock) if ordered else (audit_lock, ledger.lock)
    with first:
        with second:
            ledger.entries.append("right")
    done.set()
    if stay:
        finish.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ordered", action="store_true", help="one lock order for both threads")
    ap.add_argument("--threads-end", action="store_true",
                    help="each thread ends when done and is joined before the next starts")
    ap.add_argument("--wait-stdin", action="store_true", help="end after a line on stdin")
    ap.add_argument("--linger", type=float, default=0, metavar="S",
                    help="stay S seconds after the truth line")
    a = ap.parse_args()
    left_done, right_done = threading.Event(), threading.Event()
    stay = not a.threads_end
    t1 = threading.Thread(target=left, args=(left_done, stay), name="left")
    t2 = threading.Thread(target=right, args=(right_done, a.ordered, stay), name="right")
    t1.start()
    left_done.wait()        # right starts only once left has released both: no hang
    if not stay:
        t1.join()
    t2.start()
    right_done.wait()
    if not stay:
        t2.join()
    print(f"inversion={'no' if a.ordered else 'yes'} pid={os.getpid()} left={t1.native_id} "
          f"right={t2.native_id} entries={','.join(ledger.entries)}", flush=True)
    if a.wait_stdin:
        sys.stdin.readline()
    if a.linger > 0:
        time.sleep(a.linger)
    finish.set()
    t1.join()
    t2.join()


if __name__ == "__main__":
    main()
