#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Trireme, canonical/raft and etcd side by side in one run (issues 16 and
14): 3 replicas on this machine, 16-byte writes, closed-loop loads of the
same total outstanding commands (windows 1 and 128), on tmpfs and on this
machine's disk, in interleaved rounds. bench/peers.sh runs it.

    bench/peers.py OUT_DIR [--rounds N] [--secs S] [--warmup S]
                   [--disk-dir DIR] [--tmpfs-dir DIR] [--build DIR]

The systems:
- Trireme: the launcher, 3 replicas in one process over net_ring, the load
  on one replica (--writers 1 --window W); memory-only, and with
  --data-dir/--sync fdatasync on disk and on tmpfs where the launcher has
  them ("n/a" where not). Extra point: --writers 2 --window 64 (128 in all,
  multi-master).
- canonical/raft: build/bench/raft-bench (3 servers, TCP on loopback,
  libraft's uv disk I/O, snapshots off), the load on the leader.
- etcd: 3 etcd members (Debian's etcd-server) on loopback, started here
  (snapshots of the raft log off: --snapshot-count 10^8), build/bench/etcd-load
  on the leader: gRPC KV/Put, W concurrent streams on one connection.

Every point runs once per round; the rounds rotate the order of the
systems, so that a slow minute of the shared machine does not land on one
system only. Writes OUT_DIR/peers.jsonl (every run: the command, the
result, the load average), peers.csv (one row per run) and table.md (the
medians, the spread across rounds and the ratios).
"""
import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  (the launcher's EAL arguments and its one run)

WINDOWS = (1, 128)
VALUE_SIZE = 16
KEYS = 10000


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_times():
    """(busy, steal, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    steal = v[7] if len(v) > 7 else 0
    return sum(v) - idle - steal, steal, sum(v)


def launcher_has_sync(trireme):
    res = subprocess.run([trireme] + e2e.EAL + ["--", "--help"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, check=False)
    return "--sync" in res.stdout and "--data-dir" in res.stdout


def wal_totals(d):
    """Trireme's group commit over all replicas, from the launcher's
    per-replica wal_records, wal_syncs and wal_sync_us (mean µs of one write
    + sync): (records per sync, µs per sync); None without a WAL."""
    reps = [r for r in d.get("replicas", []) if r.get("wal_syncs")]
    syncs = sum(r["wal_syncs"] for r in reps)
    if not syncs:
        return None
    return (sum(r["wal_records"] for r in reps) / syncs,
            sum(r["wal_sync_us"] * r["wal_syncs"] for r in reps) / syncs)


def fresh_dir(parent, name):
    d = os.path.join(parent, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


class Runner:
    def __init__(self, a):
        self.a = a
        self.trireme = os.path.join(a.build, "tools", "trireme")
        self.raft = os.path.join(a.build, "bench", "raft-bench")
        self.etcd_load = os.path.join(a.build, "bench", "etcd-load")
        self.has_sync = launcher_has_sync(self.trireme)
        self.has_raft = os.access(self.raft, os.X_OK)
        self.has_etcd = shutil.which("etcd") is not None
        self.dirs = {"disk": a.disk_dir, "tmpfs": a.tmpfs_dir}
        self.port = 0

    def next_port(self):
        """A fresh range of 10 ports per run: no waiting for TIME_WAIT."""
        self.port = (self.port + 1) % 40
        return self.port * 10

    # --- Trireme ---------------------------------------------------------
    def trireme_point(self, storage, window, writers):
        opts = {"writers": writers, "window": window // writers, "read-ratio": 0,
                "value-size": VALUE_SIZE, "keys": KEYS}
        if storage != "memory":
            if not self.has_sync:
                return None, {"na": "the launcher has no --data-dir/--sync"}
            opts["data-dir"] = fresh_dir(self.dirs[storage], "trireme")
            opts["sync"] = "fdatasync"
        cmd, d = e2e.run(self.trireme, self.a.secs, opts)
        if storage != "memory":
            shutil.rmtree(opts["data-dir"], ignore_errors=True)
        if not d["digests_match"]:
            sys.exit("peers: Trireme's replicas diverged: " + " ".join(cmd))
        r = {"commits_per_s": d["ops_per_s"], "p50_us": d["p50_us"], "p99_us": d["p99_us"],
             "errors": d["errors"], "raw": d}
        wal = wal_totals(d)
        if wal:
            r["records_per_sync"], r["sync_us"] = wal
        return cmd, r

    # --- canonical/raft --------------------------------------------------
    def raft_point(self, storage, window):
        if not self.has_raft:
            return None, {"na": "raft-bench not built (libraft-dev, libuv1-dev)"}
        d = os.path.join(self.dirs[storage], "raft")
        shutil.rmtree(d, ignore_errors=True)
        cmd = [self.raft, "--dir", d, "--window", str(window), "--duration",
               str(self.a.secs), "--warmup", str(self.a.warmup), "--value-size",
               str(VALUE_SIZE), "--port-base", str(9100 + self.next_port())]
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             timeout=self.a.secs + self.a.warmup + 60, check=False)
        shutil.rmtree(d, ignore_errors=True)
        if res.returncode != 0:
            sys.exit("peers: %s failed (%d): %s" % (" ".join(cmd), res.returncode,
                                                    res.stderr.strip()[-500:]))
        r = json.loads(res.stdout.strip().splitlines()[-1])
        return cmd, {"commits_per_s": r["commits_per_s"], "p50_us": r["p50_us"],
                     "p99_us": r["p99_us"], "errors": r["errors"], "raw": r}

    # --- etcd ------------------------------------------------------------
    def etcd_start(self, storage):
        """Three members on loopback; returns (procs, leader's client URL)."""
        base = 23000 + self.next_port()
        data = fresh_dir(self.dirs[storage], "etcd")
        names = ["m%d" % i for i in range(3)]
        peer = ["http://127.0.0.1:%d" % (base + 5 + i) for i in range(3)]
        client = ["127.0.0.1:%d" % (base + i) for i in range(3)]
        cluster = ",".join("%s=%s" % (n, p) for n, p in zip(names, peer))
        procs, cmds = [], []
        for i, n in enumerate(names):
            cmd = ["etcd", "--name", n, "--data-dir", os.path.join(data, n),
                   "--listen-client-urls", "http://" + client[i],
                   "--advertise-client-urls", "http://" + client[i],
                   "--listen-peer-urls", peer[i], "--initial-advertise-peer-urls", peer[i],
                   "--initial-cluster", cluster, "--initial-cluster-state", "new",
                   "--initial-cluster-token", "peers-bench", "--snapshot-count", "100000000",
                   "--logger", "zap", "--log-level", "error"]
            log = open(os.path.join(data, n + ".log"), "w")
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=log))
            cmds.append(cmd)
        deadline = time.time() + 30
        while time.time() < deadline:
            time.sleep(0.2)
            for c in client:
                try:
                    req = urllib.request.Request("http://%s/v3/maintenance/status" % c,
                                                 data=b"{}", method="POST")
                    st = json.load(urllib.request.urlopen(req, timeout=1))
                except (OSError, ValueError):
                    continue
                if st.get("leader", "0") != "0" and st["leader"] == st["header"]["member_id"]:
                    return procs, c, cmds[client.index(c)], data
        self.etcd_stop(procs, data)
        sys.exit("peers: etcd elected no leader in 30 s (logs in %s)" % data)

    @staticmethod
    def etcd_stop(procs, data):
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(data, ignore_errors=True)

    def etcd_point(self, leader, window):
        cmd = [self.etcd_load, "--endpoint", leader, "--api", "grpc", "--window", str(window),
               "--duration",
               str(self.a.secs), "--warmup", str(self.a.warmup), "--value-size",
               str(VALUE_SIZE), "--keys", str(KEYS)]
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             timeout=self.a.secs + self.a.warmup + 60, check=False)
        if res.returncode != 0:
            sys.exit("peers: %s failed (%d): %s" % (" ".join(cmd), res.returncode,
                                                    res.stderr.strip()[-500:]))
        r = json.loads(res.stdout.strip().splitlines()[-1])
        return cmd, {"commits_per_s": r["commits_per_s"], "p50_us": r["p50_us"],
                     "p99_us": r["p99_us"], "errors": r["errors"], "raw": r}

    # --- one round -------------------------------------------------------
    def groups(self):
        """The points of a round, grouped so that an etcd cluster serves both
        windows: (system, storage, writers) -> run(window)."""
        g = [("trireme", "memory", 1), ("trireme", "tmpfs", 1), ("trireme", "disk", 1),
             ("trireme", "memory", 2), ("raft", "tmpfs", 1), ("raft", "disk", 1),
             ("etcd", "tmpfs", 1), ("etcd", "disk", 1)]
        return g

    def run_group(self, rnd, system, storage, writers, out):
        windows = (128,) if writers > 1 else WINDOWS
        etcd = None
        if system == "etcd":
            if not self.has_etcd:
                for w in windows:
                    out.append(self.record(rnd, system, storage, writers, w, None,
                                           {"na": "etcd not installed"}))
                return
            try:
                etcd = self.etcd_start(storage)
            except SystemExit as e:
                print(e, file=sys.stderr)
                for w in windows:
                    out.append(self.record(rnd, system, storage, writers, w, None,
                                           {"na": "failed: %s" % str(e)[:300]}))
                return
        try:
            for w in windows:
                la0 = loadavg()
                c0 = cpu_times()
                try:
                    if system == "trireme":
                        cmd, r = self.trireme_point(storage, w, writers)
                    elif system == "raft":
                        cmd, r = self.raft_point(storage, w)
                    else:
                        cmd, r = self.etcd_point(etcd[1], w)
                        r["server_command"] = " ".join(etcd[2])
                except (SystemExit, subprocess.TimeoutExpired, ValueError, KeyError) as e:
                    # One failed point does not end the run: it is reported.
                    print(e, file=sys.stderr)
                    out.append(self.record(rnd, system, storage, writers, w, None,
                                           {"na": "failed: %s" % str(e)[:300]}))
                    continue
                if "na" in r:
                    out.append(self.record(rnd, system, storage, writers, w, cmd, r))
                    continue
                c1 = cpu_times()
                r["loadavg_before"], r["loadavg_after"] = la0, loadavg()
                tot = max(1, c1[2] - c0[2])
                r["cpu_busy_pct"] = round(100.0 * (c1[0] - c0[0]) / tot, 1)
                r["cpu_steal_pct"] = round(100.0 * (c1[1] - c0[1]) / tot, 1)
                out.append(self.record(rnd, system, storage, writers, w, cmd, r))
        finally:
            if etcd is not None:
                self.etcd_stop(etcd[0], etcd[3])

    @staticmethod
    def record(rnd, system, storage, writers, window, cmd, r):
        rec = {"round": rnd, "system": system, "storage": storage, "writers": writers,
               "window": window, "command": " ".join(cmd) if cmd else None, **r}
        if "na" in r:
            msg = "n/a (%s)" % r["na"]
        else:
            msg = "%10.0f commits/s  p50 %9.1f us  p99 %9.1f us  load %s" % (
                r["commits_per_s"], r["p50_us"], r["p99_us"], r["loadavg_after"])
        print("peers round %d  %-7s %-6s writers %d window %3d  %s" % (
            rnd, system, storage, writers, window, msg), file=sys.stderr, flush=True)
        return rec


# --- the table -----------------------------------------------------------
LABEL = {
    ("trireme", "memory", 1): "Trireme, memory only",
    ("trireme", "memory", 2): "Trireme, memory only, 2 writers x 64",
    ("trireme", "tmpfs", 1): "Trireme, --sync fdatasync, tmpfs",
    ("trireme", "disk", 1): "Trireme, --sync fdatasync, disk",
    ("raft", "tmpfs", 1): "canonical/raft, log on tmpfs",
    ("raft", "disk", 1): "canonical/raft, log on disk",
    ("etcd", "tmpfs", 1): "etcd, data on tmpfs",
    ("etcd", "disk", 1): "etcd, data on disk",
}


def summarize(recs):
    """(system, storage, writers, window) -> medians and spreads."""
    by = {}
    for r in recs:
        by.setdefault((r["system"], r["storage"], r["writers"], r["window"]), []).append(r)
    s = {}
    for k, rs in by.items():
        ok = [r for r in rs if "na" not in r]
        if not ok:
            s[k] = {"na": rs[0]["na"]}
            continue
        tp = [r["commits_per_s"] for r in ok]
        med = statistics.median(tp)
        s[k] = {"commits_per_s": med, "runs": tp,
                "spread_pct": 100.0 * (max(tp) - min(tp)) / med if med else 0.0,
                "p50_us": statistics.median(r["p50_us"] for r in ok),
                "p99_us": statistics.median(r["p99_us"] for r in ok),
                "p50_runs": [r["p50_us"] for r in ok], "p99_runs": [r["p99_us"] for r in ok],
                "errors": sum(r["errors"] for r in ok)}
        if all("records_per_sync" in r for r in ok):
            s[k]["records_per_sync"] = statistics.median(r["records_per_sync"] for r in ok)
            s[k]["sync_us"] = statistics.median(r["sync_us"] for r in ok)
    return s


def fmt_rate(x):
    return "{:,.0f}".format(x)


def fmt_us(x):
    return "{:,.0f}".format(x) if x >= 100 else "{:.1f}".format(x)


def ratio(a, b):
    return "%.1fx" % (a / b) if a and b else "n/a"


def table(s, recs, rounds):
    out = ["| window | system | commits/s (median) | rounds: min – max | p50 µs | p99 µs | "
           "p50 of each round µs |", "|---:|---|---:|---:|---:|---:|---|"]
    for w in WINDOWS:
        for key, label in LABEL.items():
            k = key + (w,)
            if k not in s:
                continue
            v = s[k]
            if "na" in v:
                out.append("| %d | %s | n/a | | | | %s |" % (w, label, v["na"]))
                continue
            out.append("| %d | %s | %s | %s – %s | %s | %s | %s |" % (
                w, label, fmt_rate(v["commits_per_s"]), fmt_rate(min(v["runs"])),
                fmt_rate(max(v["runs"])),
                fmt_us(v["p50_us"]), fmt_us(v["p99_us"]),
                " / ".join(fmt_us(x) for x in v["p50_runs"])))
    gc = [(k, v) for k, v in sorted(s.items()) if "records_per_sync" in v]
    if gc:
        out += ["", "Trireme's group commit (all replicas' WALs, medians of the rounds):", "",
                "| window | storage | records per sync | write + sync µs |", "|---:|---|---:|---:|"]
        for k, v in gc:
            out.append("| %d | %s | %.1f | %s |" % (k[3], k[1], v["records_per_sync"],
                                                 fmt_us(v["sync_us"])))
    out += ["", "Ratios of the medians (throughput: Trireme / peer; latency: peer / Trireme, "
            "so > 1 means Trireme is faster):", "",
            "| window | Trireme | vs | commits/s | p50 | p99 |", "|---:|---|---|---:|---:|---:|"]
    pairs = [(("trireme", "memory", 1), ("raft", "tmpfs", 1)),
             (("trireme", "memory", 1), ("etcd", "tmpfs", 1)),
             (("trireme", "tmpfs", 1), ("raft", "tmpfs", 1)),
             (("trireme", "tmpfs", 1), ("etcd", "tmpfs", 1)),
             (("trireme", "disk", 1), ("raft", "disk", 1)),
             (("trireme", "disk", 1), ("etcd", "disk", 1))]
    for w in WINDOWS:
        for t, p in pairs:
            a, b = s.get(t + (w,)), s.get(p + (w,))
            if a is None or b is None:
                continue
            if "na" in a or "na" in b:
                out.append("| %d | %s | %s | n/a | n/a | n/a |" % (w, LABEL[t], LABEL[p]))
                continue
            out.append("| %d | %s | %s | %s | %s | %s |" % (
                w, LABEL[t], LABEL[p], ratio(a["commits_per_s"], b["commits_per_s"]),
                ratio(b["p50_us"], a["p50_us"]), ratio(b["p99_us"], a["p99_us"])))
    ok = [r for r in recs if "na" not in r]
    la = [float(r[k].split()[0]) for r in ok for k in ("loadavg_before", "loadavg_after")]
    out += ["", "Medians of %d rounds. During the points: 1-minute load average %.1f – %.1f, "
            "CPU busy %.0f%% and stolen by the host %.1f%% on average (/proc/stat)." % (
                rounds, min(la), max(la), statistics.mean(r["cpu_busy_pct"] for r in ok),
                statistics.mean(r["cpu_steal_pct"] for r in ok))]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--build", default="build")
    ap.add_argument("--disk-dir", default=None)
    ap.add_argument("--tmpfs-dir", default=None)
    ap.add_argument("--table-only", action="store_true",
                    help="no runs: the table, summary and plot data again from OUT/peers.jsonl")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.table_only:
        with open(os.path.join(a.out, "peers.jsonl")) as f:
            recs = [json.loads(line) for line in f]
        write_summary(a.out, recs, max(r["round"] for r in recs))
        return
    made = []
    if a.disk_dir is None:
        a.disk_dir = tempfile.mkdtemp(prefix="trireme-peers.", dir="/var/tmp")
        made.append(a.disk_dir)
    if a.tmpfs_dir is None:
        a.tmpfs_dir = tempfile.mkdtemp(prefix="trireme-peers.", dir="/dev/shm")
        made.append(a.tmpfs_dir)
    runner = Runner(a)
    print("peers: data on disk in %s, on tmpfs in %s; Trireme --sync: %s" % (
        a.disk_dir, a.tmpfs_dir, "yes" if runner.has_sync else "n/a"), file=sys.stderr)
    recs = []
    groups = runner.groups()
    try:
        for rnd in range(1, a.rounds + 1):
            # Rotate the order: each system runs early in one round, late in another.
            k = (rnd - 1) * len(groups) // max(1, a.rounds)
            for system, storage, writers in groups[k:] + groups[:k]:
                runner.run_group(rnd, system, storage, writers, recs)
    finally:
        for d in made:
            shutil.rmtree(d, ignore_errors=True)
    with open(os.path.join(a.out, "peers.jsonl"), "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    write_summary(a.out, recs, a.rounds)


def write_summary(out, recs, rounds):
    """peers.csv, peers-summary.json, peers.dat and table.md from the runs."""
    fields = ["round", "system", "storage", "writers", "window", "commits_per_s", "p50_us",
              "p99_us", "errors", "records_per_sync", "sync_us", "loadavg_before", "loadavg_after", "cpu_busy_pct",
              "cpu_steal_pct", "na"]
    with open(os.path.join(out, "peers.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in recs:
            w.writerow(r)
    s = summarize(recs)
    with open(os.path.join(out, "peers-summary.json"), "w") as f:
        json.dump({"%s/%s/%d/%d" % k: v for k, v in s.items()}, f, indent=1)
    with open(os.path.join(out, "peers.dat"), "w") as f:
        f.write("# system  commits/s(w1) commits/s(w128) p50_us(w1) p50_us(w128) "
                "p99_us(w1) p99_us(w128); medians, NaN: not run\n")
        for key, label in LABEL.items():
            v = [s.get(key + (w,), {}) for w in WINDOWS]
            if not any("commits_per_s" in x for x in v):
                continue
            cols = [x.get(f, "NaN") for f in ("commits_per_s", "p50_us", "p99_us") for x in v]
            f.write('"%s" %s\n' % (label.replace("--sync ", ""), " ".join(str(c) for c in cols)))
    t = table(s, recs, rounds)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(t)
    print(t)


if __name__ == "__main__":
    main()
