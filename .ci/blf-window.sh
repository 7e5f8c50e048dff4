#!/usr/bin/env bash
# The busy-lamp field in the window: the mock FreeSWITCH plays fixtures/scenarios/blf.toml,
# the daemon shows fixtures/config/blf.toml's BLF page in the window backend under a virtual X
# server, and the window is screenshotted while it runs. Fails unless lit LEDs show. The
# README's screenshot is this script's output: bash .ci/blf-window.sh docs/blf-window.png
#
# Usage: .ci/blf-window.sh [OUTPUT_PNG]   (default: target/blf-window/blf-window.png)
# Needs root (or the packages already installed) for apt-get, as .ci/window-check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

shot="${1:-target/blf-window/blf-window.png}"
mkdir -p "$(dirname "$shot")"
trap '[ -n "${mock:-}" ] && kill "$mock" 2>/dev/null || true' EXIT

if ! command -v xvfb-run >/dev/null || ! command -v import >/dev/null || ! command -v xwininfo >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends xvfb imagemagick x11-apps x11-utils
fi
magick=""
for c in convert-im6.q16 magick convert-im6; do
    if command -v "$c" >/dev/null; then magick="$c"; break; fi
done
[ -n "$magick" ] || { echo "blf window: no ImageMagick converter" >&2; exit 1; }

cargo build --bin eslmatrix
bin="${CARGO_TARGET_DIR:-target}/debug/eslmatrix"

# The config's server: the mock on its port.
"$bin" mock-fs --scenario fixtures/scenarios/blf.toml --listen 127.0.0.1:18021 --seed 1 &
mock=$!
sleep 1

# Eight modules at 12 pixels per LED: the window alone is shot, found by its title.
rm -f "$shot"
xvfb-run -a -s "-screen 0 1024x200x24" bash -c '
    shot="$1"; shift
    "$@" &
    app=$!
    sleep 4
    id=$(xwininfo -root -tree | awk "/\"eslmatrix/ {print \$1; exit}")
    import -window "${id:-root}" "$shot" || echo "blf window: import failed" >&2
    wait "$app"
' blf-window "$shot" "$bin" run --config fixtures/config/blf.toml --backend window:12 --seconds 7
[ -s "$shot" ] || { echo "blf window: no screenshot taken" >&2; exit 1; }

lit=$("$magick" "$shot" -depth 8 rgb:- | python3 -c '
import sys
data = sys.stdin.buffer.read()
print(sum(1 for i in range(0, len(data) - 2, 3) if data[i] > 180 and data[i + 1] < 90))
')
echo "blf window: $lit red LED pixels in $shot"
[ "$lit" -gt 0 ] || { echo "blf window: FAILED, no lit LEDs" >&2; exit 1; }
