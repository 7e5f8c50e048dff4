#!/bin/sh
# Whole-process memory of `eslmatrix mock-fs` under load: SUBSCRIBERS clients of
# `event plain ALL` that read everything, one client that subscribes and never reads,
# and generated office traffic (USERS phones, CPM calls a minute). Prints the mock's RSS
# each 5 s, its median and peak while loaded, what became of the stuck client, the
# events the readers got per second, and the RSS once every client has left.
#
#   benches/mock-rss.sh                      # 500 readers, 2000 phones, 600 calls/min, 60 s
#   SUBSCRIBERS=100 SECS=30 benches/mock-rss.sh
set -eu
cd "$(dirname "$0")/.."
SUBSCRIBERS=${SUBSCRIBERS:-500}
USERS=${USERS:-2000}
CPM=${CPM:-600}
SECS=${SECS:-60}
PORT=${PORT:-18021}
cargo build --release --quiet
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/load.toml" <<EOF
name = "rss-load"
[generator]
seed = 7
calls_per_minute = $CPM
users = $USERS
duration = "1h"
EOF
target/release/eslmatrix mock-fs --listen "127.0.0.1:$PORT" --scenario "$work/load.toml" \
    --heartbeat 1 --max-connections $((SUBSCRIBERS + 16)) >"$work/mock.out" 2>"$work/mock.err" &
pid=$!
python3 - "$pid" "$PORT" "$SUBSCRIBERS" "$SECS" <<'PY'
import selectors, socket, statistics, sys, time

pid, port, n, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def rss_mib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", port)).close()
        break
    except OSError:
        time.sleep(0.1)
time.sleep(0.5)

def client(rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.sendall(b"auth ClueCon\n\nevent plain ALL\n\n")
    return s

stuck = client(rcvbuf=4096)
sel = selectors.DefaultSelector()
readers = []
for _ in range(n):
    s = client()
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    readers.append(s)
buf = bytearray(1 << 20)
events = 0
samples = []
start = time.time()
next_sample = start
while time.time() - start < secs:
    for key, _ in sel.select(timeout=0.2):
        try:
            got = key.fileobj.recv_into(buf)
        except BlockingIOError:
            continue
        if got == 0:
            sel.unregister(key.fileobj)
            continue
        events += bytes(buf[:got]).count(b"Content-Type: text/event-plain")
    now = time.time()
    if now >= next_sample:
        samples.append(rss_mib())
        print(f"  t={now - start:5.1f}s  RSS {samples[-1]:6.1f} MiB", flush=True)
        next_sample += 5
elapsed = time.time() - start
alive = len(sel.get_map())
stuck.setblocking(False)
tail = b""
try:
    while True:
        chunk = stuck.recv(1 << 20)
        if not chunk:
            break
        tail = (tail + chunk)[-200:]
except BlockingIOError:
    pass
fate = "killed (lost events)" if b"killed listener because of lost events" in tail else "still connected"
loaded = samples[1:] or samples
print(f"loaded: RSS median {statistics.median(loaded):.1f} MiB, peak {max(samples):.1f} MiB")
print(f"readers still connected: {alive} of {n}; events delivered to them: {events / elapsed:,.0f}/s")
print(f"the client that never read: {fate}")
for s in readers:
    s.close()
stuck.close()
time.sleep(3)
print(f"after every client left: RSS {rss_mib():.1f} MiB")
PY
