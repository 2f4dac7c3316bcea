#!/usr/bin/env python3
"""The disk's ceiling for `berth site`: write the same files (same paths, same sizes) into a
new directory with nothing else to do — no reading, no rendering, one thread.

Usage: site_ceiling.py list SITE LIST    record every file of SITE as "size path" lines
       site_ceiling.py write LIST DEST   create DEST and write those files into it
       site_ceiling.py alternate keep|delete RUNS WARMUP DIR SITE_CMD CEILING_CMD
           time SITE_CMD and CEILING_CMD (each given a new directory under DIR as its last
           argument) in alternation, RUNS rounds after WARMUP: both meet the same state of the
           disk. `keep` leaves every output in place (nothing is deleted while measuring),
           `delete` deletes each one's previous output just before it (untimed), as a script
           that recreates its output directory does. Prints a markdown table.

Alternation matters on an ext4 without a journal: allocating an inode skips every inode
deleted in the last minutes (fs/ext4/ialloc.c `recently_deleted`), so the cost of creating
10,000 files swings tenfold with what anything on the disk deleted shortly before; two
commands timed one after the other (as hyperfine does) would meet different disks.
"""
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time


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


def timed(argv):
    """Wall seconds, user and system CPU seconds of one run of argv (its output discarded)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"site_ceiling: {shlex.join(argv)} failed")
    return wall, usage.ru_utime, usage.ru_stime


def alternate(mode, runs, warmup, workdir, site_cmd, ceiling_cmd):
    what = "previous output deleted just before" if mode == "delete" else "nothing deleted"
    cmds = [
        (f"site, new directory ({what})", shlex.split(site_cmd), "site"),
        (f"ceiling, new directory ({what})", shlex.split(ceiling_cmd), "ceiling"),
    ]
    results = {name: [] for name, _, _ in cmds}
    for i in range(warmup + runs):
        for name, argv, stem in cmds:
            if mode == "delete":
                out = os.path.join(workdir, stem)
                shutil.rmtree(out, ignore_errors=True)
            else:
                out = os.path.join(workdir, f"{stem}-{i}")
            t = timed(argv + [out])
            if i >= warmup:
                results[name].append(t)
    print("| Command | Mean [s] | Median [s] | Min [s] | Max [s] | CPU user [s] | CPU system [s] |")
    print("|:---|---:|---:|---:|---:|---:|---:|")
    for name, _, _ in cmds:
        r = results[name]
        walls = [w for w, _, _ in r]
        sd = statistics.stdev(walls) if len(walls) > 1 else 0.0
        print(
            f"| `{name}` | {statistics.mean(walls):.3f} ± {sd:.3f} | "
            f"{statistics.median(walls):.3f} | {min(walls):.3f} | "
            f"{max(walls):.3f} | {statistics.mean(u for _, u, _ in r):.3f} | "
            f"{statistics.mean(s for _, _, s in r):.3f} |"
        )
    ratios = sorted(s[0] / c[0] for s, c in zip(*results.values()))
    print()
    print(
        f"site ÷ ceiling, round by round: median {statistics.median(ratios):.2f} "
        f"(from {ratios[0]:.2f} to {ratios[-1]:.2f}, {len(ratios)} rounds)"
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "list":
        record(args[1], args[2])
    elif len(args) == 3 and args[0] == "write":
        write(args[1], args[2])
    elif len(args) == 7 and args[0] == "alternate" and args[1] in ("keep", "delete"):
        alternate(args[1], int(args[2]), int(args[3]), args[4], args[5], args[6])
    else:
        sys.exit(__doc__)
