#!/usr/bin/env python3
"""The anchor for benches/frame.rs: luma.led_matrix's cost per scrolled frame.

Scrolls a status line the way luma.core's show_message does (a viewport over the rendered
text, one set_position per frame, each a full device.display()), into a serial interface that
discards the bytes, and prints the median time per frame for 4 and 16 modules and each
block_orientation. Needs `pip install luma.led_matrix==1.9.0`; runs without a Pi.

Usage: python3 benches/luma_anchor.py [--json]
"""
import json
import statistics
import sys
import time

from luma.core.interface.serial import noop
from luma.core.legacy import text, textsize
from luma.core.legacy.font import CP437_FONT, proportional
from luma.core.render import canvas
from luma.core.virtual import viewport
from luma.led_matrix.device import max7219

MESSAGE = "12 calls  34 reg  up 3d 04:05"
ROUNDS = 7


def per_frame_us(modules, orientation):
    device = max7219(noop(), cascaded=modules, block_orientation=orientation)
    font = proportional(CP437_FONT)
    w, _ = textsize(MESSAGE, font)
    virtual = viewport(device, width=w + 2 * device.width, height=device.height)
    with canvas(virtual) as draw:
        text(draw, (device.width, 0), MESSAGE, fill="white", font=font)
    steps = w + device.width + 1
    rounds = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for i in range(steps):
            virtual.set_position((i, 0))
        rounds.append((time.perf_counter() - start) / steps * 1e6)
    return statistics.median(rounds)


def main():
    results = {}
    for modules in (4, 16):
        for orientation in (0, 90, -90, 180):
            results[f"bo{orientation}/{modules}"] = per_frame_us(modules, orientation)
    if "--json" in sys.argv:
        print(json.dumps(results))
    else:
        for name, us in results.items():
            print(f"luma scrolled_frame/{name}: {us:.1f} µs")


if __name__ == "__main__":
    main()
