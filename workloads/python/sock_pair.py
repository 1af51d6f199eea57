#!/usr/bin/env python3
"""sock_pair - a client and a server process exchanging --messages requests and replies over a
loopback TCP connection, each message sent only once its reader is blocked in recv.

The known truth for the cross-process wakeup test: every request wakes the server from its
recv, every reply wakes the client from its recv, so a trace shows exactly --messages arrows
from the client to the server and as many back. Before each send the sender polls the other
process's /proc/PID/syscall until it sits in recvfrom (and /proc/PID/stat says sleeping): no
message ever finds its reader busy, whatever the scheduler does.
"""
import argparse
import os
import socket
import subprocess
import sys

import wl


def wait_blocked(pid):
    wl.until(lambda: wl.sleeps_in(pid, wl.RECVFROM))


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise SystemExit("sock_pair: connection closed early")
        buf += chunk
    return buf


def client(port, n, server_pid):
    s = socket.create_connection(("127.0.0.1", port))
    for i in range(n):
        wait_blocked(server_pid)
        s.sendall(b"%08d" % i)
        if int(recv_exact(s, 8)) != i:
            raise SystemExit("sock_pair: wrong reply")
    s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=20)
    ap.add_argument("--client", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.client:
        return client(a.client, a.messages, a.server_pid)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    port = ls.getsockname()[1]
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--messages",
                              str(a.messages), "--client", str(port), "--server-pid",
                              str(os.getpid())])
    conn, _ = ls.accept()
    for _ in range(a.messages):
        req = recv_exact(conn, 8)
        wait_blocked(child.pid)
        conn.sendall(req)
    rc = child.wait()
    print("messages=%d server=%d client=%d client_exit=%d" % (a.messages, os.getpid(), child.pid, rc))


if __name__ == "__main__":
    main()
