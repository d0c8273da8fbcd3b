#!/usr/bin/env bash
# First-party analytics and CORS through nginx over verified TLS.
#
# Beacons (POST /_e on a tenant host, lib/analytics.h) raise the counts in
# `events` and nothing else: no cookie, no CORS header, no line in nginx's
# access or error log (so no address is kept anywhere); bad kinds,
# foreign origins, other methods, oversized bodies and sites that are not
# up are refused; a flood from one address is cut by its own rate limit.
# The admin shows the counts on the tenant overview (totals, chart,
# table) and on the tenant list.  The JSON API echoes only Canopy's own
# origins (lib/cors.h) and answers their preflights; any other origin gets
# no CORS header and a refused preflight; the admin sends none at all.
#
# Addresses: sign-ins and beacon floods go out from 127.0.15.N (see
# helpers/admin.sh), so no other script's per-IP limits are touched.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

BASE="https://$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT"
A=stats-a-$$
B=stats-b-$$
D=stats-draft-$$
S=stats-gone-$$
OA=stats-owner-$$@example.com
OB=stats-other-$$@example.com
ADM=stats-ops-$$@example.com
PW_OA='stats owner staple 45'
PW_OB='stats other staple 45'
PW_ADM='stats operator staple 45'
ACCESS_LOG=$CANOPY_LOGS/nginx-access.log
ERROR_LOG=$CANOPY_LOGS/nginx-error.log
tmp=$(mktemp -d)

site() { echo "https://$1.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT"; }
SA=$(site "$A")

cleanup() {
	psql_q "DELETE FROM tenants WHERE slug IN ('$A', '$B', '$D', '$S')" >/dev/null 2>&1 || true
	drop_users "$OA" "$OB" "$ADM"
	rm -rf "$tmp"
}
trap cleanup EXIT

ADMIN_IP_NET=127.0.15
# shellcheck source=tests/integration/helpers/admin.sh
source "$(dirname "$0")/helpers/admin.sh"

sign_in() { # EMAIL PASSWORD: the session cookie, or the script fails
	local code
	code=$(login "$1" "$2")
	[[ $code == 303 && -s $tmp/cookie ]] || { echo "not ok - sign-in of $1: $code" >&2; exit 1; }
	cookie
}
# beacon SLUG BODY [curl args...]: the status of a beacon to that site,
# sent as sendBeacon sends a string (Content-Type: $CT when set); body in
# $tmp/body, headers in $tmp/h.
beacon() {
	local slug=$1 body=$2
	shift 2
	BASE=$(site "$slug") req POST /_e "" -H "Content-Type: ${CT:-text/plain;charset=UTF-8}" \
		--data-raw "$body" "$@"
}
count() { # SLUG KIND: today's count (UTC)
	psql_q "SELECT coalesce(sum(e.count), 0) FROM events e JOIN tenants t ON t.id = e.tenant_id
		WHERE t.slug = '$1' AND e.kind = '$2' AND e.day = (now() AT TIME ZONE 'UTC')::date"
}
no_header() { # NAME WHAT: the last answer has no such header
	[[ -z $(hdr "$1") ]] || fail "$2: has $1: $(hdr "$1")"
}
no_cors() { # WHAT: the last answer carries no Access-Control-* header
	! grep -qi '^access-control-' "$tmp/h" || fail "$1: CORS headers: $(grep -i '^access-control-' "$tmp/h")"
}
has_vary_origin() { # the last answer's Vary headers name Origin
	grep -i '^vary:' "$tmp/h" | grep -qi 'origin'
}

