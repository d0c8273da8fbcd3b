#!/usr/bin/env bash
# The tenant page's live Status section in a real browser (Debian's
# chromium driven by playwright-core, tests/browser/live_status.mjs):
# messages published to the tenant's nchan channel update the page in
# place, including a workflow created after it loaded.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
[[ -d $CANOPY_SRC/tests/browser/node_modules/playwright-core ]] ||
	fail "playwright-core is not installed (./dev test runs npm ci in tests/browser)"

SLUG=live-status
cleanup() { psql_q "DELETE FROM tenants WHERE slug = '$SLUG'" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup

# A tenant with the demo's page and theme, and one workflow being deployed.
psql_q "WITH t AS (INSERT INTO tenants (slug, name, theme_id)
                   SELECT '$SLUG', 'Live Status', theme_id FROM tenants WHERE slug = 'demo'
                   RETURNING id)
        INSERT INTO pages (tenant_id, json, is_published)
        SELECT t.id, p.json, true FROM t, pages p JOIN tenants d ON d.id = p.tenant_id
         WHERE d.slug = 'demo'" >/dev/null
wf=$(psql_q "INSERT INTO workflows (tenant_id, name, status)
             SELECT id, 'Lead follow-up', 'deploying' FROM tenants WHERE slug = '$SLUG'
             RETURNING id")
[[ $wf =~ ^[0-9]+$ ]] || fail "could not create the workflow"

shots="$CANOPY_SRC/tests/out/screenshots"
mkdir -p "$shots"
SITE="https://$SLUG.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT" \
PUBLISH="http://127.0.0.1:$CANOPY_NCHAN_PORT/pub/$SLUG" \
WF_ID=$wf TENANT_SLUG=$SLUG SPKI=$(server_spki) SHOTS=$shots \
SQL="$CANOPY_PGBIN/psql -XAtq -v ON_ERROR_STOP=1 -d '$DATABASE_URL' -c" \
	timeout 90 node "$CANOPY_SRC/tests/browser/live_status.mjs"
