#!/usr/bin/env bash
# Measures eslmatrix's and luma.led_matrix's cost per scrolled frame in one run on this
# machine, and prints both with their ratio. Installs luma.led_matrix 1.9.0 with pip if it
# is missing. Usage: benches/compare-luma.sh
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -c "import luma.led_matrix" 2>/dev/null || pip install --quiet "luma.led_matrix==1.9.0"

ours=$(cargo bench --bench frame -- scrolled_frame --warm-up-time 1 --measurement-time 3 \
    --output-format bencher 2>/dev/null | grep '^test ')
luma=$(python3 benches/luma_anchor.py --json)

printf '%-22s %14s %14s %10s\n' "scrolled frame" "eslmatrix" "luma 1.9" "ratio"
while read -r _ name _ _ ns _; do
    key=${name#scrolled_frame/}
    ns=${ns//,/}
    us=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$luma" "$key")
    python3 -c "
import sys
ns, us, key = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
print(f'{key:<22} {ns:>11.0f} ns {us:>11.1f} µs {us * 1000 / ns:>9.0f}×')" "$ns" "$us" "$key"
done <<< "$ours"
