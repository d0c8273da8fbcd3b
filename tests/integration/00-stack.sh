#!/usr/bin/env bash
# The stack itself: TLS with the local CA, nginx's routing by Host, its
# headers, static assets, body and rate limits, and nchan.  What the
# responder renders is tested by the later scripts.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

D=$CANOPY_DOMAIN
P=$CANOPY_HTTPS_PORT
DEMO="https://demo.$D:$P"
PLATFORM="https://$D:$P"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- TLS ----------------------------------------------------------------------
get "$DEMO/healthz" -o /dev/null || fail "certificate for demo.$D does not verify against the CA"
get "$PLATFORM/healthz" -o /dev/null || fail "certificate for $D does not verify against the CA"
ok "certificate verifies against the local CA for demo.$D and $D"

# Two labels below the domain are outside the wildcard: curl must refuse.
rc=0
curl -sS -o /dev/null --max-time 10 --cacert "$CANOPY_CA" \
	--resolve "a.b.$D:$P:127.0.0.1" "https://a.b.$D:$P/" 2>"$tmp/err" || rc=$?
[[ $rc == 60 ]] || fail "a.b.$D: want curl's certificate error 60, got $rc ($(cat "$tmp/err"))"
ok "a name outside the wildcard (a.b.$D) fails verification"

openssl x509 -in "$CANOPY_RUN/tls/server.crt" -noout -text >"$tmp/cert"
grep -q "DNS:\*\.$D, DNS:$D" "$tmp/cert" || fail "certificate SANs are not *.$D and $D"
grep -q 'TLS Web Server Authentication' "$tmp/cert" || fail "certificate lacks the serverAuth EKU"
ok "certificate has SANs *.$D and $D and the serverAuth EKU"

[[ $(_curl "$DEMO/healthz" -o /dev/null -w '%{http_version}') == 2 ]] || fail "HTTP/2 not negotiated"
ok "HTTP/2 over TLS"

code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --max-time 10 \
	--resolve "demo.$D:$P:127.0.0.1" "http://demo.$D:$P/x?y=1") || true
[[ $code == "301 https://demo.$D:$P/x?y=1" ]] || fail "plain HTTP on the TLS port: got '$code'"
ok "plain HTTP sent to the TLS port is redirected to https"

# --- health on both kinds of host ---------------------------------------------
[[ $(status_of "$DEMO/healthz") == 200 ]] || fail "/healthz on a tenant host is not 200"
[[ $(status_of "$PLATFORM/healthz") == 200 ]] || fail "/healthz on the platform host is not 200"
ok "/healthz answers 200 on a tenant host and on the platform host"

# --- headers ------------------------------------------------------------------
_curl "$DEMO/healthz" -o /dev/null -D "$tmp/h1"
_curl "$DEMO/healthz" -o /dev/null -D "$tmp/h2"
rid() { grep -i '^x-request-id:' "$1" | tr -d '\r' | sed 's/^[^:]*: *//'; }
[[ $(grep -ci '^x-request-id:' "$tmp/h1") == 1 ]] || fail "X-Request-Id must appear exactly once"
[[ $(rid "$tmp/h1") =~ ^[0-9a-f]{32}$ ]] || fail "X-Request-Id is not nginx's \$request_id: '$(rid "$tmp/h1")'"
[[ $(rid "$tmp/h1") != "$(rid "$tmp/h2")" ]] || fail "X-Request-Id repeats between requests"
ok "X-Request-Id present once, different on every request"

hsts=$(header_of "$DEMO/healthz" Strict-Transport-Security)
[[ $hsts == *max-age=* ]] || fail "HSTS missing on a tenant host"
[[ $(header_of "$PLATFORM/healthz" Strict-Transport-Security) == *max-age=* ]] ||
	fail "HSTS missing on the platform host"
ok "Strict-Transport-Security on TLS responses ($hsts)"

# --- static assets ------------------------------------------------------------
asset=$(find "$CANOPY_SRC/static" -maxdepth 1 -type f -regextype posix-extended \
	-regex '.*/[a-z0-9-]+\.(css|js|svg|png|webp|jpg|woff2)' | sort | head -n 1)
if [[ -z $asset ]]; then
	ok "static asset served with immutable caching # SKIP no file in static/"
