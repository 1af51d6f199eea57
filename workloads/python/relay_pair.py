#!/usr/bin/env python3
"""relay_pair - a client, a relay and a worker: --messages requests, each held by the relay
--hold-ms before it passes it on, worked on by the worker --work-ms, answered back through the
relay, over loopback TCP.

The known truth for the relay split (time in the broker vs in the worker): per request the
client's message wakes the relay, the relay sleeps --hold-ms and wakes the worker, the worker
sleeps --work-ms and wakes the relay with its answer, the relay wakes the client with it. Each
sender first polls its reader's /proc/PID/syscall until it sits in recvfrom (and /proc/PID/stat
says sleeping), so every message finds its reader waiting and is in the trace, whatever the
scheduler does. The client measures each round trip and prints their sum (roundtrip_ms=,
before the relay's last line): it bounds the time the trace can put in the relay and the worker
together. The client's output goes straight to the terminal: a pipe to the relay would be one
more message.
"""
import argparse
import os
import socket
import subprocess
import sys
import time

import wl


def send_to_waiting(s, pid, data):
    wl.until(lambda: wl.sleeps_in(pid, wl.RECVFROM))
    s.sendall(data)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise SystemExit("relay_pair: connection closed early")
        buf += chunk
    return buf


def client(port, n, relay_pid):
    s = socket.create_connection(("127.0.0.1", port))
    total = 0.0
    for i in range(n):
        t = time.monotonic()
        send_to_waiting(s, relay_pid, b"%08d" % i)
        if int(recv_exact(s, 8)) != i:
            raise SystemExit("relay_pair: wrong answer")
        total += time.monotonic() - t
    print("roundtrip_ms=%.1f" % (total * 1000), flush=True)


def worker(port, n, work_ms, relay_pid):
    s = socket.create_connection(("127.0.0.1", port))
    for _ in range(n):
        req = recv_exact(s, 8)
        time.sleep(work_ms / 1000)
        send_to_waiting(s, relay_pid, req)


def spawn(role, port, a):
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "--messages",
                             str(a.messages), "--work-ms", str(a.work_ms), "--" + role,
                             str(port), "--relay-pid", str(os.getpid())])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=10)
    ap.add_argument("--hold-ms", type=int, default=50)
    ap.add_argument("--work-ms", type=int, default=20)
    ap.add_argument("--client", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--relay-pid", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.client:
        return client(a.client, a.messages, a.relay_pid)
    if a.worker:
        return worker(a.worker, a.messages, a.work_ms, a.relay_pid)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(2)
    port = ls.getsockname()[1]
    wp = spawn("worker", port, a)
    ws, _ = ls.accept()
    cp = spawn("client", port, a)
    cs, _ = ls.accept()
    for _ in range(a.messages):
        req = recv_exact(cs, 8)
        time.sleep(a.hold_ms / 1000)
        send_to_waiting(ws, wp.pid, req)
        send_to_waiting(cs, cp.pid, recv_exact(ws, 8))
    rc = cp.wait() | wp.wait()
    print("messages=%d hold_ms=%d work_ms=%d relay=%d worker=%d client=%d exit=%d" %
          (a.messages, a.hold_ms, a.work_ms, os.getpid(), wp.pid, cp.pid, rc))


if __name__ == "__main__":
    main()
