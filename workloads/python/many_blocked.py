#!/usr/bin/env python3
"""many_blocked - N named threads (default 200) all blocked on one Lock the main thread holds
in a `with` block while it joins the first of them: a cycle of two threads with N-1 behind it.
For the doctor's benchmark on a large Python process. HANGS ON PURPOSE; kill it.
"""
import argparse
import os
import threading

gate = threading.Lock()


def wait_at_gate():
    with gate:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=200)
    a = ap.parse_args()
    workers = [threading.Thread(target=wait_at_gate, name=f"worker-{i}")
               for i in range(a.threads)]
    with gate:
        for w in workers:
            w.start()
        print(f"hang=gate pid={os.getpid()} threads={a.threads}", flush=True)
        workers[0].join()


if __name__ == "__main__":
    main()