else
	base=${asset##*/}
	url="$DEMO/assets/${base%.*}.0123456789abcdef.${base##*.}"
	get "$url" -D "$tmp/ah" -o "$tmp/asset" || fail "$url not served"
	cmp -s "$tmp/asset" "$asset" || fail "$url is not static/$base"
	grep -qi '^cache-control: public, max-age=31536000, immutable' "$tmp/ah" ||
		fail "asset lacks the immutable Cache-Control: $(grep -i '^cache-control' "$tmp/ah")"
	grep -qi '^x-content-type-options: nosniff' "$tmp/ah" || fail "asset lacks nosniff"
	grep -qi '^referrer-policy:' "$tmp/ah" || fail "asset lacks Referrer-Policy"
	grep -qi '^x-request-id:' "$tmp/ah" || fail "asset lacks X-Request-Id"
	grep -qi '^strict-transport-security:' "$tmp/ah" || fail "asset lacks HSTS"
	ok "static/$base served at a hashed URL with immutable caching and the security headers"
	css=$(find "$CANOPY_SRC/static" -maxdepth 1 -name '*.css' -size +1k | sort | head -n 1)
	if [[ -n $css ]]; then
		css=${css##*/}
		enc=$(header_of "$DEMO/assets/${css%.css}.0123456789abcdef.css" Content-Encoding \
			-H 'Accept-Encoding: gzip')
		[[ $enc == gzip ]] || fail "CSS not gzip-compressed (Content-Encoding '$enc')"
		ok "CSS is served gzip-compressed"
	fi
	[[ $(status_of "$DEMO/assets/${base%.*}.0123.${base##*.}") == 404 ]] ||
		fail "an asset URL without a 16-digit hash is not 404"
	[[ $(status_of "$DEMO/assets/no-such-file.0123456789abcdef.css") == 404 ]] ||
		fail "a missing asset is not 404"
	code=$(status_of "$DEMO/assets/..%2f..%2fnginx%2fcanopy.0123456789abcdef.css")
	[[ $code =~ ^4 ]] || fail "an encoded traversal under /assets/ gave $code"
	ok "malformed and missing asset URLs get 404"
fi

# Uploads are stored as <sha256>.<ext>; nginx serves those names only.
echo "media $$" >"$tmp/media_in"
media="$(sha256sum "$tmp/media_in" | cut -c1-64).png"
cp "$tmp/media_in" "$CANOPY_RUN/media/$media"
get "$DEMO/media/$media" -D "$tmp/mh" -o "$tmp/media" || fail "/media/$media not served"
rm -f "$CANOPY_RUN/media/$media"
cmp -s "$tmp/media" "$tmp/media_in" || fail "/media/$media has the wrong content"
grep -qi '^cache-control: public, max-age=31536000, immutable' "$tmp/mh" ||
	fail "/media/ lacks the immutable Cache-Control"
cp "$tmp/media_in" "$CANOPY_RUN/media/stack-test-$$.txt"
code=$(status_of "$DEMO/media/stack-test-$$.txt")
rm -f "$CANOPY_RUN/media/stack-test-$$.txt"
[[ $code == 404 ]] || fail "/media/ served a name that is not a content hash ($code)"
ok "uploaded media served from the run directory with immutable caching, by content-hash names only"

# --- Host routing -------------------------------------------------------------
code=$(status_of "$DEMO/" -H "Host: example.com")
[[ $code == 421 ]] || fail "a foreign Host gave $code, want 421 from the default server"
[[ -n $(header_of "$DEMO/" X-Request-Id -H "Host: example.com") ]] ||
	fail "the default server's answer lacks X-Request-Id"
ok "a foreign Host gets 421 from the default server"

long=$(printf 'a%.0s' {1..300})
nonascii=$(printf '\xd0\x96\xff')
for proto in --http1.1 --http2; do
	for host in "../" "../etc/passwd" "$long" "$long.$D" "$nonascii.$D" "" " " "-bad-.$D" \
		"a..b.$D" "demo.$D/../x" "demo.$D@evil" "demo_x.$D"; do
		code=$(status_of "$DEMO/" "$proto" -H "Host: $host")
		[[ $code =~ ^4[0-9][0-9]$ ]] || fail "Host '${host:0:40}' ($proto) gave $code, want a 4xx"
	done
done
ok "hostile Host headers get a 4xx over HTTP/1.1 and HTTP/2, never a 5xx"

# --- limits -------------------------------------------------------------------
head -c $((1536 * 1024)) /dev/zero >"$tmp/big"
for url in "$DEMO/" "$PLATFORM/" "$PLATFORM/api/v1/tenants"; do
	for proto in --http1.1 --http2; do
		code=$(status_of "$url" "$proto" -X POST --data-binary @"$tmp/big" \
			-H 'Content-Type: application/octet-stream')
		[[ $code == 413 ]] || fail "a 1.5 MB body to $url ($proto) gave $code, want 413"
	done
done
ok "request bodies over 1 MB get 413"

# A burst far above the per-IP rate: nginx answers 429 with its page.
# (Afterwards wait for the bucket to drain so later scripts are not
# limited.)
mkdir "$tmp/burst"
for ((i = 0; i < 1000; i++)); do
	printf 'url = "%s"\noutput = "%s"\n' "$DEMO/healthz" "$tmp/burst/$i"
done >"$tmp/burst.cfg"
curl -s --parallel --parallel-max 100 --max-time 60 --cacert "$CANOPY_CA" \
	--resolve "demo.$D:$P:127.0.0.1" -K "$tmp/burst.cfg" -w '%{http_code}\n' \
	>"$tmp/codes" 2>/dev/null || true
n429=$(grep -c '^429$' "$tmp/codes" || true)
n200=$(grep -c '^200$' "$tmp/codes" || true)
other=$(grep -vcE '^(200|429)$' "$tmp/codes" || true)
sleep 3
((n429 > 0 && n200 > 0)) || fail "1000 requests at once: $n200 × 200, $n429 × 429; want both"
((other == 0)) || fail "1000 requests at once: $other answers neither 200 nor 429: $(sort "$tmp/codes" | uniq -c | tr '\n' ' ')"
grep -lq 'Too many requests' "$tmp"/burst/* || fail "429 answers are not nginx's styled page"
ok "per-IP rate limit: a burst of 1000 requests gives $n200 × 200 and $n429 × 429 (styled page)"
get "$DEMO/healthz" -o /dev/null || fail "still limited 3 s after the burst"

# --- nchan --------------------------------------------------------------------
[[ $(status_of "$DEMO/pub/demo" -X POST -d 'hello') != 20[0-9] ]] ||
	fail "the nchan publisher answers on the public HTTPS port"
[[ $(status_of "$PLATFORM/pub/demo" -X POST -d 'hello') != 20[0-9] ]] ||
	fail "the nchan publisher answers on the platform host"
pub="http://127.0.0.1:$CANOPY_NCHAN_PORT"
[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$pub/") == 404 ]] ||
	fail "the publisher port serves something besides /pub/<channel>"
ok "the nchan publisher is reachable only on its loopback port"

msg="stack-test-$RANDOM$RANDOM"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST \
	-H 'Content-Type: text/plain' --data "$msg" "$pub/pub/demo") || true
[[ $code =~ ^20[0-9]$ ]] || fail "publishing to $pub/pub/demo gave $code"
# The newest message is delivered to a new subscriber; the stream stays
# open, so curl ends by its --max-time.
_curl "$DEMO/events" -N --max-time 1.5 -H 'Accept: text/event-stream' -o "$tmp/events" -D "$tmp/eh" 2>/dev/null || true
grep -qi '^content-type: text/event-stream' "$tmp/eh" || fail "/events is not an event stream"
grep -q "^data: $msg" "$tmp/events" || fail "the published message did not reach the demo tenant's /events"
_curl "https://tenant-1.$D:$P/events" -N --max-time 1 -H 'Accept: text/event-stream' -o "$tmp/other" 2>/dev/null || true
grep -q "$msg" "$tmp/other" && fail "another tenant's /events received the demo tenant's message"
ok "a message published on loopback reaches that tenant's /events (and only that tenant's)"

# --- the deployer's internal location -----------------------------------------
code=$(status_of "$DEMO/_deployer/healthz")
[[ $code == 404 ]] || fail "/_deployer/ on a tenant host gave $code, want the responder's 404"
code=$(status_of "$PLATFORM/_deployer/healthz")
if [[ -S $CANOPY_RUN/deployer.sock ]]; then
	[[ $code == 200 ]] || fail "/_deployer/healthz gave $code with the deployer running"
	ok "/_deployer/healthz reaches the deployer on the platform host only"
else
	[[ $code == 502 ]] || fail "/_deployer/healthz without a deployer gave $code, want 502"
	get "$PLATFORM/_deployer/healthz" -o "$tmp/502.html" 2>/dev/null || true
	grep -q 'temporarily unavailable' "$tmp/502.html" || fail "502 is not nginx's styled page"
	ok "/_deployer/ only on the platform host; no deployer gives the styled 502 page"
fi
