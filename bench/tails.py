#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tail latency of the in-process cluster (issue 16, deliverable 1): windows
1..64, batch 1 and the default batch, under each idle policy (--idle), with
0, 1 and 2 other CPU-bound processes on the machine, on 4 KiB pages
(--no-huge) and on 2 MiB hugepages (--in-memory). bench/tails.sh runs it.

    bench/tails.py TRIREME OUT_DIR [--quick] [--secs S] [--reps N] [--lock FILE]

Every point runs --reps times, in round-robin passes over all the points.
Other load: N processes `sh -c 'while :; do :; done'` at normal priority,
started just before the point's run and killed after it. --lock FILE: each
run (with its other load) holds flock(FILE), for a machine whose users take
turns at benchmarking.

The check of the issue: for every curve (memory, idle, other load, batch),
its peak is its highest median throughput over the windows; at every window
from 1 up to the last whose median throughput is at most half the peak, the
median p99 must be at most 5x the median p50.

Writes OUT_DIR/tails.csv (one row per run), tails.jsonl (the launcher's JSON
and command of every run), tails-summary.json and summary-table.md (the
medians, spreads and the check).
"""
import argparse
import csv
import fcntl
import json
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  (the launcher's EAL arguments and one run)

RATIO_MAX = 5.0
FIELDS = ["rep", "memory", "idle", "other_load", "batch", "window", "ops_per_s", "p50_us",
          "p99_us", "p999_us", "p99_over_p50", "batch_used", "loadavg_1m", "errors",
          "digests_match"]


def points(quick, huge):
    """(memory, idle, other load, batch, window) of every point."""
    windows = [1, 4, 16, 64] if quick else [1, 2, 4, 8, 16, 32, 64]
    loads = [0, 1] if quick else [0, 1, 2]
    mems = ["no-huge"] + (["huge"] if huge else [])
    for mem in mems:
        for idle in ("backoff", "yield", "poll"):
            # Hugepages against 4 KiB pages: without other load.
            for load in loads if mem == "no-huge" else [0]:
                for batch in ("1", "default"):
                    for w in windows:
                        yield (mem, idle, load, batch, w)


def eal_for(mem):
    eal = list(e2e.EAL)
    if mem == "huge":
        eal[eal.index("--no-huge")] = "--in-memory"
    return eal


def run_point(trireme, secs, pt, lock):
    mem, idle, load, batch, w = pt
    opts = {"window": w, "read-ratio": 0, "idle": idle}
    if batch == "1":
        opts["batch"] = 1
    lock_fd = None
    if lock:
        lock_fd = open(lock, "a")
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
    hogs = []
    try:
        hogs = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(load)]
        cmd, d = e2e.run(trireme, secs, opts, eal_for(mem))
        loadavg = float(open("/proc/loadavg").read().split()[0])
    finally:
        for h in hogs:
            h.kill()
        for h in hogs:
            h.wait()
        if lock_fd:
            lock_fd.close()
    return cmd, d, loadavg


def spread(xs):
    return [min(xs), max(xs)]


def summarize(rows):
    """Medians and spreads per point; the check per curve."""
    by_point = {}
    for r in rows:
        key = (r["memory"], r["idle"], r["other_load"], r["batch"])
        by_point.setdefault(key, {}).setdefault(r["window"], []).append(r)
    curves = []
    order = ("backoff", "yield", "poll")
    for key in sorted(by_point, key=lambda k: (k[0] != "no-huge", order.index(k[1]), k[2],
                                               k[3])):
        mem, idle, load, batch = key
        wins = []
        for w in sorted(by_point[key]):
            rs = by_point[key][w]
            ops = [r["ops_per_s"] for r in rs]
            p50 = [r["p50_us"] for r in rs]
            p99 = [r["p99_us"] for r in rs]
            wins.append({
                "window": w, "runs": len(rs),
                "ops_per_s": statistics.median(ops), "ops_spread": spread(ops),
                "p50_us": statistics.median(p50), "p50_spread": spread(p50),
                "p99_us": statistics.median(p99), "p99_spread": spread(p99),
                "p99_over_p50": statistics.median(r["p99_over_p50"] for r in rs),
            })
        peak = max(x["ops_per_s"] for x in wins)
        checked = []
        for x in wins:
            if x["window"] != wins[0]["window"] and x["ops_per_s"] > peak / 2:
                break
            checked.append(x)
        worst = max(checked, key=lambda x: x["p99_over_p50"])
        curves.append({
            "memory": mem, "idle": idle, "other_load": load, "batch": batch,
            "peak_ops_per_s": peak,
            "peak_window": max(wins, key=lambda x: x["ops_per_s"])["window"],
            "checked_windows": [x["window"] for x in checked],
            "worst_window": worst["window"], "worst_ratio": worst["p99_over_p50"],
            "ok": all(x["p99_over_p50"] <= RATIO_MAX for x in checked),
            "windows": wins,
        })
    return curves


def verdict(c):
    """yes / no; a pass whose p50 itself collapsed (every command waiting out
    another process's time slice) says so."""
    slow = [x["window"] for x in c["windows"]
            if x["window"] in c["checked_windows"] and x["p50_us"] >= 1000]
    if not c["ok"]:
        return "**no**"
    return "yes, but p50 ≥ 1 ms at w=%s" % ",".join(map(str, slow)) if slow else "yes"


def table(curves):
    out = ["| memory | idle | other load | batch | peak ops/s (window) | windows checked "
           "| w=1 p50 µs | w=1 p99 µs (spread) | worst p99/p50 (window) | p99 ≤ 5x p50 |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for c in curves:
        w1 = c["windows"][0]
        out.append("| %s | %s | %d | %s | %.0f k (%d) | %s | %.1f | %.0f (%.0f–%.0f) "
                   "| %.1f (%d) | %s |" % (
                       c["memory"], c["idle"], c["other_load"], c["batch"],
                       c["peak_ops_per_s"] / 1000, c["peak_window"],
                       ",".join(str(w) for w in c["checked_windows"]), w1["p50_us"],
                       w1["p99_us"], w1["p99_spread"][0], w1["p99_spread"][1],
                       c["worst_ratio"], c["worst_window"], verdict(c)))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trireme")
    ap.add_argument("out")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--secs", type=float)
    ap.add_argument("--reps", type=int)
    ap.add_argument("--lock")
    ap.add_argument("--no-hugepages", action="store_true",
                    help="skip the hugepage points (none could be reserved)")
    a = ap.parse_args()
    # SIGTERM as SIGINT: the other load is killed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("tails: terminated"))
    secs = a.secs or (0.5 if a.quick else 0.7)
    reps = a.reps or (2 if a.quick else 3)
    os.makedirs(a.out, exist_ok=True)
    pts = list(points(a.quick, not a.no_hugepages))
    rows = []
    started = time.monotonic()
    with open(os.path.join(a.out, "tails.jsonl"), "w") as fj:
        for rep in range(1, reps + 1):
            for i, pt in enumerate(pts):
                cmd, d, loadavg = run_point(a.trireme, secs, pt, a.lock)
                if not d["digests_match"]:
                    sys.exit("tails: replicas diverged: " + " ".join(cmd))
                mem, idle, load, batch, w = pt
                row = {
                    "rep": rep, "memory": mem, "idle": idle, "other_load": load,
                    "batch": batch, "window": w, "ops_per_s": round(d["ops_per_s"]),
                    "p50_us": d["p50_us"], "p99_us": d["p99_us"], "p999_us": d["p999_us"],
                    "p99_over_p50": round(d["p99_us"] / d["p50_us"], 2) if d["p50_us"] else 0,
                    "batch_used": d["batch"], "loadavg_1m": loadavg, "errors": d["errors"],
                    "digests_match": int(d["digests_match"]),
                }
                rows.append(row)
                fj.write(json.dumps({"command": " ".join(cmd), "rep": rep, "other_load": load,
                                     "result": d}) + "\n")
                print("tails %d/%d %3d/%d %-7s %-7s load %d batch %-7s w %2d %8d ops/s "
                      "p50 %7.1f p99 %8.1f us (%.0f s)" % (
                          rep, reps, i + 1, len(pts), mem, idle, load, batch, w,
                          d["ops_per_s"], d["p50_us"], d["p99_us"],
                          time.monotonic() - started), file=sys.stderr)
    with open(os.path.join(a.out, "tails.csv"), "w", newline="") as fc:
        w = csv.DictWriter(fc, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    curves = summarize(rows)
    with open(os.path.join(a.out, "tails-summary.json"), "w") as f:
        json.dump({"secs": secs, "reps": reps, "ratio_max": RATIO_MAX, "curves": curves}, f,
                  indent=1)
    with open(os.path.join(a.out, "summary-table.md"), "w") as f:
        f.write(table(curves))


if __name__ == "__main__":
    main()
