#!/usr/bin/env bash
# Whole-process figures for `eslmatrix calls` (the terminal call view) against the mock
# FreeSWITCH holding 1000 concurrent calls and 5000 registrations, plus generated office
# traffic for churn (CPM calls a minute among 200 more phones):
#   1. resident memory (VmRSS, VmHWM) once every call is up and drawn;
#   2. CPU (utime + stime) over SECS seconds at that load: the seconds tick, the list
#      redrawn on news, every channel event applied.
# The view runs in a tmux pane of 80x24 (it needs a terminal to run its live loop).
# Usage: benches/calls-view.sh            (from the repository root; builds --release first)
#        SECS=60 CPM=600 benches/calls-view.sh   (60 s includes the minutely rebuild)
#        CALLS=0 USERS=0 CPM=0 benches/calls-view.sh   (the idle view, for comparison)
# Needs Linux (/proc) and tmux. Prints one line per figure and the view's status line.
set -euo pipefail

cd "$(dirname "$0")/.."
SECS=${SECS:-20}
CPM=${CPM:-120}
CALLS=${CALLS:-1000}
USERS=${USERS:-5000}
port="${ESLMATRIX_BENCH_PORT:-18031}"
cargo build --release --quiet
bin="$(pwd)/${CARGO_TARGET_DIR:-target}/release/eslmatrix"
work="$(mktemp -d)"
session="eslmatrix-calls-bench-$$"
pids=()
cleanup() {
    tmux kill-session -t "$session" 2>/dev/null || true
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# USERS (5000) phones register within 5 s; from 6 s on, CALLS (1000) calls between them
# start 50 ms apart (20 a second, some 300 channel events a second: 50 s for 1000), ring
# 1 s, are answered and talk for 10 minutes.
python3 - "$work/load.toml" "$CPM" "$CALLS" "$USERS" <<'PY'
import sys
path, cpm, calls, users = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
out = ['name = "calls-view-load"']
if cpm > 0:
    out += ["[generator]", "seed = 7", f"calls_per_minute = {cpm}", "users = 200", 'duration = "1h"']
for i in range(users):
    out += ["[[step]]", f'at = "{i}ms"', 'action = "register"', f'user = "{10000 + i}"',
            'user_agent = "Yealink SIP-T46S 66.86.0.15"']
for i in range(calls):
    out += ["[[step]]", f'at = "{6000 + 50 * i}ms"', 'action = "call"', f'from = "{10000 + i}"',
            f'to = "{10000 + (i + users // 2) % users}"', f'caller_name = "Caller {i}"', 'ring_for = "1s"',
            'outcome = "answer"', 'talk_for = "10m"']
open(path, "w").write("\n".join(out) + "\n")
PY

"$bin" mock-fs --listen "127.0.0.1:$port" --scenario "$work/load.toml" >/dev/null 2>&1 &
pids+=($!)
sleep 1

ramp=$((CALLS / 20 + 10))
tmux new-session -d -s "$session" -x 80 -y 24 \
    "exec '$bin' calls --server 127.0.0.1:$port --seconds $((ramp + SECS + 30))"
view="$(tmux list-panes -t "$session" -F '#{pane_pid}')"
# Every call is up 57 s after the mock started; a little more for the view to follow.
sleep "$ramp"

ticks="$(getconf CLK_TCK)"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
before="$(cpu_ticks "$view")"
sleep "$SECS"
after="$(cpu_ticks "$view")"
rss="$(awk '/VmRSS/ {print $2}' "/proc/$view/status")"
hwm="$(awk '/VmHWM/ {print $2}' "/proc/$view/status")"
status="$(tmux capture-pane -p -t "$session" | grep -v '^\s*$' | tail -1)"
echo "eslmatrix calls, 80x24, $CALLS concurrent calls + $USERS registrations + $CPM calls/min:"
echo "  status line: $status"
echo "  memory: VmRSS ${rss} kB, VmHWM ${hwm} kB (target <= 32768 kB)"
awk -v t="$((after - before))" -v hz="$ticks" -v s="$SECS" \
    'BEGIN { printf "  cpu: %.2f %% of one core over %d s (%d ticks at %d Hz; target <= 2 %%)\n", 100 * t / hz / s, s, t, hz }'
