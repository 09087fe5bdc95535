#!/bin/sh
# Build the taxiterm Debian package (Architecture: all) with dpkg-deb, then check it with lintian.
#
#   packaging/build-deb.sh [OUT_DIR]        (make deb)  ->  OUT_DIR/taxiterm_VERSION-1_all.deb
#
# The firmware and the pure-Python libraries Debian lacks (packaging/vendor.txt, wheels from
# PyPI) go to /usr/share/taxiterm/slot; postinst copies that tree into the A/B slot layout
# /opt/taxiterm/slots/X (docs/updates.md). Everything else comes from Debian (Depends below).
# Env: PYTHON (a Python with pip; default .venv/bin/python), LINTIAN=0 to skip lintian.
set -eu

here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
out="${1:-$here/out}"
python="${PYTHON:-$here/.venv/bin/python}"
version="$("$python" -c 'import re,sys; print(re.search(r"__version__ = \"([^\"]+)\"", open("terminal/__init__.py").read()).group(1))')"
debversion="$version-1"
build="$here/build/deb"
stage="$build/root"
wheels="$build/wheels"

rm -rf "$build"
mkdir -p "$stage/DEBIAN" "$wheels" "$out"

echo "deb: firmware wheel and vendored wheels"
"$python" -m pip wheel -q --no-deps -w "$wheels" "$here"
grep -v '^#' packaging/vendor.txt | grep . > "$build/vendor.txt"
"$python" -m pip download -q --no-deps --only-binary=:all: -d "$wheels" -r "$build/vendor.txt"
for wheel in "$wheels"/*.whl; do
    case "$wheel" in
        *-py3-none-any.whl|*-py2.py3-none-any.whl) ;;
        *) echo "deb: $wheel is not pure Python; the package would not be Architecture: all" >&2; exit 1 ;;
    esac
done

slot="$stage/usr/share/taxiterm/slot"
"$python" -m pip install -q --no-deps --no-compile --target "$slot" "$wheels"/*.whl
rm -rf "$slot/bin"                                 # console scripts with this machine's python: unused
rm -rf "$slot/docs" "$slot/tests"                 # python-barcode's wheel carries its docs and tests at top level
# library modules are imported, never executed: their #! lines only mislead
grep -rlZ --include='*.py' '^#!' "$slot" | xargs -0 -r sed -i '1{/^#!/d}'
find "$slot" -name __pycache__ -prune -exec rm -rf {} +
find "$slot" -type f -exec chmod 0644 {} +
find "$slot" -type d -exec chmod 0755 {} +
# files of the vendored wheels' metadata that would only confuse a reader of the device
find "$slot" -path '*.dist-info/RECORD' -delete -o -path '*.dist-info/INSTALLER' -delete \
    -o -path '*.dist-info/REQUESTED' -delete -o -path '*.dist-info/direct_url.json' -delete

install -D -m 0755 packaging/taxiterm.sh "$stage/usr/bin/taxiterm"
install -D -m 0644 board/systemd/taxiterm.service "$stage/lib/systemd/system/taxiterm.service"
install -D -m 0644 board/systemd/taxiterm.tmpfiles "$stage/usr/lib/tmpfiles.d/taxiterm.conf"
install -D -m 0644 board/systemd/taxiterm.sysusers "$stage/usr/lib/sysusers.d/taxiterm.conf"
install -D -m 0644 board/systemd/taxiterm.default "$stage/etc/default/taxiterm"
install -D -m 0644 board/udev/60-taxiterm.rules "$stage/lib/udev/rules.d/60-taxiterm.rules"
doc="$stage/usr/share/doc/taxiterm"
install -D -m 0644 board/udev/61-taxiterm-ports.rules.example "$doc/examples/61-taxiterm-ports.rules"
install -D -m 0644 board/config/terminal.toml "$doc/examples/terminal.toml"
install -m 0644 README.md "$doc/README.md"
mkdir -p "$doc/docs"
install -m 0644 docs/*.md "$doc/docs/"
install -m 0644 packaging/debian/copyright "$doc/copyright"
install -D -m 0644 packaging/debian/lintian-overrides "$stage/usr/share/lintian/overrides/taxiterm"
mkdir -p "$stage/usr/share/man/man1"
gzip -9n -c packaging/debian/taxiterm.1 > "$stage/usr/share/man/man1/taxiterm.1.gz"
gzip -9n -c CHANGELOG.md > "$doc/changelog.gz"
cat > "$build/changelog.Debian" <<EOF
taxiterm ($debversion) bookworm; urgency=medium

  * Release $version of the firmware (see changelog.gz).

 -- $(git config user.name 2>/dev/null || echo taxiterm) <$(git config user.email 2>/dev/null || echo root@localhost)>  $(date -R -u -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
EOF
gzip -9n -c "$build/changelog.Debian" > "$doc/changelog.Debian.gz"

for script in postinst prerm postrm; do
    sed "s/@UPSTREAM_VERSION@/$version/" "packaging/debian/$script" > "$stage/DEBIAN/$script"
    chmod 0755 "$stage/DEBIAN/$script"
done
echo /etc/default/taxiterm > "$stage/DEBIAN/conffiles"

# Debian bookworm provides these; the firmware's pyproject minimums are met or checked at start
# (tests run against them in packaging/ci-check.sh).
depends="python3 (>= 3.11), adduser, init-system-helpers (>= 1.54), python3-serial (>= 3.5), python3-usb (>= 1.2),
 python3-qrcode (>= 7), python3-pil (>= 9.2), python3-cryptography (>= 38), python3-jsonschema (>= 4.10),
 python3-smbus2, python3-spidev, python3-cbor2, python3-six, python3-yaml, python3-appdirs, python3-colorzero"
installed="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
cat > "$stage/DEBIAN/control" <<EOF
Package: taxiterm
Version: $debversion
Architecture: all
Maintainer: $(git config user.name 2>/dev/null || echo taxiterm) <$(git config user.email 2>/dev/null || echo root@localhost)>
Installed-Size: $installed
Depends: $(echo "$depends" | tr "\n" " " | tr -s " " | sed "s/ $//")
Recommends: python3-lgpio, udev
Suggests: mosquitto-clients, i2c-tools
Section: misc
Priority: optional
Description: taxi onboard terminal firmware (taximeter, GNSS, sign, printer, alarm)
 The firmware of a taxi's onboard terminal on a Raspberry Pi: a taximeter
 metering from the speed-sensor pulses under an authority-signed tariff, a
 GNSS receiver, the rooftop sign (JT/T 905.2), an ESC/POS receipt printer,
 the hidden emergency alarm and MQTT reporting to the platform.
 .
 Installs the software into the A/B update slots under /opt/taxiterm, the
 taxiterm system user, the systemd service (sd_notify readiness and watchdog,
 update recovery before start) and udev rules for stable device names.
EOF
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort | xargs md5sum) \
    > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums" "$stage/DEBIAN/conffiles"

deb="$out/taxiterm_${debversion}_all.deb"
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}" \
    dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "deb: built $deb ($(du -k "$deb" | cut -f1) KiB)"

if [ "${LINTIAN:-1}" != 0 ]; then
    if command -v lintian >/dev/null 2>&1; then
        lintian --fail-on error "$deb"
        echo "deb: lintian found no errors"
    else
        echo "deb: lintian not installed (make deb-setup); not checked" >&2
        exit 1
    fi
fi
