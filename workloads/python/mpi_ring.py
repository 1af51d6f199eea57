#!/usr/bin/env python3
"""mpi_ring - lab 19: MPI ranks as processes (mpi4py under mpirun).

Every rank adds its number to a token passed around the ring (rank r sends to r+1, rank 0
starts and receives it back), then all ranks meet at a barrier and an allreduce sums their
numbers. With --late R, rank R does --late-ms of work before the barrier: every other rank
waits there for it, asleep between tests of a non-blocking barrier (--poll-ms; 0 for
MPI_Barrier, which waits on CPU). The last line (rank 0) is the ground truth: ranks, the ring's sum, the
allreduce, and the late rank.

With --deadlock, ranks 0 and 1 first send each other a message too large to be buffered
(--deadlock-kb, sent by rendezvous: the send returns only once the receive is posted) and
only then receive: each waits in its send for a receive the other never reaches, and the
program hangs there, the other ranks at the barrier. Open MPI's ranks wait by polling, so the
two are on CPU (or runnable), not asleep in a system call.
"""
import argparse
import os
import time

from mpi4py import MPI


def busy(ms):
    """Work on CPU for ms milliseconds (not a sleep: a late rank computing)."""
    end = time.monotonic() + ms / 1000
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def barrier(comm, poll_ms):
    """MPI_Barrier, waiting off CPU: Open MPI's blocking calls wait by polling (a waiting rank
    stays on CPU, taking turns with the late one when ranks outnumber cores); a non-blocking
    barrier tested every poll_ms milliseconds sleeps in between, so the trace shows the wait
    as sleep and the late rank gets the CPU. poll_ms 0: the plain polling MPI_Barrier."""
    if poll_ms <= 0:
        comm.Barrier()
        return
    req = comm.Ibarrier()
    while not req.Test():
        time.sleep(poll_ms / 1000)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--late", type=int, default=-1, help="the rank that arrives late")
    ap.add_argument("--late-ms", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--poll-ms", type=float, default=10,
                    help="test the barrier every N ms, asleep in between (0: MPI_Barrier)")
    ap.add_argument("--deadlock", action="store_true",
                    help="ranks 0 and 1 both send before they receive: a deadlock")
    ap.add_argument("--deadlock-kb", type=int, default=1024)
    a = ap.parse_args()
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    if a.deadlock and rank < 2:
        out, inb = bytearray(a.deadlock_kb * 1024), bytearray(a.deadlock_kb * 1024)
        print("rank %d (pid %d): sending %d KiB to rank %d before receiving"
              % (rank, os.getpid(), a.deadlock_kb, 1 - rank), flush=True)
        comm.Send([out, MPI.BYTE], dest=1 - rank, tag=2)   # never returns: no receive posted
        comm.Recv([inb, MPI.BYTE], source=1 - rank, tag=2)
    nxt, prv = (rank + 1) % size, (rank - 1) % size
    ring = 0
    for _ in range(a.rounds):
        if rank == 0:
            comm.send(rank, dest=nxt, tag=1)
            ring += comm.recv(source=prv, tag=1)
        else:
            token = comm.recv(source=prv, tag=1)
            comm.send(token + rank, dest=nxt, tag=1)
    if rank == a.late:
        busy(a.late_ms)
    t0 = time.monotonic()
    barrier(comm, a.poll_ms)
    waited = int((time.monotonic() - t0) * 1000)
    total = comm.allreduce(rank, op=MPI.SUM)
    waits = comm.gather(waited, root=0)
    pids = comm.gather(os.getpid(), root=0)
    if rank == 0:
        print("ranks=%d ring=%d expected=%d allreduce=%d late=%d late_ms=%d barrier_ms=%s pids=%s"
              % (size, ring, a.rounds * size * (size - 1) // 2, total, a.late,
                 a.late_ms if a.late >= 0 else 0, ",".join(map(str, waits)),
                 ",".join(map(str, pids))))


if __name__ == "__main__":
    main()
