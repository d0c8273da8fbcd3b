#!/usr/bin/env bash
# The admin in a real browser (Debian's chromium driven by playwright-core,
# tests/browser/admin.mjs): a fresh operator signs in through the form,
# creates a tenant, changes its theme and hero headline, publishes, and the
# tenant's own site shows both; every admin screen is photographed
# (tests/out/screenshots/admin-*.png), with no console error, no CSP
# violation and every form post carrying its CSRF token.
#
# The browser signs in once, from 127.0.0.1 (nginx listens there only);
# nginx's sign-in limit allows a burst of five per address.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
[[ -d $CANOPY_SRC/tests/browser/node_modules/playwright-core ]] ||
	fail "playwright-core is not installed (./dev test runs npm ci in tests/browser)"

SLUG=juniper-$$
OPERATOR=browser-ops-$$@example.com
MEMBER=browser-ed-$$@example.com
PW_OPERATOR='operator browser staple 36'
PW_MEMBER='member browser staple 36'
tmp=$(mktemp -d)

forget() {
	psql_q "WITH t AS (DELETE FROM tenants WHERE slug = '$SLUG' RETURNING theme_id)
		DELETE FROM themes WHERE id IN (SELECT theme_id FROM t)" >/dev/null 2>&1 || true
	drop_users "$OPERATOR" "$MEMBER"
}
trap 'forget; rm -rf "$tmp"' EXIT
forget

printf '%s\n' "$PW_OPERATOR" | canopy user add --email "$OPERATOR" --name "Olive Operator" \
	--admin --password-stdin >/dev/null 2>"$tmp/cli.err" ||
	fail "canopy user add --admin: $(cat "$tmp/cli.err")"
# A second person, made a member once the browser has created the tenant,
# so the members screens show a row.
printf '%s\n' "$PW_MEMBER" | canopy user add --email "$MEMBER" --name "Emil Editor" \
	--password-stdin >/dev/null 2>"$tmp/cli.err" ||
	fail "canopy user add: $(cat "$tmp/cli.err")"
ok "an operator and a future member from the CLI"

shots="$CANOPY_SRC/tests/out/screenshots"
mkdir -p "$shots"
rm -f "$shots"/admin-*.png
BASE="https://$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT" \
SITE="https://$SLUG.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT" \
TENANT_SLUG=$SLUG OPERATOR_EMAIL=$OPERATOR OPERATOR_PASSWORD=$PW_OPERATOR \
MEMBER_EMAIL=$MEMBER CANOPY_CLI="$CANOPY_BUILD/canopy" \
SPKI=$(server_spki) SHOTS=$shots \
	timeout -k 5 200 node "$CANOPY_SRC/tests/browser/admin.mjs"

# What the browser did, as the database saw it.
[[ $(psql_q "SELECT is_published FROM pages p JOIN tenants t ON t.id = p.tenant_id
	WHERE t.slug = '$SLUG'") == t ]] || fail "the tenant's page is not published"
n=$(psql_q "SELECT count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
	WHERE t.slug = '$SLUG' AND a.action IN ('theme.update', 'page.update', 'page.publish')")
((n >= 3)) || fail "only $n audit entries for the theme, page and publish"
ok "the page is published and the changes are in the audit log"
