#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The reader of B6 and tests/integration/test_atomic_switch.py.

    atomic_reader.py CURRENT SIZE

In a tight loop until SIGTERM: open the directory CURRENT (a symlink to
a release, so one path resolution picks one release), read the files
`a` and `b` of it, and check that each is complete (SIZE bytes, one
version marker repeated) and that both come from the same release.  On
SIGTERM prints one JSON line:

    {"pairs": N, "mixed": 0, "missing": 0, "partial": 0, "pruned": 0,
     "versions_seen": K, "switches_seen": S}

mixed: a and b of different versions; missing: CURRENT did not resolve
(a window with no `current`); partial: a file shorter than SIZE or not
one marker (a release read while still being written); pruned: the
release directory was removed while this reader held it open (keep_
releases pruning, not a switch fault: it is reported, not counted as a
failure).  A file read through CURRENT is never expected to fail.
"""
import errno
import json
import os
import signal
import sys

stop = False


def on_term(signo, frame):
    global stop
    stop = True


def read_all(dfd, name):
    fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dfd)
    try:
        chunks = []
        while True:
            b = os.read(fd, 1 << 17)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


def main():
    current, size = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, on_term)
    c = {"pairs": 0, "mixed": 0, "missing": 0, "partial": 0, "pruned": 0}
    seen = set()
    switches = 0
    last = None
    print("READY", flush=True)
    while not stop:
        try:
            dfd = os.open(current, os.O_RDONLY | os.O_DIRECTORY |
                          os.O_CLOEXEC)
        except FileNotFoundError:
            c["missing"] += 1
            continue
        try:
            a = read_all(dfd, "a")
            b = read_all(dfd, "b")
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
            # The release went away under us: was it pruned (the dir is
            # gone), or is a file missing from a live release?
            gone = os.fstat(dfd).st_nlink == 0
            c["pruned" if gone else "partial"] += 1
            continue
        finally:
            os.close(dfd)
        c["pairs"] += 1
        va, vb = a[:8], b[:8]
        if len(a) != size or len(b) != size or a != va * (size // 8) or \
                b != vb * (size // 8):
            c["partial"] += 1
        elif va != vb:
            c["mixed"] += 1
        seen.add(va)
        if va != last:
            switches += last is not None
            last = va
    c["versions_seen"] = len(seen)
    c["switches_seen"] = switches
    print(json.dumps(c), flush=True)


if __name__ == "__main__":
    main()
