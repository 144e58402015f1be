#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 17's three attacks as an attacker on the replicas' network would
mount them: well-formed frames (Ethernet/IPv4/UDP, the engine's frame format
of engine/wire.h with its CRC32C) with hostile values, sent from a raw
socket with a peer's source IP.

It first listens on the interface for a moment (it runs in a replica's
namespace: it sees that replica's traffic both ways) to learn each column's
highest lsn and each replica's incarnation, then aims at the next slots:

  a  COMMITs with deps = 2^48 in every column, in every column, to replica 0
     (in the name of replica 1)
  b  ACCEPTs at ballot n = 2^30 in column 0, to replicas 1 and 2 (in the
     name of its owner, replica 0)
  c  COMMITs carrying a client command in column 0: in the name of replica
     2 as proposer, to replicas 0 and 1 (V1), and in the owner's name to the
     owner (V2)

--auth adds a 16-byte tag of random bytes (an attacker without the key).
Prints one line: the frames sent by attack. Needs CAP_NET_RAW.

  inject_hostile.py --iface trv --attack a [--attack b ...] [--auth]
"""
import argparse
import os
import re
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
CLUSTER_ID = 0x7472
LSN_MAX = 1 << 48
BALLOT_N_MAX = 1 << 30
MSG_ACCEPT, MSG_ACCEPT_REPLY, MSG_COMMIT, MSG_FETCH_REPLY, MSG_COMMIT_REF = 1, 2, 3, 5, 0x83
# The codec's version, from the source it tests.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../engine/wire.h")) as f:
    WIRE_VERSION = int(re.search(r"#define TR_WIRE_VERSION (\d+)", f.read()).group(1))
WINDOW = 24  # slots past the highest lsn seen


def crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def ip_checksum(hdr):
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac(i):
    return bytes([2, 0, 0, 0, 0, i])


def ip(i):
    return bytes([10, 0, 0, i + 1])


def packet(src_mac, frm, to, column, payload, port_base):
    udp = struct.pack("!HHHH", port_base + 16 + frm, port_base + column, 8 + len(payload), 0)
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + len(payload), 0, 0x4000,
                      64, 17, 0, ip(frm), ip(to))
    iph = iph[:10] + struct.pack("!H", ip_checksum(iph)) + iph[12:]
    return mac(to) + src_mac + b"\x08\x00" + iph + udp + payload


def frame(frm, to, column, inc, msgs, auth):
    body = b"".join(msgs)
    length = 20 + len(body) + 4
    hdr = struct.pack("<BBBBIBBBBII", ord("T"), ord("3"), WIRE_VERSION, len(msgs), CLUSTER_ID,
                      frm, to, column, 0, length, inc)
    f = hdr + body
    f += struct.pack("<I", crc32c(f))
    return f + (os.urandom(16) if auth else b"")


def ballot(n, replica, inc):
    return struct.pack("<IBI", n, replica, inc)


def value(deps, proposer, cmds=b"", count=0):
    return struct.pack("<QQQBHI", deps[0], deps[1], deps[2], proposer, count, len(cmds)) + cmds


def command(key, val, client_id=99, seq=1):
    return struct.pack("<BBQQHI", 1, 8, client_id, seq, len(key), len(val)) + key + val


def commit(lsn, val):
    return struct.pack("<BQ", MSG_COMMIT, lsn) + val


def accept(lsn, b, val):
    return struct.pack("<BQ", MSG_ACCEPT, lsn) + b + ballot(0, 0, 0) + val


def learn(sock, seconds, port_base):
    """The highest lsn seen per column, the incarnation per replica."""
    lsn = [0, 0, 0]
    inc = [1, 1, 1]
    end = time.monotonic() + seconds
    sock.settimeout(0.05)
    while time.monotonic() < end:
        try:
            p = sock.recv(4096)
        except socket.timeout:
            continue
        if len(p) < 42 + 29 or p[12:14] != b"\x08\x00" or p[23] != 17:
            continue
        ihl = (p[14] & 0xF) * 4
        u = 14 + ihl
        col = struct.unpack("!H", p[u + 2:u + 4])[0] - port_base
        f = p[u + 8:]
        if not 0 <= col < 3 or f[:2] != b"T3" or f[2] != WIRE_VERSION or len(f) < 29:
            continue
        frm = f[8]
        if frm < 3:
            inc[frm] = max(inc[frm], struct.unpack("<I", f[16:20])[0])
        if f[20] in (MSG_ACCEPT, MSG_ACCEPT_REPLY, MSG_COMMIT, MSG_FETCH_REPLY, MSG_COMMIT_REF):
            lsn[col] = max(lsn[col], struct.unpack("<Q", f[21:29])[0])
    return lsn, inc


def attack_a(lsn, inc, auth):
    out = []
    for col in range(3):
        for s in range(lsn[col], lsn[col] + WINDOW):
            m = commit(s, value([LSN_MAX] * 3, col))
            out.append((1, 0, col, frame(1, 0, col, inc[1], [m], auth)))
    return out


def attack_b(lsn, inc, auth):
    out = []
    for to in (1, 2):
        for s in range(lsn[0] + 1, lsn[0] + 1 + WINDOW):
            m = accept(s, ballot(BALLOT_N_MAX, 0, inc[0]), value([s + 1, 0, 0], 0))
            out.append((0, to, 0, frame(0, to, 0, inc[0], [m], auth)))
    return out


def attack_c(lsn, inc, auth):
    out = []
    for s in range(lsn[0] + 1, lsn[0] + 1 + WINDOW):
        cmds = command(b"evil", b"v1", seq=s)
        for to in (0, 1):  # V1: a non-owner's commands
            m = commit(s, value([s + 1, 0, 0], 2, cmds, 1))
            out.append((2, to, 0, frame(2, to, 0, inc[2], [m], auth)))
        forged = command(b"evil", b"forged", seq=s)  # V2: in the owner's name
        m = commit(s, value([s + 1, 0, 0], 0, forged, 1))
        out.append((1, 0, 0, frame(1, 0, 0, inc[1], [m], auth)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--attack", action="append", choices="abc", required=True)
    ap.add_argument("--auth", action="store_true")
    ap.add_argument("--port-base", type=int, default=7400)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--src-mac", default="02:00:00:00:00:0a")
    args = ap.parse_args()
    src_mac = bytes(int(x, 16) for x in args.src_mac.split(":"))
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((args.iface, 0))
    build = {"a": attack_a, "b": attack_b, "c": attack_c}
    sent = {a: 0 for a in args.attack}
    lsn = inc = None
    for _ in range(args.rounds):
        lsn, inc = learn(sock, 0.3, args.port_base)
        for a in args.attack:
            for frm, to, col, payload in build[a](lsn, inc, args.auth):
                sock.send(packet(src_mac, frm, to, col, payload, args.port_base))
                sent[a] += 1
    print("inject: sent %s; last lsn seen %s, incarnations %s" % (
        ", ".join("%s %d" % (a, n) for a, n in sent.items()), lsn, inc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
