#!/usr/bin/env bash
# Whole-process figures for `eslmatrix run` against the mock FreeSWITCH:
#   1. resident memory (VmRSS, VmHWM) after 10 s following the demo scenario;
#   2. CPU (utime + stime) over 10 s while text scrolls at 50 columns (frames) per second
#      on 4 modules.
# Usage: benches/daemon.sh            (from the repository root; builds --release first)
# Needs Linux (/proc). Prints one line per figure.
set -euo pipefail

cd "$(dirname "$0")/.."
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/eslmatrix"
port="${ESLMATRIX_BENCH_PORT:-18021}"
work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

"$bin" mock-fs --listen "127.0.0.1:$port" --scenario demo >/dev/null 2>&1 &
pids+=($!)
sleep 1

cat >"$work/scroll.toml" <<TOML
[[server]]
host = "127.0.0.1"
port = $port
[display]
cascaded = 4
[scroll]
speed = 50
delay = "0s"
[[page]]
template = "{calls} calls  {registrations} reg  {webrtc} WebRTC  up {uptime}  FreeSWITCH {version}"
TOML

ticks="$(getconf CLK_TCK)"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

"$bin" run --config "$work/scroll.toml" --backend virtual >/dev/null 2>&1 &
daemon=$!
pids+=("$daemon")
sleep 2
before="$(cpu_ticks "$daemon")"
sleep 10
after="$(cpu_ticks "$daemon")"
rss="$(awk '/VmRSS/ {print $2}' "/proc/$daemon/status")"
hwm="$(awk '/VmHWM/ {print $2}' "/proc/$daemon/status")"
echo "eslmatrix run, demo scenario, 4 modules scrolling at 50 frames/s:"
echo "  memory: VmRSS ${rss} kB, VmHWM ${hwm} kB (target <= 10240 kB)"
awk -v t="$((after - before))" -v hz="$ticks" \
    'BEGIN { printf "  cpu: %.2f %% of one core over 10 s (%d ticks at %d Hz; target <= 1 %%)\n", 100 * t / hz / 10, t, hz }'
