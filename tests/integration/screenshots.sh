#!/usr/bin/env bash
# Screenshots of the demo tenant page, desktop and phone, taken by headless
# Chromium through the real stack (nginx TLS -> responders -> PostgreSQL),
# so a person can look at them: tests/out/screenshots/*.png.
#
# Chromium trusts only the stack's own leaf certificate (pinned by its SPKI
# hash) and resolves only names under CANOPY_DOMAIN, all to 127.0.0.1;
# every other name fails to resolve, so nothing leaves the machine.
#
# Needs: CANOPY_SRC, CANOPY_DOMAIN, CANOPY_HTTPS_PORT, CANOPY_RUN (the
# stack's run dir, with tls/server.crt).  CANOPY_SCREENSHOT_URL overrides
# the page (e.g. a file:// URL to check this script alone).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

: "${CANOPY_SRC:?}" "${CANOPY_DOMAIN:?}" "${CANOPY_HTTPS_PORT:?}"
url=${CANOPY_SCREENSHOT_URL:-"https://demo.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT/"}
out="$CANOPY_SRC/tests/out/screenshots"
mkdir -p "$out"

browser=$(command -v chromium || command -v chromium-browser || true)
[[ -n $browser ]] || fail "chromium is not installed (apt-get install chromium)"

tls_flags=()
if [[ $url == https://* ]]; then
	spki=$(server_spki)
	[[ -n $spki ]] || fail "could not compute the SPKI hash of the server certificate"
	tls_flags=(--ignore-certificate-errors-spki-list="$spki")
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

# PNG width and height from the IHDR chunk (bytes 16..23, big-endian).
png_size() {
	od -An -tu1 -j16 -N8 "$1" |
		awk '{ printf "%d %d\n", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8 }'
}

# shoot NAME WIDTH HEIGHT: one window-sized screenshot.  A tall window
# stands in for a full-page capture.  Reduced motion makes the picture
# deterministic (no entrance animation caught half-way, nothing waiting
# to be revealed) without a virtual time budget, which a page holding an
# EventSource open could keep from ever running out.
shoot() {
	local name=$1 w=$2 h=$3 png="$out/$1.png" log="$out/$1.log"
	rm -f "$png"
	if ! timeout 120 "$browser" --headless --no-sandbox --disable-gpu \
		--disable-dev-shm-usage --disable-background-networking \
		--disable-component-update --disable-sync --disable-extensions \
		--disable-default-apps --disable-domain-reliability \
		--disable-client-side-phishing-detection --no-first-run \
		--no-default-browser-check --metrics-recording-only \
		--user-data-dir="$profile" --hide-scrollbars \
		--host-resolver-rules="MAP *.$CANOPY_DOMAIN 127.0.0.1, MAP $CANOPY_DOMAIN 127.0.0.1, MAP * ~NOTFOUND" \
		"${tls_flags[@]}" \
		--force-prefers-reduced-motion --window-size="$w,$h" \
		--screenshot="$png" "$url" >"$log" 2>&1; then
		tail -5 "$log" >&2
		fail "chromium failed on the $name screenshot (log: $log)"
	fi
	[[ -f $png ]] || fail "chromium wrote no $png (log: $log)"
	local bytes
	bytes=$(stat -c %s "$png")
	((bytes > 20000)) || fail "$png is only $bytes bytes: blank or error page?"
	read -r pw ph < <(png_size "$png")
	[[ $pw == "$w" && $ph == "$h" ]] || fail "$png is ${pw}x$ph, expected ${w}x$h"
	ok "$name screenshot ${w}x$h ($bytes bytes): $png"
}

shoot desktop 1366 900
shoot desktop-full 1366 3800
shoot phone 390 844
shoot phone-full 390 5600
