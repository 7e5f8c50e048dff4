#!/usr/bin/env bash
# CI window check: runs the window backend under a virtual X server, screenshots the
# screen while it runs, and fails unless red LEDs are lit in the screenshot. Proves that
# the minifb window opens, is pumped on the main thread and shows the worker's frames.
#
# Usage: .ci/window-check.sh [OUTPUT_DIR]   (default: target/window-check)
# Needs root (or the packages already installed) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

out_dir="${1:-target/window-check}"
mkdir -p "$out_dir"
shot="$out_dir/shot.png"
rm -f "$shot"

echo "== window check: tools"
if ! command -v xvfb-run >/dev/null || ! command -v import >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends xvfb imagemagick x11-apps
fi
# `convert` may be something else on the PATH; use ImageMagick's own names.
magick=""
for c in convert-im6.q16 magick convert-im6; do
    if command -v "$c" >/dev/null; then magick="$c"; break; fi
done
if [ -z "$magick" ]; then
    echo "window check: no ImageMagick converter (convert-im6.q16 or magick)" >&2
    exit 1
fi

echo "== window check: build"
cargo build --bin eslmatrix
bin="${CARGO_TARGET_DIR:-target}/debug/eslmatrix"

# The README's first command, in its window: the mock FreeSWITCH, the daemon and the LEDs.
cmd=("$bin" demo --backend window --seconds 6)

echo "== window check: eslmatrix ${cmd[*]:1} under Xvfb"
# Inside the X session: start the program, screenshot the root window after ~3 s, then
# wait for the program; its exit status is the session's.
xvfb-run -a -s "-screen 0 1024x300x24" bash -c '
    shot="$1"; shift
    "$@" &
    app=$!
    sleep 3
    import -window root "$shot" || echo "window check: import failed" >&2
    wait "$app"
' window-check "$shot" "${cmd[@]}"

if [ ! -s "$shot" ]; then
    echo "window check: no screenshot taken" >&2
    exit 1
fi

# Count lit-LED pixels: strongly red, little green.
lit=$("$magick" "$shot" -depth 8 rgb:- | python3 -c '
import sys
data = sys.stdin.buffer.read()
print(sum(1 for i in range(0, len(data) - 2, 3) if data[i] > 180 and data[i + 1] < 90))
')
echo "window check: $lit red LED pixels in $shot"
if [ "$lit" -eq 0 ]; then
    echo "window check: FAILED, no lit LEDs on screen" >&2
    exit 1
fi
echo "== window check: ok"
