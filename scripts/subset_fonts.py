#!/usr/bin/env python3
"""Builds the compact fonts in assets/fonts/ from Debian's Noto and DejaVu packages.

  apt-get download fonts-noto-core fonts-noto-cjk && dpkg-deb -x ... (see README "Fonts")
  pip install fonttools
  python3 scripts/subset_fonts.py NOTO_DIR DEJAVU_SANS_TTF

CJK: the common characters of GB2312, Big5 level 1, JIS X 0208 and KS X 1001 (about 16,000
ideographs, kana and Hangul syllables) plus CJK punctuation and full-width forms, from Noto Sans
CJK SC. Hebrew and Arabic: whole blocks with their shaping tables. Symbols: punctuation, arrows,
geometric shapes and other symbols from DejaVu Sans."""
import subprocess, sys

noto, dejavu = sys.argv[1], sys.argv[2]
out = "assets/fonts"

def chars_of(codec, lead_range, trail_range):
    found = set()
    for lead in lead_range:
        for trail in trail_range:
            try:
                found.update(bytes([lead, trail]).decode(codec))
            except UnicodeDecodeError:
                pass
    return found

cjk = set()
cjk |= chars_of("gb2312", range(0xA1, 0xF8), range(0xA1, 0xFF))
cjk |= chars_of("euc_jp", range(0xA1, 0xF5), range(0xA1, 0xFF))
cjk |= chars_of("euc_kr", range(0xA1, 0xFE), range(0xA1, 0xFF))
cjk |= chars_of("big5", range(0xA4, 0xC7), list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)))
ranges = [(0x3000, 0x303F), (0x3040, 0x30FF), (0x3130, 0x318F), (0xFF00, 0xFFEF)]
for lo, hi in ranges:
    cjk.update(chr(c) for c in range(lo, hi + 1))
cjk = {c for c in cjk if ord(c) > 0x2E7F}
with open("/tmp/cjk-chars.txt", "w", encoding="utf-8") as f:
    f.write("".join(sorted(cjk)))
print(f"CJK characters: {len(cjk)}")

def subset(src, dst, *args):
    subprocess.run(["pyftsubset", src, f"--output-file={out}/{dst}", "--no-hinting", *args],
                   check=True)

subset(f"{noto}/opentype/noto/NotoSansCJK-Regular.ttc", "NotoSansCJKsc-subset.otf",
       "--font-number=2", "--text-file=/tmp/cjk-chars.txt", "--layout-features=*")
subset(f"{noto}/truetype/noto/NotoSansHebrew-Regular.ttf", "NotoSansHebrew-Regular.ttf",
       "--unicodes=U+0590-05FF,U+FB1D-FB4F,U+200C-200F,U+0020-007E", "--layout-features=*")
subset(f"{noto}/truetype/noto/NotoSansArabic-Regular.ttf", "NotoSansArabic-subset.ttf",
       "--unicodes=U+0600-06FF,U+0750-077F,U+FB50-FDFF,U+FE70-FEFF,U+200C-200F,U+0020-007E",
       "--layout-features=*")
subset(dejavu, "DejaVuSans-symbols.ttf",
       "--unicodes=U+2000-2BFF,U+00A0-024F,U+0370-03FF,U+0400-04FF", "--layout-features=*")
