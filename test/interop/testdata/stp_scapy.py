#!/usr/bin/python3
"""Frame generator for the interop tests (run with Debian's /usr/bin/python3).

  stp_scapy.py malformed IFACE DSTMAC SRCMAC SRCIP DSTIP COUNT SEED
      send COUNT malformed frames (bounded, deterministic for a seed) and
      print one line per kind: "kind count".
  stp_scapy.py arp IFACE OP SRCMAC SENDERIP TARGETIP
      send one ARP request (OP=who-has) or reply (OP=is-at) from SRCMAC,
      broadcast, claiming SENDERIP.
"""
import random
import sys

from scapy.all import ARP, ICMP, IP, UDP, Ether, Raw, conf  # noqa: E402

conf.verb = 0


def malformed_kinds(dst, src, sip, dip):
    """Each kind maps (i, rnd) to the bytes of one Ethernet frame."""
    def eth(t=0x0800):
        return Ether(dst=dst, src=src, type=t)

    def ip(**kw):
        kw.setdefault("src", sip)
        kw.setdefault("dst", dip)
        return IP(**kw)

    def echo(i, n=32):
        return ICMP(type=8, id=0x5354, seq=i & 0xFFFF) / Raw(b"x" * n)

    def frag(i, rnd, off8, mf, data, ident):
        # A raw fragment of an ICMP datagram; scapy computes the IP checksum.
        return bytes(eth() / ip(id=ident, flags="MF" if mf else 0, frag=off8, proto=1) / Raw(data))

    def bad_arp(r):
        # A valid request with one of its fixed fields spoiled.
        b = bytearray(bytes(ARP(op=1, hwsrc=src, psrc=sip, pdst=dip)))
        field = r.randint(0, 3)
        if field == 0:
            b[2:4] = r.choice([b"\x86\xdd", b"\x00\x00"])  # protocol type
        elif field == 1:
            b[4] = r.choice([0, 8, 255])  # hardware length
        elif field == 2:
            b[5] = r.choice([0, 16, 255])  # protocol length
        else:
            b[6:8] = r.choice([b"\x00\x00", b"\x00\x03", b"\xff\xff"])  # opcode
        return bytes(b)

    def overlap(i, rnd):
        ident = 0x4000 + (i & 0x3FFF)
        first = bytes(echo(i, 40))
        # offset 0..48, then 8..56 with other bytes: an overlap.
        a = frag(i, rnd, 0, True, first[:48], ident)
        b = frag(i, rnd, 1, True, b"\xAA" * 48, ident)
        return a + b"|SPLIT|" + b

    return [
        # Total length larger than the frame.
        ("ip_len_too_big", lambda i, r: bytes(eth() / ip(len=1400) / echo(i))),
        # Total length smaller than the header.
        ("ip_len_below_ihl", lambda i, r: bytes(eth() / ip(len=r.randint(0, 19)) / echo(i))),
        # Header checksum wrong.
        ("ip_bad_checksum", lambda i, r: bytes(eth() / ip(chksum=0x1234) / echo(i))),
        # IHL below 5 or beyond the data.
        ("ip_bad_ihl", lambda i, r: bytes(eth() / ip(ihl=r.choice([0, 1, 3, 4, 15])) / Raw(b"\x08\x00" + b"\x00" * 6))),
        # Version not 4.
        ("ip_bad_version", lambda i, r: bytes(eth() / ip(version=r.choice([0, 5, 6, 15])) / echo(i))),
        # IP header cut short.
        ("ip_truncated", lambda i, r: bytes(eth()) + bytes(ip() / echo(i))[: r.randint(1, 19)]),
        # Option with length 0 or running past the header.
        ("ip_bad_option", lambda i, r: bytes(eth() / ip(options=[Raw(r.choice([b"\x07\x00\x00\x00", b"\x83\x27\x04\x00", b"\x44\x01\x05\x00"]))]) / echo(i))),
        # ICMP checksum wrong.
        ("icmp_bad_checksum", lambda i, r: bytes(eth() / ip() / ICMP(type=8, chksum=0xDEAD) / Raw(b"y" * 16))),
        # ICMP shorter than its 8-byte header.
        ("icmp_truncated", lambda i, r: bytes(eth() / ip(proto=1) / Raw(b"\x08\x00\x00"[: r.randint(1, 3)] + b"\x00" * r.randint(0, 4)))),
        # UDP checksum wrong, to the echo port.
        ("udp_bad_checksum", lambda i, r: bytes(eth() / ip() / UDP(sport=40000, dport=7, chksum=0xBEEF) / Raw(b"z" * 20))),
        # UDP length field larger than the datagram, or below 8.
        ("udp_bad_length", lambda i, r: bytes(eth() / ip() / UDP(sport=40000, dport=7, len=r.choice([0, 3, 7, 500, 65535])) / Raw(b"z" * 20))),
        # Overlapping fragments of one datagram (sent as two frames).
        ("frag_overlap", overlap),
        # A fragment whose end would pass 65535 bytes.
        ("frag_oversized", lambda i, r: frag(i, r, 8189, False, b"o" * 200, 0x8000 + (i & 0x3FFF))),
        # A non-last fragment whose length is not a multiple of 8.
        ("frag_odd_length", lambda i, r: frag(i, r, 0, True, b"q" * 13, 0xC000 + (i & 0x3FFF))),
        # ARP with wrong sizes, types or opcodes.
        ("arp_garbage", lambda i, r: bytes(eth(0x0806)) + bad_arp(r)),
        # ARP cut short.
        ("arp_truncated", lambda i, r: bytes(eth(0x0806)) + bytes(ARP(op=1, hwsrc=src, psrc=sip, pdst=dip))[: r.randint(0, 27)]),
        # Ethernet header and almost nothing else.
        ("tiny_frame", lambda i, r: bytes(eth(r.choice([0x0800, 0x0806, 0x88B5]))) + bytes(r.randint(0, 3))),
        # Random bytes after an IPv4 Ethernet header.
        ("ip_garbage", lambda i, r: bytes(eth()) + bytes(r.getrandbits(8) for _ in range(r.randint(1, 120)))),
    ]


def cmd_malformed(iface, dst, src, sip, dip, count, seed):
    rnd = random.Random(seed)
    kinds = malformed_kinds(dst, src, sip, dip)
    counts = {}
    frames = []
    for i in range(count):
        name, gen = kinds[i % len(kinds)]
        for f in gen(i, rnd).split(b"|SPLIT|"):
            frames.append(f)
        counts[name] = counts.get(name, 0) + 1
    s = conf.L2socket(iface=iface)
    try:
        for f in frames:
            s.send(Raw(f))
    finally:
        s.close()
    for name, _ in kinds:
        print(name, counts.get(name, 0))
    print("frames", len(frames))


def cmd_arp(iface, op, src, sender_ip, target_ip):
    opcode = {"who-has": 1, "is-at": 2}[op]
    f = Ether(dst="ff:ff:ff:ff:ff:ff", src=src) / ARP(op=opcode, hwsrc=src, psrc=sender_ip, pdst=target_ip)
    s = conf.L2socket(iface=iface)
    try:
        s.send(f)
    finally:
        s.close()


def main(argv):
    if len(argv) == 9 and argv[1] == "malformed":
        cmd_malformed(argv[2], argv[3], argv[4], argv[5], argv[6], int(argv[7]), int(argv[8]))
    elif len(argv) == 7 and argv[1] == "arp":
        cmd_arp(*argv[2:])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
