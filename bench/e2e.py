#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end sweeps with the launcher: 3 replicas in one process over
net_ring, a closed-loop load, one launcher run per point (its --json).

    bench/e2e.py TRIREME OUT_DIR [--secs S] [--reps N] [--quick] [--huge]

Each point runs N times (default 3), in N round-robin passes over all the
points; the run with the median throughput is kept, so one noisy minute on a
shared machine does not make a curve.

--huge: EAL on 2 MiB hugepages (scripts/hugepages.sh reserves them) with
--in-memory, instead of --no-huge.

Writes OUT_DIR/e2e.csv (one row per run, every sweep) and
OUT_DIR/e2e.jsonl (the launcher's JSON, with the sweep and the command).
"""
import argparse
import csv
import json
import os
import subprocess
import sys

EAL = ["--no-huge", "--no-pci", "--no-telemetry", "--log-level=*:error", "-m", "1024",
       "--no-shconf", "-l", "0-1"]
HUGEPAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts",
                         "hugepages.sh")


def use_hugepages():
    """Reserves the hugepages (scripts/hugepages.sh: enough for -m 1024) and
    runs EAL on them (--in-memory: no hugetlbfs mount, no files left)."""
    res = subprocess.run([HUGEPAGES], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, check=False)
    if res.returncode != 0:
        sys.exit("e2e: --huge: " + res.stdout.strip())
    print(res.stdout.strip(), file=sys.stderr)
    EAL[EAL.index("--no-huge")] = "--in-memory"

FIELDS = ["sweep", "window", "batch", "mtu", "value_size", "read_ratio", "read_mode", "loss",
          "writers", "ops_per_s", "reads_per_s", "writes_per_s", "p50_us", "p99_us",
          "p999_us", "read_p50_us", "read_p99_us", "write_p50_us", "write_p99_us",
          "retries", "recoveries", "drops", "errors", "digests_match"]


def points(quick):
    """(sweep, launcher options) for every point of every sweep."""
    windows = [1, 4, 16, 64, 256] if quick else [1, 2, 4, 8, 16, 32, 64, 128, 256]
    for batch in ("1", "default"):
        for w in windows:
            opts = {"window": w, "read-ratio": 0}
            if batch == "1":
                opts["batch"] = 1
            yield "window", opts
    for v in [16, 256, 4096] if quick else [16, 64, 256, 1024, 4096]:
        yield "value", {"window": 64, "read-ratio": 0, "value-size": v, "mtu": 9000}
    for ratio in (0.5, 0.95):
        for mode in ("barrier", "log", "local"):
            yield "reads", {"window": 64, "read-ratio": ratio, "read-mode": mode}
    for w in (1, 64):
        for loss in (0, 0.01, 0.1):
            yield "loss", {"window": w, "read-ratio": 0, "loss": loss}
    for n in (1, 2, 3):
        yield "writers", {"window": 64, "read-ratio": 0, "writers": n}
    # One command in flight in the whole cluster: the latency floor.
    yield "writers", {"window": 1, "read-ratio": 0, "writers": 1, "batch": 1}


def run(trireme, secs, opts, eal=None, env=None):
    """One launcher run of the in-process cluster: (command, its JSON). env:
    the environment (None: this one)."""
    cmd = [trireme] + (eal or EAL) + ["--", "--cluster", "--duration", str(secs), "--quiet",
                                      "--json"]
    for k, v in opts.items():
        cmd += ["--" + k, str(v)]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         timeout=secs + 60, check=False, env=env)
    if res.returncode != 0:
        sys.exit("e2e: %s failed (%d): %s" % (" ".join(cmd), res.returncode,
                                              res.stderr.strip()[-500:]))
    return cmd, json.loads(res.stdout.strip().splitlines()[-1])


def row(sweep, d):
    s = d["duration_s"] or 1.0
    reps = d["replicas"]
    return {
        "sweep": sweep, "window": d["window"], "batch": d["batch"], "mtu": d["mtu"],
        "value_size": d["value_size"], "read_ratio": d["read_ratio"],
        "read_mode": d["read_mode"], "loss": d["loss"], "writers": d["writers"],
        "ops_per_s": round(d["ops_per_s"]), "reads_per_s": round(d["reads"] / s),
        "writes_per_s": round(d["writes"] / s),
        **{k: d[k] for k in ("p50_us", "p99_us", "p999_us", "read_p50_us", "read_p99_us",
                             "write_p50_us", "write_p99_us", "errors")},
        "retries": sum(r["retries"] for r in reps),
        "recoveries": sum(r["recoveries"] for r in reps),
        "drops": sum(r["drops"] for r in reps),
        "digests_match": int(d["digests_match"]),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trireme")
    ap.add_argument("out")
    ap.add_argument("--secs", type=float, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--huge", action="store_true")
    a = ap.parse_args()
    if a.huge:
        use_hugepages()
    os.makedirs(a.out, exist_ok=True)
    pts = list(points(a.quick))
    runs = [[] for _ in pts]
    # Round robin: every point once per pass, so that a slow minute of the
    # machine lands on every curve alike instead of bending one.
    for rep in range(a.reps):
        for i, (sweep, opts) in enumerate(pts):
            cmd, d = run(a.trireme, a.secs, opts)
            if not d["digests_match"]:
                sys.exit("e2e: replicas diverged: " + " ".join(cmd))
            runs[i].append((cmd, d))
            print("e2e %d/%d %-7s %-40s %9d ops/s  p50 %8.1f us  p99 %8.1f us" % (
                rep + 1, a.reps, sweep, " ".join("%s=%s" % kv for kv in opts.items()),
                d["ops_per_s"], d["p50_us"], d["p99_us"]), file=sys.stderr)
    with open(os.path.join(a.out, "e2e.csv"), "w", newline="") as fc, \
            open(os.path.join(a.out, "e2e.jsonl"), "w") as fj:
        w = csv.DictWriter(fc, fieldnames=FIELDS)
        w.writeheader()
        for (sweep, _), rs in zip(pts, runs):
            rs.sort(key=lambda cd: cd[1]["ops_per_s"])
            cmd, d = rs[len(rs) // 2]
            w.writerow(row(sweep, d))
            fj.write(json.dumps({"sweep": sweep, "command": " ".join(cmd), "result": d,
                                 "ops_per_s_of_every_run": [x[1]["ops_per_s"] for x in rs]})
                     + "\n")


if __name__ == "__main__":
    main()
