#!/usr/bin/env python3
"""shelves_abba - two clerks move a book between two shelves of a library, each taking the
guard of its source shelf, then of its destination; the shelves are kept in a dict by name.
clerk-1 moves from "a" to "b", clerk-2 from "b" to "a": both take their first guard, meet at a
barrier, then each waits for the guard the other holds. HANGS ON PURPOSE; kill it.

The locks are reached only through a subscript and an attribute, and the first `with` is two
lines above the one each clerk waits in: a tool names them as the code does
(shelves[dst].guard) and says where the held one was taken. The ground-truth line is printed
and flushed once both hold their first guard.
"""
import os
import threading


class Shelf:
    def __init__(self, books):
        self.books = books
        self.guard = threading.Lock()


shelves = {"a": Shelf(10), "b": Shelf(10)}
both_hold = threading.Barrier(3)


def move(src, dst):
    with shelves[src].guard:
        both_hold.wait()
        with shelves[dst].guard:
            shelves[src].books -= 1
            shelves[dst].books += 1


def main():
    c1 = threading.Thread(target=move, args=("a", "b"), name="clerk-1")
    c2 = threading.Thread(target=move, args=("b", "a"), name="clerk-2")
    c1.start()
    c2.start()
    both_hold.wait()
    print(f"hang=abba pid={os.getpid()} clerk1={c1.native_id} clerk2={c2.native_id}",
          flush=True)
    c1.join()
    c2.join()


if __name__ == "__main__":
    main()
