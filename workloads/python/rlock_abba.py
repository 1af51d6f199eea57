#!/usr/bin/env python3
"""rlock_abba - the ABBA deadlock on two threading.RLock objects, in methods of a class.

Thread "left" takes ledger.journal then ledger.index, thread "right" the other way round; they
meet at a barrier while holding their first lock. An RLock records its owner, so the holder of
each is known exactly. HANGS ON PURPOSE; kill it.
"""
import os
import threading


class Ledger:
    def __init__(self):
        self.journal = threading.RLock()
        self.index = threading.RLock()
        self.both = threading.Barrier(2)

    def post(self, first, second):
        with first:
            self.both.wait()
            with second:
                pass


ledger = Ledger()


def main():
    left = threading.Thread(target=ledger.post, args=(ledger.journal, ledger.index), name="left")
    right = threading.Thread(target=ledger.post, args=(ledger.index, ledger.journal), name="right")
    left.start()
    right.start()
    print(f"hang=rlock pid={os.getpid()} left={left.native_id} right={right.native_id}",
          flush=True)
    left.join()


if __name__ == "__main__":
    main()
