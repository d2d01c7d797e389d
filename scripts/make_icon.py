#!/usr/bin/env python3
"""Draws assets/natter.png (the app icon): a white speech bubble with three dots on a
teal-to-blue rounded square. Pure Python (zlib only), 4x4 supersampled, so it is sharp
small and needs nothing installed. Run from the repository root."""
import struct, zlib

SIZE = 256
SS = 4

def lerp(a, b, t):
    return tuple(int(a[i] + (b[i] - a[i]) * t) for i in range(3))

def in_round_rect(x, y, x0, y0, x1, y1, r):
    if x < x0 or x > x1 or y < y0 or y > y1:
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r

def in_triangle(x, y, a, b, c):
    def side(p, q):
        return (x - q[0]) * (p[1] - q[1]) - (p[0] - q[0]) * (y - q[1])
    d1, d2, d3 = side(a, b), side(b, c), side(c, a)
    neg = d1 < 0 or d2 < 0 or d3 < 0
    pos = d1 > 0 or d2 > 0 or d3 > 0
    return not (neg and pos)

DOTS = [((88, 120), (27, 111, 168)), ((128, 120), (34, 145, 166)), ((168, 120), (43, 179, 163))]

def sample(x, y):
    """Colour (r, g, b, a) at a point."""
    if not in_round_rect(x, y, 8, 8, 248, 248, 56):
        return (0, 0, 0, 0)
    bubble = in_round_rect(x, y, 36, 62, 220, 178, 28) or in_triangle(
        x, y, (84, 170), (122, 176), (70, 216))
    if bubble:
        for (cx, cy), colour in DOTS:
            if (x - cx) ** 2 + (y - cy) ** 2 <= 15 * 15:
                return colour + (255,)
        return (255, 255, 255, 255)
    return lerp((43, 179, 163), (27, 111, 168), y / SIZE) + (255,)

rows = []
for py in range(SIZE):
    row = bytearray([0])
    for px in range(SIZE):
        acc = [0, 0, 0, 0]
        for sy in range(SS):
            for sx in range(SS):
                r, g, b, a = sample(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS)
                acc[0] += r * a; acc[1] += g * a; acc[2] += b * a; acc[3] += a
        alpha = acc[3] / (SS * SS)
        if acc[3]:
            row += bytes([round(acc[0] / acc[3]), round(acc[1] / acc[3]), round(acc[2] / acc[3]), round(alpha)])
        else:
            row += bytes([0, 0, 0, 0])
    rows.append(bytes(row))

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
open("assets/natter.png", "wb").write(png)
print("wrote assets/natter.png")
