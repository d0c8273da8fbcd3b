#!/usr/bin/env bash
# Tenant landing pages through the real stack: nginx (TLS verified against
# the generated CA), spawn-fcgi responders, PostgreSQL.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

origin() { echo "https://$1.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT"; }
DEMO=$(origin demo)
PLATFORM="https://$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- the demo page --------------------------------------------------------
get "$DEMO/" -D "$tmp/h" -o "$tmp/demo.html"
page=$(cat "$tmp/demo.html")
grep -q '^HTTP/[0-9.]* 200' "$tmp/h" || fail "demo page is not 200"
ok "demo page answers 200 over verified TLS"
demo_name=$(psql_q "SELECT name FROM tenants WHERE slug = 'demo'")
# The hero is the page top (#top); the others are named after themselves.
for section in top features status cta; do
	grep -q "<section[^>]* id=\"$section\"" <<<"$page" || fail "demo page lacks section #$section"
done
ok "demo page has hero, features, status and cta sections"
grep -q '<main' <<<"$page" && grep -q '<header' <<<"$page" && grep -q '<footer' <<<"$page" ||
	fail "landmarks missing"
ok "landmarks present"

# --- theme as CSS custom properties ---------------------------------------
primary=$(psql_q "SELECT th.json->'colors'->>'primary' FROM tenants t JOIN themes th ON th.id = t.theme_id WHERE slug = 'demo'")
grep -qi -- "--color-primary:$primary" <<<"$page" || fail "theme primary $primary not in CSS variables"
grep -q -- "--gradient-primary:" <<<"$page" || fail "gradient variable missing"
grep -q -- "--font-family:" <<<"$page" || fail "font variable missing"
grep -q -- "--radius" <<<"$page" || fail "rounding variable missing"
ok "theme tokens rendered as CSS custom properties"

# --- SEO --------------------------------------------------------------------
grep -q "<link rel=\"canonical\" href=\"$DEMO/\"" <<<"$page" || fail "canonical URL missing"
grep -q '<meta name="description"' <<<"$page" || fail "meta description missing"
grep -q '<title>' <<<"$page" || fail "title missing"
grep -q 'property="og:title"' <<<"$page" && grep -q 'property="og:url"' <<<"$page" ||
	fail "Open Graph tags missing"
grep -q 'name="twitter:card"' <<<"$page" || fail "Twitter card missing"
grep -q 'application/ld+json' <<<"$page" && grep -q '"@type":"Organization"' <<<"$page" ||
	fail "JSON-LD Organization missing"
ok "title, description, canonical, Open Graph, Twitter and JSON-LD present"

robots=$(get "$DEMO/robots.txt")
grep -q "Sitemap: $DEMO/sitemap.xml" <<<"$robots" || fail "robots.txt lacks the sitemap line: $robots"
sitemap=$(get "$DEMO/sitemap.xml")
grep -q "<loc>$DEMO/</loc>" <<<"$sitemap" || fail "sitemap.xml lacks the page URL"
ok "robots.txt and sitemap.xml"

# --- headers ----------------------------------------------------------------
rid1=$(header_of "$DEMO/" X-Request-Id)
rid2=$(header_of "$DEMO/" X-Request-Id)
[[ -n "$rid1" && "$rid1" != "$rid2" ]] || fail "X-Request-Id missing or repeated ('$rid1' '$rid2')"
[[ $(grep -ci '^x-request-id:' "$tmp/h") == 1 ]] || fail "X-Request-Id must appear exactly once"
csp=$(header_of "$DEMO/" Content-Security-Policy)
grep -q "script-src 'self'" <<<"$csp" && grep -q "style-src 'self' 'sha256-" <<<"$csp" ||
	fail "CSP is not strict: $csp"
# The CSP's style hash must allow exactly the page's inline <style>.
style=$(sed -n 's:.*<style>\(.*\)</style>.*:\1:p' "$tmp/demo.html" | head -n1)
hash=$(printf '%s' "$style" | openssl dgst -sha256 -binary | base64)
grep -qF "'sha256-$hash'" <<<"$csp" || fail "CSP style hash does not match the inline style"
[[ $(header_of "$DEMO/" X-Content-Type-Options) == nosniff ]] || fail "nosniff missing"
[[ -n $(header_of "$DEMO/" Referrer-Policy) ]] || fail "Referrer-Policy missing"
grep -qi '^strict-transport-security:' "$tmp/h" || fail "HSTS missing"
ok "X-Request-Id, CSP (with the inline style's hash), nosniff, Referrer-Policy, HSTS"

etag=$(header_of "$DEMO/" ETag)
[[ $(status_of "$DEMO/" -H "If-None-Match: $etag") == 304 ]] || fail "If-None-Match does not give 304"
# A browser that got the page gzipped holds the weakened tag W/"...".
etag_gz=$(header_of "$DEMO/" ETag --compressed)
[[ $(status_of "$DEMO/" --compressed -H "If-None-Match: \"other\", $etag_gz") == 304 ]] ||
	fail "a weak or listed If-None-Match does not give 304"
