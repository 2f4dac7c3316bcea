#!/usr/bin/env python3
"""The disk's ceiling for `berth site`: write the same files (same paths, same sizes) into a
new directory with nothing else to do — no reading, no rendering, one thread.

Usage: site_ceiling.py list SITE LIST   (record every file of SITE as "size path" lines)
       site_ceiling.py write LIST DEST  (create DEST and write those files into it)
"""
import os
import sys


def record(site, listing):
    rows = []
    for d, _, files in os.walk(site):
        for f in files:
            p = os.path.join(d, f)
            rows.append(f"{os.path.getsize(p)} {os.path.relpath(p, site)}\n")
    rows.sort(key=lambda r: r.split(" ", 1)[1])
    with open(listing, "w") as out:
        out.writelines(rows)


def write(listing, dest):
    with open(listing) as f:
        rows = [line.rstrip("\n").split(" ", 1) for line in f]
    made = set()
    # One buffer of the largest size; each file gets its first `size` bytes.
    largest = max(int(size) for size, _ in rows)
    data = memoryview(b"x" * largest)
    os.mkdir(dest)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    for size, rel in rows:
        parent = os.path.dirname(rel)
        if parent and parent not in made:
            os.makedirs(os.path.join(dest, parent), exist_ok=True)
            made.add(parent)
        fd = os.open(os.path.join(dest, rel), flags, 0o644)
        n = int(size)
        written = 0
        while written < n:
            written += os.write(fd, data[written:n])
        os.close(fd)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("list", "write"):
        sys.exit(__doc__)
    (record if sys.argv[1] == "list" else write)(sys.argv[2], sys.argv[3])