# --- tenants, people ---------------------------------------------------------------
# The pages are copies of the demo tenant's, which the stack seeds.
add_tenant() { # SLUG STATUS PUBLISHED
	psql_q "WITH t AS (INSERT INTO tenants (slug, name, status) VALUES ('$1', 'Stats $1', '$2') RETURNING id)
		INSERT INTO pages (tenant_id, json, is_published)
		SELECT t.id, p.json, $3 FROM t, pages p JOIN tenants d ON d.id = p.tenant_id
		 WHERE d.slug = 'demo'" >/dev/null
}
add_tenant "$A" active true
add_tenant "$B" active true
add_tenant "$D" active false
add_tenant "$S" suspended true
add_user() { # EMAIL NAME PASSWORD [--admin]
	printf '%s\n' "$3" | canopy user add --email "$1" --name "$2" ${4:+"$4"} \
		--password-stdin >/dev/null 2>"$tmp/cli.err" || fail "canopy user add $1: $(cat "$tmp/cli.err")"
}
add_user "$OA" "Stella Owner" "$PW_OA"
add_user "$OB" "Other Owner" "$PW_OB"
add_user "$ADM" "Opal Operator" "$PW_ADM" --admin
canopy user member --email "$OA" --tenant "$A" --role viewer >/dev/null 2>&1 || fail "member OA"
canopy user member --email "$OB" --tenant "$B" --role owner >/dev/null 2>&1 || fail "member OB"
ok "four tenants (published, published, draft, suspended), a viewer of A, an owner of B, an operator"

# --- the page sends them -----------------------------------------------------------
code=$(BASE=$SA req GET / "")
[[ $code == 200 ]] || fail "tenant page: $code"
has 'data-cta="hero"' && has 'data-cta="band"' || fail "the call-to-action links are not marked"
grep -qi "^content-security-policy:.*connect-src 'self'" "$tmp/h" ||
	fail "the CSP does not let the page post to its own host"
js=$(grep -o 'src="/assets/site\.[0-9a-f]*\.js"' "$tmp/body" | head -n 1 | sed 's/^src="//; s/"$//')
[[ -n $js ]] || fail "no site.js on the page"
get "$SA$js" -o "$tmp/site.js" || fail "site.js: not served"
grep -qF "sendBeacon('/_e', 'kind=' + kind)" "$tmp/site.js" || fail "site.js does not send beacons"
grep -qF "send('cta_click')" "$tmp/site.js" && grep -qF "send('page_view')" "$tmp/site.js" ||
	fail "site.js lacks a kind"
ok "the page marks its calls to action and its script beacons to its own host under the CSP"

# --- beacons -------------------------------------------------------------------------
for _ in 1 2 3; do
	code=$(beacon "$A" kind=page_view -H "Origin: $SA")
	expect 204 "$code" "page_view beacon"
done
no_header Set-Cookie "a beacon"
no_cors "a beacon"
[[ ! -s $tmp/body ]] || fail "a 204 with a body"
for _ in 1 2; do
	code=$(beacon "$A" kind=cta_click -H "Origin: $SA")
	expect 204 "$code" "cta_click beacon"
done
# sendBeacon always sends Origin; a hand-made request without one counts too
code=$(beacon "$A" kind=page_view)
expect 204 "$code" "beacon without Origin"
code=$(beacon "$B" kind=page_view -H "Origin: $(site "$B")")
expect 204 "$code" "beacon to B"
[[ $(count "$A" page_view) == 4 && $(count "$A" cta_click) == 2 && $(count "$B" page_view) == 1 ]] ||
	fail "counts: A views $(count "$A" page_view), clicks $(count "$A" cta_click), B views $(count "$B" page_view)"
[[ $(psql_q "SELECT count(*) FROM events e JOIN tenants t ON t.id = e.tenant_id WHERE t.slug = '$A'") == 2 ]] ||
	fail "more than one row per tenant, day and kind"
ok "beacons answer 204 no-store without cookie or CORS header; one row per tenant, day and kind counts them"

code=$(beacon "$A" kind=signup)
expect 400 "$code" "an unknown kind"
code=$(beacon "$A" '')
expect 400 "$code" "an empty body"
code=$(beacon "$A" '{"kind":"page_view"}')
expect 400 "$code" "a JSON body"
code=$(CT=application/json beacon "$A" kind=page_view)
expect 415 "$code" "a JSON content type"
code=$(beacon "$A" kind=page_view -H 'Origin: https://evil.example')
expect 403 "$code" "a foreign origin"
no_cors "a refused beacon"
code=$(beacon "$A" kind=page_view -H "Origin: $(site "$B")")
expect 403 "$code" "another tenant's origin"
code=$(beacon "$A" "kind=page_view$(printf '%0300d' 0)")
expect 413 "$code" "a body over 256 bytes"
code=$(beacon "$A" "$(printf '%02000d' 0)")
[[ $code == 413 ]] || fail "a body over nginx's 1 KiB: $code"
[[ $(count "$A" page_view) == 4 && $(count "$A" cta_click) == 2 ]] || fail "a refused beacon counted"
ok "unknown kinds and odd bodies 400, JSON 415, foreign origins 403, large bodies 413; none counted"

