#!/usr/bin/env python3
"""qtest_images.py DIR - the images the IDE/ATAPI/FDC harness scripts
(tests/harness/scripts/ide-*, atapi-*, fdc-cve-*) name by relative path:

  qt-disk.img  1 MiB raw disk; sector N holds N as a 32-bit little-endian
               number, then 0xa5 bytes
  qt-cd.iso    64 CD sectors of 2048 bytes; sector N holds N, then 0x5a
  qt-fd.img    1.44 MB floppy; 512-byte sector N holds N, then 0xf0

The scripts read these values back to prove a normal command still works
after a CVE trigger.
"""
import os
import struct
import sys


def write(path, sectors, size, fill):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        for n in range(sectors):
            f.write(struct.pack("<I", n) + bytes([fill]) * (size - 4))
    os.replace(tmp, path)


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    write(os.path.join(d, "qt-disk.img"), 2048, 512, 0xa5)
    write(os.path.join(d, "qt-cd.iso"), 64, 2048, 0x5a)
    write(os.path.join(d, "qt-fd.img"), 2880, 512, 0xf0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
