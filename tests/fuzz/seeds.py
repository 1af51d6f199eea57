#!/usr/bin/env python3
"""seeds.py OUTDIR TRACE... — cut real trace files into small seed traces for the fuzzer.

A real recording is one or a few chunks of up to 1 MiB; a fuzzer works best on inputs of a
few KiB. Each trace is re-cut into runs of consecutive records (in file order, so that forks,
switches and their wakeups stay together), written as valid traces of a few chunks each with
correct crc32s. Half the seeds have bit 0 of the header flags set, which tells the harness to
recompute crcs after mutation (see fuzz_trace.c). Every third seed has zstd-compressed (CLCZ)
chunks, as the recorder writes them; the `zstd` command packs and unpacks them.
"""
import os
import struct
import subprocess
import sys
import zlib

HDR = struct.Struct("<8sIIQQ")  # magic, version, header_size, created_real_ns, flags
CHUNK = struct.Struct("<IIII")  # magic, len, nrec, crc
CHUNK_MAGIC = 0x4B434C43  # "CLCK": records
ZCHUNK_MAGIC = 0x5A434C43  # "CLCZ": one zstd frame of records, padded to 8 bytes
RECS_PER_SEED = 96
RECS_PER_CHUNK = 32


def records(path):
    data = open(path, "rb").read()
    magic, version, hsize, created, _flags = HDR.unpack_from(data, 0)
    if magic != b"CONLABTR":
        raise ValueError(f"{path}: not a trace")
    off, out = hsize, []
    while off + CHUNK.size <= len(data):
        cmagic, clen, _nrec, crc = CHUNK.unpack_from(data, off)
        payload = data[off + CHUNK.size: off + CHUNK.size + clen]
        if cmagic not in (CHUNK_MAGIC, ZCHUNK_MAGIC) or len(payload) != clen or \
                zlib.crc32(payload) != crc:
            break
        span = clen
        if cmagic == ZCHUNK_MAGIC:
            payload = zstd(["-d"], payload)
            span = (clen + 7) & ~7
            clen = len(payload)
        roff = 0
        while roff + 16 <= clen:
            size = struct.unpack_from("<H", payload, roff + 14)[0]
            if size < 16 or roff + size > clen:
                break
            out.append(payload[roff: roff + size])
            roff += size
        off += CHUNK.size + span
    return version, created, out


def zstd(args, data):
    return subprocess.run(["zstd", "-q", "-c"] + args, input=data, check=True,
                          stdout=subprocess.PIPE).stdout


def write_seed(path, version, created, recs, fix_crc, packed):
    with open(path, "wb") as f:
        f.write(HDR.pack(b"CONLABTR", version, HDR.size, created, 1 if fix_crc else 0))
        for i in range(0, len(recs), RECS_PER_CHUNK):
            payload = b"".join(recs[i: i + RECS_PER_CHUNK])
            magic, pad = CHUNK_MAGIC, b""
            if packed:
                payload = zstd(["-1", "--no-check"], payload)
                magic, pad = ZCHUNK_MAGIC, bytes(-len(payload) % 8)
            f.write(CHUNK.pack(magic, len(payload), len(recs[i: i + RECS_PER_CHUNK]),
                               zlib.crc32(payload)))
            f.write(payload + pad)


def main():
    outdir, traces = sys.argv[1], sys.argv[2:]
    os.makedirs(outdir, exist_ok=True)
    n = 0
    for tr in traces:
        version, created, recs = records(tr)
        base = os.path.splitext(os.path.basename(tr))[0]
        # metadata (tasks, maps, cmdlines) comes first in a file: keep it with the first cut
        for k, i in enumerate(range(0, len(recs), RECS_PER_SEED)):
            if k >= 40:
                break  # enough from one trace
            write_seed(os.path.join(outdir, f"{base}-{k:02d}.clab"), version, created,
                       recs[i: i + RECS_PER_SEED], fix_crc=k % 2 == 0, packed=k % 3 == 1)
            n += 1
    # short text inputs for the option parsers
    for i, s in enumerate([b"64M", b"1G", b"4096", b"2.5", b"500ms", b"1m", b"json", b"summary",
                           b"18446744073709551615", b"-1", b"1e400", b"nan"]):
        with open(os.path.join(outdir, f"text-{i:02d}"), "wb") as f:
            f.write(s)
        n += 1
    print(f"seeds: {n} inputs from {len(traces)} traces")


if __name__ == "__main__":
    main()