code=$(BASE=$SA req GET /_e "")
[[ $code == 405 ]] || fail "GET /_e: $code"
[[ $(hdr Allow) == POST ]] || fail "GET /_e: Allow is '$(hdr Allow)'"
code=$(BASE=$SA req PUT /_e "" --data-raw kind=page_view)
[[ $code == 405 ]] || fail "PUT /_e: $code"
code=$(BASE=$SA req OPTIONS /_e "" -H 'Origin: https://evil.example' \
	-H 'Access-Control-Request-Method: POST')
[[ $code == 405 ]] || fail "OPTIONS /_e: $code"
no_cors "a preflight of the beacon"
ok "other methods get 405 with Allow: POST, and no CORS preflight"

for s in nobody-$$ "$D" "$S"; do
	code=$(beacon "$s" kind=page_view)
	[[ $code == 404 ]] || fail "beacon for $s: $code"
done
code=$(req POST /_e "" -H 'Content-Type: text/plain' --data-raw kind=page_view)
[[ $code == 404 ]] || fail "beacon to the platform host: $code"
[[ $(psql_q "SELECT count(*) FROM events e JOIN tenants t ON t.id = e.tenant_id
	WHERE t.slug IN ('$D', '$S')") == 0 ]] || fail "a site that is not up counted"
ok "unknown, unpublished and suspended sites, and the platform host, 404"

# A flood from one address, 60 beacons at once over one HTTP/2
# connection: nginx's beacon zone (10 r/s, burst 20) cuts it, and what got
# through is exactly what was counted.
before=$(count "$B" cta_click)
hostport="$B.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT"
flood=()
for _ in $(seq 1 60); do
	flood+=(-o /dev/null "https://$hostport/_e")
done
curl -sS --max-time 30 --cacert "$CANOPY_CA" --resolve "$hostport:127.0.0.1" \
	--interface "$(next_ip)" --parallel --parallel-immediate --parallel-max 60 \
	-H 'Content-Type: text/plain;charset=UTF-8' --data-raw kind=cta_click \
	-w '%{http_code}\n' "${flood[@]}" >"$tmp/flood" 2>"$tmp/flood.err" ||
	fail "flood: curl failed: $(cat "$tmp/flood.err")"
passed=$(grep -c '^204$' "$tmp/flood" || true)
limited=$(grep -c '^429$' "$tmp/flood" || true)
((passed + limited == 60)) || fail "flood: other statuses: $(sort "$tmp/flood" | uniq -c | tr '\n' ' ')"
((limited > 0 && passed >= 20)) || fail "flood: $passed passed, $limited limited"
[[ $(count "$B" cta_click) == $((before + passed)) ]] || fail "flood: counted $(count "$B" cta_click), passed $passed"
ok "a flood of 60 beacons from one address: $passed counted, $limited refused with 429"

# Nothing about beacons in nginx's logs: a page request afterwards is
# logged (the log is written at least every second), the beacons are not.
marker=stats-marker-$$
code=$(BASE=$SA req GET "/?$marker" "")
[[ $code == 200 ]] || fail "marker request: $code"
wait_for 5 grep -qF "$marker" "$ACCESS_LOG" || fail "the access log at $ACCESS_LOG did not get the marker"
sleep 2 # each nginx worker flushes its own buffer at least every second
# (The platform host has no beacon: its /_e is an ordinary 404, logged.)
jq -c --arg d "$CANOPY_DOMAIN" 'select((.uri | test("^/_e($|[?])")) and .host != $d)' \
	"$ACCESS_LOG" >"$tmp/logged" || fail "the access log is not JSON lines"
[[ ! -s $tmp/logged ]] || fail "beacons in the access log: $(head -n 2 "$tmp/logged")"
! grep -qE ' /_e[ ?]' "$ERROR_LOG" || fail "beacons in the error log: $(grep -E ' /_e[ ?]' "$ERROR_LOG" | head -n 2)"
ok "no beacon (204, 4xx or 429) leaves a line in nginx's access or error log"

# --- the admin shows them ------------------------------------------------------------
today=$(psql_q "SELECT to_char((now() AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD')")
OA_C=$(sign_in "$OA" "$PW_OA")
code=$(req GET "/admin/tenants/$A" "$OA_C")
expect 200 "$code" "tenant overview"
keep_page() { [[ -z ${CANOPY_STATS_KEEP:-} ]] || cp "$tmp/body" "$CANOPY_STATS_KEEP/$1.html"; }
keep_page overview
has 'Visitors, last 30 days' || fail "no analytics section on the overview"
has '<dt>Page views</dt><dd>4</dd>' || fail "the overview does not show 4 views"
has '<dt>Call-to-action clicks</dt><dd>2</dd>' || fail "the overview does not show 2 clicks"
has '<dt>Clicks per view</dt><dd>50.0%</dd>' || fail "no click rate"
has '<svg class="admin-chart"' || fail "no chart"
has "<title>$today: 4 views</title>" && has "<title>$today: 2 clicks</title>" ||
	fail "the chart has no bars for today"
has "<tr><th scope=\"row\"><time datetime=\"$today\">$today</time></th><td>4</td><td>2</td></tr>" ||
	fail "the table has no row for today"
[[ $(grep -c '<tr><th scope="row"><time datetime=' "$tmp/body") == 30 ]] || fail "the table does not have 30 days"
ok "the tenant overview shows totals, a chart and a 30-day table"

code=$(req GET "/admin/tenants/$D" "$OA_C")
expect 404 "$code" "another tenant's overview"
code=$(req GET /admin/ "$OA_C")
expect 200 "$code" "dashboard"
row=$(awk -v s="<code>$A</code>" 'index($0, s) { on = 1 } on { print } on && /<\/tr>/ { exit }' "$tmp/body")
grep -q '<td class="admin-num">4</td>' <<<"$row" && grep -q '<td class="admin-num">2</td>' <<<"$row" ||
	fail "the dashboard row of $A lacks its totals: $row"
has "<code>$B</code>" && fail "a viewer of A sees B on the dashboard"
ADM_C=$(sign_in "$ADM" "$PW_ADM")
code=$(req GET "/admin/?q=stats-" "$ADM_C")
expect 200 "$code" "operator dashboard"
keep_page dashboard
row=$(awk -v s="<code>$B</code>" 'index($0, s) { on = 1 } on { print } on && /<\/tr>/ { exit }' "$tmp/body")
grep -q "<td class=\"admin-num\">$(count "$B" cta_click)</td>" <<<"$row" ||
	fail "the dashboard row of $B lacks its clicks: $row"
code=$(req GET "/admin/tenants/$D" "$ADM_C")
expect 200 "$code" "a draft's overview"
has 'No visits counted yet' || fail "an empty series does not say so"
has '<svg class="admin-chart"' && fail "an empty series draws a chart"
ok "the dashboard lists 30-day totals per tenant the person may see; an empty series says so"

# --- CORS ------------------------------------------------------------------------------
KEY=$(canopy apikey create --tenant "$A" --name cors 2>"$tmp/cli.err") ||
	fail "canopy apikey create: $(cat "$tmp/cli.err")"
api() { # PATH [curl args...]: GET with the key
	local path=$1
	shift
	req GET "$path" "" -H "Authorization: Bearer $KEY" "$@"
}
for origin in "$SA" "$(site "$B")" "$BASE"; do
	code=$(api /api/v1/workflows -H "Origin: $origin")
	expect 200 "$code" "API with Origin $origin"
	[[ $(hdr Access-Control-Allow-Origin) == "$origin" ]] ||
		fail "Origin $origin: Access-Control-Allow-Origin '$(hdr Access-Control-Allow-Origin)'"
	has_vary_origin || fail "Origin $origin: no Vary: Origin"
	no_header Access-Control-Allow-Credentials "Origin $origin"
done
code=$(req GET /api/v1/workflows "" -H "Origin: $SA")
expect 401 "$code" "API without a key"
[[ $(hdr Access-Control-Allow-Origin) == "$SA" ]] || fail "a 401 to our origin is not readable by it"
ok "the API echoes Canopy's own origins (platform and tenant sites) with Vary: Origin"

for origin in https://evil.example "http://$A.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT" \
	"https://$A.$CANOPY_DOMAIN" "https://$A.$CANOPY_DOMAIN.evil.example:$CANOPY_HTTPS_PORT" \
	"https://x.$A.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT" null; do
	code=$(api /api/v1/workflows -H "Origin: $origin")
	expect 200 "$code" "API with Origin $origin"
	no_cors "Origin $origin"
	has_vary_origin || fail "Origin $origin: no Vary: Origin"
done
code=$(api /api/v1/workflows)
no_cors "no Origin"
ok "other origins (another site, http, another port, a look-alike, a deeper name, null) get no CORS header"

code=$(req OPTIONS /api/v1/workflows "" -H "Origin: $SA" \
	-H 'Access-Control-Request-Method: POST' \
	-H 'Access-Control-Request-Headers: authorization, content-type')
expect 204 "$code" "an allowed preflight"
[[ $(hdr Access-Control-Allow-Origin) == "$SA" ]] || fail "preflight: ACAO '$(hdr Access-Control-Allow-Origin)'"
grep -qi '^access-control-allow-methods:.*POST' "$tmp/h" || fail "preflight: methods"
grep -qi '^access-control-allow-headers:.*Authorization' "$tmp/h" || fail "preflight: headers"
[[ $(hdr Access-Control-Max-Age) == 600 ]] || fail "preflight: max-age '$(hdr Access-Control-Max-Age)'"
has_vary_origin || fail "preflight: no Vary: Origin"
code=$(req OPTIONS /api/v1/workflows "" -H 'Origin: https://evil.example' \
	-H 'Access-Control-Request-Method: GET')
expect 403 "$code" "a preflight from another site"
no_cors "a refused preflight"
code=$(req OPTIONS /api/v1/workflows "" -H "Origin: $SA" \
	-H 'Access-Control-Request-Method: GET' -H 'Access-Control-Request-Headers: x-forged')
expect 403 "$code" "a preflight asking for an unknown header"
no_cors "a preflight asking for an unknown header"
ok "preflights: ours 204 with methods, headers and max-age; others 403 without CORS headers"

code=$(req GET /admin/login "" -H "Origin: $SA")
expect 200 "$code" "admin with an Origin"
no_cors "the admin"
code=$(req GET "/admin/tenants/$A" "$OA_C" -H "Origin: $SA")
expect 200 "$code" "admin overview with an Origin"
no_cors "the admin overview"
code=$(req OPTIONS /admin/ "" -H "Origin: $SA" -H 'Access-Control-Request-Method: GET')
no_cors "an admin preflight"
ok "the admin sends no CORS header, preflight or not"

# The live status stream is nginx's (nchan), not the API's: it must not
# hand its messages to another site's script either.
: >"$tmp/h"
_curl "$SA/events" -N -o /dev/null -D "$tmp/h" --max-time 2 -H 'Accept: text/event-stream' \
	-H 'Origin: https://evil.example' 2>/dev/null || true
# (nchan echoes the Origin even on its 403, which gives away nothing.)
grep -q '^HTTP/[0-9.]* 403' "$tmp/h" ||
	fail "the status stream serves another origin: $(tr -d '\r' <"$tmp/h" | tr '\n' ' ')"
: >"$tmp/h"
_curl "$SA/events" -N -o /dev/null -D "$tmp/h" --max-time 2 -H 'Accept: text/event-stream' \
	-H "Origin: $SA" 2>/dev/null || true
grep -q '^HTTP/[0-9.]* 200' "$tmp/h" || fail "the status stream refuses its own page: $(head -n 1 "$tmp/h")"
grep -qi '^access-control-allow-credentials' "$tmp/h" && fail "the status stream allows credentials"
ok "the status stream gives no other origin access, and serves its own page"
