#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Headline numbers and the targets of the performance issue, from the files
bench/run.sh wrote: OUT/summary.json and OUT/summary.md.

    bench/summary.py OUT_DIR
"""
import csv
import json
import os
import sys


def jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith("{")]


def main():
    out = sys.argv[1]
    floor = {(r["test"], r["layout"]): r for r in jsonl(os.path.join(out, "floor.jsonl"))}
    engine = [r for r in jsonl(os.path.join(out, "engine.jsonl")) if r["test"] == "commit"]
    instr = jsonl(os.path.join(out, "callgrind.jsonl"))
    store = {r["op"]: r["ns_per_op"] for r in jsonl(os.path.join(out, "store.jsonl"))}
    with open(os.path.join(out, "e2e.csv")) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k, v in r.items():
            try:
                r[k] = float(v)
            except ValueError:
                pass

    def pick(sweep, **kw):
        return [r for r in rows if r["sweep"] == sweep and
                all(r[k] == v for k, v in kw.items())]

    rtt1 = floor[("rtt", "one-lcore")]["p50_ns"] / 1e3
    rtt2 = floor[("rtt", "two-lcore")]["p50_ns"] / 1e3
    unb = pick("window", batch=1)
    bat = [r for r in pick("window") if r["batch"] != 1]
    w1 = pick("window", batch=1, window=1)[0]
    one = (pick("writers", window=1, writers=1) or [None])[0]  # older runs lack it
    peak_unb = max(unb, key=lambda r: r["ops_per_s"])
    peak_bat = max(bat, key=lambda r: r["ops_per_s"])
    half = min(bat, key=lambda r: abs(r["ops_per_s"] - peak_bat["ops_per_s"] / 2))
    reads = {(r["read_ratio"], r["read_mode"]): r for r in pick("reads")}
    b95, l95 = reads[(0.95, "barrier")], reads[(0.95, "log")]
    s = {
        "floor_rtt_one_lcore_p50_us": rtt1,
        "floor_rtt_two_lcore_p50_us": rtt2,
        "floor_pps_one_lcore": floor[("pps", "one-lcore")]["pkts_per_s"],
        "engine_ns_per_instance": {int(r["batch"]): r["engine_ns_per_instance"] for r in engine},
        "engine_ns_per_cmd": {int(r["batch"]): r["ns_per_cmd"] for r in engine},
        "instructions_per_instance": {int(r["batch"]): r["instructions_per_instance"]
                                      for r in instr},
        "instructions_per_cmd": {int(r["batch"]): r["instructions_per_cmd"] for r in instr},
        # the engine's entry points only (older runs did not measure it)
        "engine_instructions_per_instance": {int(r["batch"]): r.get("engine_instructions_per_instance")
                                             for r in instr},
        "store_ns_per_set": store["set"], "store_ns_per_get": store["get"],
        "w1_p50_us": w1["p50_us"], "w1_p99_us": w1["p99_us"], "w1_ops_per_s": w1["ops_per_s"],
        "peak_unbatched_ops_per_s": peak_unb["ops_per_s"],
        "peak_unbatched_window": peak_unb["window"],
        "peak_batched_ops_per_s": peak_bat["ops_per_s"],
        "peak_batched_window": peak_bat["window"],
        "half_peak_window": half["window"], "half_peak_ops_per_s": half["ops_per_s"],
        "half_peak_p50_us": half["p50_us"], "half_peak_p99_us": half["p99_us"],
        "barrier_vs_log_reads_95": b95["reads_per_s"] / max(l95["reads_per_s"], 1),
        "barrier_read_p50_us_95": b95["read_p50_us"], "write_p50_us_95": b95["write_p50_us"],
    }
    targets = [
        ("commit p50 at window 1 <= 2x raw round trip",
         "%.1f us vs 2 x %.2f us (one lcore; %.2f us across lcores)" % (w1["p50_us"], rtt1, rtt2),
         w1["p50_us"] <= 2 * rtt1),
    ]
    if one is not None:
        s["one_in_flight_p50_us"] = one["p50_us"]
        targets.append(("commit p50 with one command in flight (1 writer, window 1) <= 3 us",
                        "%.1f us (p99 %.1f us)" % (one["p50_us"], one["p99_us"]),
                        one["p50_us"] <= 3))
    targets += [
        (">= 1,000,000 commits/s unbatched", "%.0f /s (window %d)" % (
            peak_unb["ops_per_s"], peak_unb["window"]), peak_unb["ops_per_s"] >= 1e6),
        (">= 5,000,000 commands/s batched", "%.0f /s (window %d)" % (
            peak_bat["ops_per_s"], peak_bat["window"]), peak_bat["ops_per_s"] >= 5e6),
        ("p99 <= 5x p50 at half of peak", "window %d: %.0f /s, p50 %.1f us, p99 %.1f us" % (
            half["window"], half["ops_per_s"], half["p50_us"], half["p99_us"]),
         half["p99_us"] <= 5 * half["p50_us"]),
        ("barrier reads >= 3x log reads at 95% reads", "%.0f vs %.0f reads/s (%.1fx)" % (
            b95["reads_per_s"], l95["reads_per_s"], s["barrier_vs_log_reads_95"]),
         s["barrier_vs_log_reads_95"] >= 3),
        ("barrier-read p50 <= write p50", "%.1f us vs %.1f us (95%% reads)" % (
            b95["read_p50_us"], b95["write_p50_us"]), b95["read_p50_us"] <= b95["write_p50_us"]),
    ]
    s["targets"] = [{"target": t, "measured": m, "met": ok} for t, m, ok in targets]

    md = ["| target | measured | met |", "|---|---|---|"]
    md += ["| %s | %s | %s |" % (t, m, "yes" if ok else "**no**") for t, m, ok in targets]
    md += ["", "| reads | mode | reads/s | writes/s | read p50 / p99 (us) | write p50 / p99 (us) |",
           "|---|---|---|---|---|---|"]
    w64 = pick("window", window=64)
    w64 = [r for r in w64 if r["batch"] != 1][0]
    md.append("| 0%% | (writes only) | 0 | %.0f | - | %.0f / %.0f |" % (
        w64["writes_per_s"], w64["write_p50_us"], w64["write_p99_us"]))
    for (ratio, mode), r in sorted(reads.items()):
        md.append("| %.0f%% | %s | %.0f | %.0f | %.0f / %.0f | %.0f / %.0f |" % (
            100 * ratio, mode, r["reads_per_s"], r["writes_per_s"], r["read_p50_us"],
            r["read_p99_us"], r["write_p50_us"], r["write_p99_us"]))
    md += ["", "| loss | window | ops/s | p50 (us) | p99 (us) | retries | recoveries |",
           "|---|---|---|---|---|---|---|"]
    for r in pick("loss"):
        md.append("| %g%% | %d | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
            100 * r["loss"], r["window"], r["ops_per_s"], r["p50_us"], r["p99_us"],
            r["retries"], r["recoveries"]))
    spreads = sorted((max(x) - min(x)) / sorted(x)[len(x) // 2]
                     for x in (r["ops_per_s_of_every_run"]
                               for r in jsonl(os.path.join(out, "e2e.jsonl"))) if len(x) > 1)
    if spreads:
        s["run_spread_median"] = spreads[len(spreads) // 2]
        s["run_spread_max"] = spreads[-1]
        md += ["", "Run-to-run spread of a point's commits/s ((max - min) / median of its runs): "
               "median %.0f%%, worst %.0f%%." % (100 * s["run_spread_median"],
                                                 100 * s["run_spread_max"])]
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(s, f, indent=1)
        f.write("\n")
    with open(os.path.join(out, "reads.dat"), "w") as f:
        f.write("# mode reads/s@50% reads/s@95% read_p50_us@50% read_p50_us@95%\n")
        for mode in ("barrier", "log", "local"):
            a, b = reads[(0.5, mode)], reads[(0.95, mode)]
            f.write("%s %.0f %.0f %.1f %.1f\n" % (mode, a["reads_per_s"], b["reads_per_s"],
                                                   a["read_p50_us"], b["read_p50_us"]))
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
