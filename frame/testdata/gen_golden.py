#!/usr/bin/env python3
"""Generate the golden frames in this directory with the chapter's code.

Run from this directory:  python3 gen_golden.py
The Go tests (golden_test.go) read the files and check that frame reads
them back and writes the same bytes. Payload byte i of a message of length n
is (i * 31 + n) % 251, which the Go test recomputes.
"""
import struct

LENGTHS = [0, 1, 255, 256, 65536, 1 << 20]


def payload(n: int) -> bytes:
    return bytes((i * 31 + n) % 251 for i in range(n))


def frame(msg: bytes) -> bytes:
    # Exactly what the chapter's send_message puts on the wire.
    return struct.pack("!I", len(msg)) + msg


def main() -> None:
    with open("chapter_frames.bin", "wb") as f:
        for n in LENGTHS:
            f.write(frame(payload(n)))
    # A stream cut inside a header, and one cut inside a payload.
    with open("chapter_cut_header.bin", "wb") as f:
        f.write(frame(payload(1)) + struct.pack("!I", 256)[:2])
    with open("chapter_cut_payload.bin", "wb") as f:
        f.write(frame(payload(1)) + frame(payload(256))[:100])
    # Claims that a reader must refuse without allocating: 2 GiB - 1 (the
    # largest length CPython's multiprocessing sends with a signed "!i")
    # and 4 GiB - 1 (the largest "!I").
    with open("chapter_claim_2gib.bin", "wb") as f:
        f.write(struct.pack("!I", 2**31 - 1) + payload(10))
    with open("chapter_claim_4gib.bin", "wb") as f:
        f.write(struct.pack("!I", 2**32 - 1) + payload(10))


if __name__ == "__main__":
    main()
