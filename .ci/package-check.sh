#!/usr/bin/env bash
# CI package check: builds the host .deb with cargo-deb, lists it, installs it with dpkg on
# this machine, and checks what a Pi user gets: the binary on the PATH, the installed config
# accepted by `run --check`, the systemd unit valid, the service account in group spi.
# Needs root (dpkg -i, apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo_deb_version=3.8.0
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $cargo_deb_version" ]; then
    cargo install --locked --version "$cargo_deb_version" cargo-deb
fi
if ! command -v systemd-analyze >/dev/null || ! command -v systemd-sysusers >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends systemd
fi

echo "== package: build"
cargo deb
deb=$(ls -t "${CARGO_TARGET_DIR:-target}"/debian/eslmatrix_*.deb | head -n 1)
echo "== package: contents of $deb"
dpkg-deb -c "$deb"
contents=$(dpkg-deb -c "$deb")
for path in ./usr/bin/eslmatrix ./etc/eslmatrix/eslmatrix.toml ./usr/lib/systemd/system/eslmatrix.service \
    ./usr/lib/sysusers.d/eslmatrix.conf ./usr/share/doc/eslmatrix/raspberry-pi.md; do
    grep -q " $path\$" <<<"$contents" || { echo "package check: $path missing" >&2; exit 1; }
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/eslmatrix/eslmatrix.toml ||
    { echo "package check: the config is not a conffile" >&2; exit 1; }

echo "== package: install"
dpkg -i "$deb"
/usr/bin/eslmatrix --version
id -nG eslmatrix | grep -qw spi || { echo "package check: user eslmatrix is not in group spi" >&2; exit 1; }
echo "== package: the installed config"
check=$(/usr/bin/eslmatrix run --check --config /etc/eslmatrix/eslmatrix.toml)
echo "$check"
grep -qx 'output: spidev:/dev/spidev0.0 (\[output\] backend)' <<<"$check" ||
    { echo "package check: the installed config does not drive the SPI chain" >&2; exit 1; }
echo "== package: the unit"
systemd-analyze verify /usr/lib/systemd/system/eslmatrix.service
echo "== cargo install --path . (the README's way onto the PATH)"
root=$(mktemp -d)
cargo install --locked --path . --root "$root"
"$root/bin/eslmatrix" --version
rm -rf "$root"
echo "== package: ok"
