#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A/B of two builds of libtrireme on one launcher point, in paired runs.

    bench/ab.py [--rounds N] [--secs S] [--trireme PATH] [--data-dirs DIR]
                LIB_A LIB_B -- OPTION VALUE ...

LIB_A and LIB_B are directories holding a libtrireme.so.0 (a build's dpdk/
directory, e.g. of a git worktree at another commit); the one launcher
(default build/tools/trireme) runs with each in turn through LD_LIBRARY_PATH,
so only the library (engine and runtime) differs. The options after -- are
the launcher's, in pairs (--window 1 --batch 1 ...), added to the in-process
cluster command of bench/e2e.py. --data-dirs DIR gives every run a new,
empty --data-dir under DIR (add --sync to the options): durable points.

On a shared VM a point's throughput moves by tens of percent from one run
to the next, and slower phases last minutes. So the runs come in pairs, A
then B, then B then A, and each pair gives a ratio B/A: a phase that slows
both runs of a pair cancels out. Prints each side's medians and the median
and range of the paired ratios (ops/s, p50, p99). Exits 1 if any run's
replicas diverged.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  (run: one launcher run and its JSON)

KEYS = [("ops_per_s", "ops/s"), ("p50_us", "p50 us"), ("p99_us", "p99 us"),
        ("read_p50_us", "read p50 us"), ("write_p50_us", "write p50 us"),
        ("syncs_per_op", "syncs per op")]


def options(pairs):
    """--window 1 --batch 1 -> {"window": "1", "batch": "1"}."""
    if len(pairs) % 2 or any(not k.startswith("--") for k in pairs[::2]):
        sys.exit("ab: the launcher options go in pairs after --: --window 1 --batch 1 ...")
    return {k[2:]: v for k, v in zip(pairs[::2], pairs[1::2])}


def one(trireme, lib, secs, opts, data_dirs):
    env = dict(os.environ, LD_LIBRARY_PATH=lib)
    if data_dirs:
        opts = dict(opts, **{"data-dir": tempfile.mkdtemp(dir=data_dirs)})
    try:
        cmd, d = e2e.run(trireme, secs, opts, env=env)
    finally:
        if data_dirs:
            shutil.rmtree(opts["data-dir"], ignore_errors=True)
    if not d["digests_match"]:
        sys.exit("ab: replicas diverged with %s: %s" % (lib, " ".join(cmd)))
    syncs = sum(r.get("wal_syncs", 0) for r in d.get("replicas", []))
    d["syncs_per_op"] = syncs / d["ops"] if d.get("ops") else 0
    return d


def spread(xs, fmt):
    return "%s (%s-%s)" % (fmt % statistics.median(xs), fmt % min(xs), fmt % max(xs))


def main():
    argv = sys.argv[1:]
    rest = []
    if "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(usage=__doc__.splitlines()[2].strip())
    ap.add_argument("lib_a")
    ap.add_argument("lib_b")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--secs", type=float, default=1.5)
    ap.add_argument("--trireme", default="build/tools/trireme")
    ap.add_argument("--data-dirs", default=None)
    a = ap.parse_args(argv)
    opts = options(rest)
    for lib in (a.lib_a, a.lib_b):
        if not os.path.exists(os.path.join(lib, "libtrireme.so.0")):
            sys.exit("ab: no libtrireme.so.0 in %s" % lib)
    runs = {"A": [], "B": []}
    for r in range(a.rounds):
        order = ("A", "B") if r % 2 == 0 else ("B", "A")
        for side in order:
            runs[side].append(one(a.trireme, a.lib_a if side == "A" else a.lib_b, a.secs, opts,
                                  a.data_dirs))
        print("ab %d/%d: A %.0f ops/s p50 %.2f us, B %.0f ops/s p50 %.2f us" % (
            r + 1, a.rounds, runs["A"][-1]["ops_per_s"], runs["A"][-1]["p50_us"],
            runs["B"][-1]["ops_per_s"], runs["B"][-1]["p50_us"]), file=sys.stderr)
    print("point: %s; %d pairs of %.1f s runs" % (" ".join(rest), a.rounds, a.secs))
    print("A: %s\nB: %s" % (a.lib_a, a.lib_b))
    print("| | A (median, range) | B (median, range) | B/A, paired (median, range) |")
    print("|---|---|---|---|")
    for key, name in KEYS:
        xa = [d[key] for d in runs["A"]]
        xb = [d[key] for d in runs["B"]]
        if not any(xa) and not any(xb):
            continue
        fmt = "%.0f" if key == "ops_per_s" else "%.2f"
        ratios = [b / x for x, b in zip(xa, xb) if x > 0]
        print("| %s | %s | %s | %s |" % (name, spread(xa, fmt), spread(xb, fmt),
                                       spread(ratios, "%.3f")))


if __name__ == "__main__":
    main()