ok "ETag revalidation answers 304 (strong, weak, in a list)"

# --- escaping ---------------------------------------------------------------
psql_q "INSERT INTO tenants (slug, name, theme_id)
        SELECT 'escape-test', 'Evil <script>alert(1)</script> & \"Co\"', theme_id
          FROM tenants WHERE slug = 'demo'
        ON CONFLICT (slug) DO NOTHING" >/dev/null
psql_q "INSERT INTO pages (tenant_id, json, is_published)
        SELECT t.id, jsonb_set(p.json, '{hero,headline}', to_jsonb('<img src=x onerror=alert(1)> & more'::text)), true
          FROM tenants t, pages p JOIN tenants d ON d.id = p.tenant_id AND d.slug = 'demo'
         WHERE t.slug = 'escape-test'
        ON CONFLICT (tenant_id) DO NOTHING" >/dev/null
evil=$(get "$(origin escape-test)/")
grep -q '<script>alert' <<<"$evil" && fail "tenant name rendered unescaped"
grep -q '<img src=x' <<<"$evil" && fail "headline rendered unescaped"
grep -q '&lt;img src&#61;x onerror&#61;alert(1)&gt; &amp; more\|&lt;img src=x onerror=alert(1)&gt; &amp; more' <<<"$evil" ||
	fail "headline not shown escaped"
grep -q 'Evil &lt;script&gt;' <<<"$evil" || fail "tenant name not shown escaped"
grep -q '"name":"Evil \\u003cscript\\u003e' <<<"$evil" || fail "JSON-LD not script-safe"
ok "tenant content is HTML-escaped, JSON-LD is script-safe"

# --- 404s -------------------------------------------------------------------
[[ $(status_of "$(origin no-such-tenant)/") == 404 ]] || fail "unknown tenant is not 404"
get "$(origin no-such-tenant)/" -o "$tmp/404.html" 2>/dev/null || true  # 404 expected
grep -q '<link rel="stylesheet"' "$tmp/404.html" || fail "404 page is not the styled page"
psql_q "UPDATE pages SET is_published = false FROM tenants t
         WHERE t.id = pages.tenant_id AND t.slug = 'escape-test'" >/dev/null
[[ $(status_of "$(origin escape-test)/") == 404 ]] || fail "unpublished page is not 404"
[[ $(status_of "$DEMO/no/such/page") == 404 ]] || fail "unknown path is not 404"
ok "404 (styled) for an unknown tenant, an unpublished page and an unknown path"

# --- an edit shows on the very next request ---------------------------------
marker="Edited $(date +%s%N)"
get "$DEMO/" >/dev/null # make sure the page is cached
psql_q "UPDATE pages SET json = jsonb_set(json, '{hero,headline}', to_jsonb('$marker'::text))
          FROM tenants t WHERE t.id = pages.tenant_id AND t.slug = 'demo'" >/dev/null
# every responder process must see it: ask several times
for _ in 1 2 3 4 5 6; do
	# (the whole page first: grep -q leaving early would fail curl's write)
	grep -q "$marker" <<<"$(get "$DEMO/")" || fail "edit not visible on the next request"
done
primary_new="#0b5cad"
psql_q "UPDATE themes SET json = jsonb_set(json, '{colors,primary}', to_jsonb('$primary_new'::text))
          FROM tenants t WHERE t.theme_id = themes.id AND t.slug = 'demo'" >/dev/null
grep -qi -- "--color-primary:$primary_new" <<<"$(get "$DEMO/")" || fail "theme edit not visible on the next request"
ok "page and theme edits show on the next request"

# --- health -----------------------------------------------------------------
[[ $(status_of "$DEMO/healthz") == 200 && $(status_of "$PLATFORM/healthz") == 200 ]] ||
	fail "/healthz does not answer on every host"
ok "/healthz on tenant and platform hosts"
[[ $(status_of "$PLATFORM/") == 200 ]] || fail "platform home is not 200"
ok "platform home page"

# --- hostile hosts and slugs ------------------------------------------------
long=$(printf 'a%.0s' {1..300})
for host in "../etc" "$long.$CANOPY_DOMAIN" "$(printf '\xd0\x96').$CANOPY_DOMAIN" "" "-bad-.$CANOPY_DOMAIN" "a..b.$CANOPY_DOMAIN"; do
	code=$(status_of "$DEMO/" -H "Host: $host")
	[[ $code =~ ^4[0-9][0-9]$ ]] || fail "Host '${host:0:40}' gave $code, want a 4xx"
done
code=$(status_of "$DEMO/../../etc/passwd" --path-as-is)
[[ $code =~ ^4[0-9][0-9]$ ]] || fail "path traversal gave $code"
ok "hostile Host headers and paths get a clean 4xx"
[[ -n "$demo_name" ]]
