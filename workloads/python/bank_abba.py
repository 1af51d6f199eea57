#!/usr/bin/env python3
"""bank_abba - two tellers move money between two accounts, each `with src.lock: ... with
dst.lock:`: teller-1 from alice to bob, teller-2 from bob to alice. Both take their first lock,
meet at a barrier, then each waits for the lock the other holds: an ABBA deadlock on two
threading.Lock attributes. HANGS ON PURPOSE; kill it.

The threads are named only through threading (no prctl): CPython 3.11 leaves the kernel name
"python3", so a tool that names them teller-1 and teller-2 has read Python's own names. The
ground-truth line is printed and flushed once both hold their first lock.
"""
import os
import threading


class Account:
    def __init__(self, name, balance):
        self.name = name
        self.balance = balance
        self.lock = threading.Lock()


alice = Account("alice", 100)
bob = Account("bob", 100)
both_hold = threading.Barrier(3)


def transfer(src, dst, amount):
    with src.lock:
        both_hold.wait()
        with dst.lock:
            src.balance -= amount
            dst.balance += amount


def teller(src, dst):
    transfer(src, dst, 10)


def main():
    t1 = threading.Thread(target=teller, args=(alice, bob), name="teller-1")
    t2 = threading.Thread(target=teller, args=(bob, alice), name="teller-2")
    t1.start()
    t2.start()
    both_hold.wait()
    print(f"hang=abba pid={os.getpid()} teller1={t1.native_id} teller2={t2.native_id}",
          flush=True)
    t1.join()
    t2.join()


if __name__ == "__main__":
    main()
