#!/usr/bin/python3
# A minimal NetBIOS name service responder for the interop tests (no
# nmbd on the test machines): it owns NAME ([00] and [20], unique) at
# ADDR, answers NAME QUERY requests for it and NODE STATUS requests, and,
# with --defend OTHER, answers registrations of OTHER with a negative
# registration response (ACT_ERR), as an owner of OTHER would.
# Written from RFC 1002 independently of Stapel's codec.
import socket
import struct
import sys


def first_level(raw):
    return bytes([32]) + bytes(c for b in raw for c in (0x41 + (b >> 4), 0x41 + (b & 15)))


def encode(name, suffix):
    return first_level(name.ljust(15).encode()[:15] + bytes([suffix])) + b"\0"


def question(b):
    """Returns (name, suffix, qtype, raw question name bytes) or None."""
    off = 12
    labels = []
    while True:
        if off >= len(b):
            return None
        n = b[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0:
            return None
        labels.append(b[off + 1 : off + 1 + n])
        off += 1 + n
    if not labels or len(labels[0]) != 32 or off + 4 > len(b):
        return None
    lab = labels[0]
    raw = bytes(((lab[2 * i] - 0x41) << 4) | (lab[2 * i + 1] - 0x41) for i in range(16))
    qtype = struct.unpack(">H", b[off : off + 2])[0]
    return raw[:15].decode("latin1").rstrip(" \0"), raw[15], qtype, b[12:off]


def main():
    name, addr = sys.argv[1].upper(), sys.argv[2]
    defend = sys.argv[4].upper() if len(sys.argv) > 4 and sys.argv[3] == "--defend" else None
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.bind(("", 137))
    print("ready", flush=True)
    while True:
        b, src = s.recvfrom(2048)
        if len(b) < 12 or src[0] == addr:
            continue
        tid, flags = struct.unpack(">HH", b[:4])
        opcode = (flags >> 11) & 15
        if flags & 0x8000:
            continue
        q = question(b)
        if q is None:
            continue
        qname, suffix, qtype, rawq = q
        print("request op=%d %s<%02X> type=%#x from %s" % (opcode, qname, suffix, qtype, src[0]), flush=True)
        if opcode == 0 and qtype == 0x20 and qname == name and suffix in (0x00, 0x20):
            rd = struct.pack(">H", 0) + socket.inet_aton(addr)
            hdr = struct.pack(">HHHHHH", tid, 0x8500, 0, 1, 0, 0)
            s.sendto(hdr + rawq + struct.pack(">HHIH", 0x20, 1, 300000, len(rd)) + rd, src)
        elif opcode == 0 and qtype == 0x21 and qname in ("*", name):
            names = [(name, 0x00, 0x0400), (name, 0x20, 0x0400), ("STAPELGRP", 0x00, 0x8400)]
            rd = bytes([len(names)])
            for n, sfx, f in names:
                rd += n.ljust(15).encode()[:15] + bytes([sfx]) + struct.pack(">H", f)
            rd += bytes([0x02, 0x00, 0x00, 0x00, 0x11, 0x22]) + bytes(40)
            hdr = struct.pack(">HHHHHH", tid, 0x8400, 0, 1, 0, 0)
            s.sendto(hdr + rawq + struct.pack(">HHIH", 0x21, 1, 0, len(rd)) + rd, src)
        elif opcode == 5 and defend and qname == defend:
            rd = struct.pack(">H", 0) + socket.inet_aton(addr)
            hdr = struct.pack(">HHHHHH", tid, 0x8000 | (5 << 11) | 0x0400 | 0x0100 | 0x0080 | 6, 0, 1, 0, 0)
            s.sendto(hdr + encode(defend, suffix) + struct.pack(">HHIH", 0x20, 1, 0, len(rd)) + rd, src)


if __name__ == "__main__":
    main()
