#!/usr/bin/env python3
"""rwlock - lab 12: readers-writers with a readers-writer lock built on threading.Condition.

--readers threads ("reader-0", ...) guard a room in shifts: a reader reads (a sleep of
--hold-ms), then stays until another reader has come in to relieve it, so the room is never
left without a reader while they read. The "writer" thread waits until the room is occupied,
then writes --writes times (each write a sleep of --hold-ms, then a pause of --hold-ms). The
readers stop once the writer is done.
  --policy nostarve  a waiting writer stops new readers from coming in, and counts as the
                     relief of the reader inside: the writer gets in, again and again.
  --policy reader    readers first: a reader may come in whenever no writer is inside. The
                     readers relieve each other forever and the writer never gets in: the
                     program never ends (starvation, made certain by the shifts). Kill it.
The ground-truth line: policy, writes, reads (and with nostarve, printed at the end).
"""
import argparse
import threading
import time

import wl


class RWLock:
    def __init__(self, fair):
        self.cond = threading.Condition()
        self.fair = fair
        self.readers = 0
        self.writer = False
        self.writers_waiting = 0
        self.entries = 0        # readers that came in, ever: a reader's relief is a newer one
        self.stop = False

    def acquire_read(self):
        with self.cond:
            while self.writer or (self.fair and self.writers_waiting):
                self.cond.wait()
            self.readers += 1
            self.entries += 1
            self.cond.notify_all()
            return self.entries

    def wait_relief(self, mine):
        with self.cond:
            while (self.entries == mine and not self.stop and
                   not (self.fair and self.writers_waiting)):
                self.cond.wait()

    def release_read(self):
        with self.cond:
            self.readers -= 1
            self.cond.notify_all()

    def acquire_write(self):
        with self.cond:
            self.writers_waiting += 1
            self.cond.notify_all()      # a reader on guard may now leave (nostarve)
            while self.writer or self.readers:
                self.cond.wait()
            self.writers_waiting -= 1
            self.writer = True

    def release_write(self):
        with self.cond:
            self.writer = False
            self.cond.notify_all()

    def finish(self):
        with self.cond:
            self.stop = True
            self.cond.notify_all()


counts = {"reads": 0, "writes": 0}


def reader(rw, occupied, hold):
    while True:
        with rw.cond:
            if rw.stop:
                return
        mine = rw.acquire_read()
        occupied.set()
        time.sleep(hold)            # the read
        with rw.cond:
            counts["reads"] += 1
        rw.wait_relief(mine)
        rw.release_read()


def writer(rw, occupied, writes, hold):
    occupied.wait()
    for _ in range(writes):
        rw.acquire_write()
        time.sleep(hold)            # the write
        counts["writes"] += 1
        rw.release_write()
        time.sleep(hold)            # a pause: the readers get back in
    rw.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", choices=("nostarve", "reader"), default="nostarve")
    ap.add_argument("--readers", type=int, default=3, help="reader threads (default 3)")
    ap.add_argument("--writes", type=int, default=5, help="writes to do (default 5)")
    ap.add_argument("--hold-ms", type=int, default=10, help="a read, a write (default 10)")
    a = ap.parse_args()
    if a.readers < 2 or a.writes < 1 or a.hold_ms < 1:
        wl.die("rwlock: --readers at least 2, --writes and --hold-ms at least 1")
    wl.name_thread("rw-main")
    rw = RWLock(a.policy == "nostarve")
    occupied = threading.Event()
    hold = a.hold_ms / 1000
    ts = [wl.named_thread(f"reader-{i}", reader, rw, occupied, hold) for i in range(a.readers)]
    ts.append(wl.named_thread("writer", writer, rw, occupied, a.writes, hold))
    for t in ts:
        t.start()
    if a.policy == "reader":
        wl.truth(policy=a.policy, writes_wanted=a.writes, hang="starvation", pid=wl.pid(),
                 writer=ts[-1].native_id)
    for t in ts:
        t.join()
    wl.truth(policy=a.policy, writes=counts["writes"], reads=counts["reads"], hang="none")


if __name__ == "__main__":
    main()
