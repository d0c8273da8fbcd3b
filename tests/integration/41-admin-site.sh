#!/usr/bin/env bash
# The admin's site screens (lib/admin_site.c) through nginx over verified
# TLS: the page editor (a save shows on the public page; invalid input
# re-renders with the input and the message and saves nothing), publish
# and unpublish, the preview, versions with a diff and restore, the theme
# editor with its contrast check, roles (viewers read only, another
# tenant's editor gets 404) and CSRF.
#
# Every sign-in POST goes out from an address of its own (127.0.11.N), so
# nginx's per-IP limit on sign-in posts is never reached.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

BASE="https://$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT"
A=site-a-$$
B=site-b-$$
ED=site-ed-$$@example.com
VW=site-vw-$$@example.com
PW_ED='editor battery staple 41'
PW_VW='viewer battery staple 41'
tmp=$(mktemp -d)

cleanup() {
	psql_q "WITH t AS (DELETE FROM tenants WHERE slug IN ('$A', '$B') RETURNING theme_id)
		DELETE FROM themes WHERE id IN (SELECT theme_id FROM t)" >/dev/null 2>&1 || true
	drop_users "$ED" "$VW"
	rm -rf "$tmp"
}
trap cleanup EXIT

ADMIN_IP_NET=127.0.11
# shellcheck source=tests/integration/helpers/admin.sh
source "$(dirname "$0")/helpers/admin.sh"

# page_post SLUG COOKIE CSRF HEADLINE HREF [curl args...]: the page form
# as a browser sends it, with this headline and primary button link.
page_post() {
	local slug=$1 cookie=$2 csrf=$3 headline=$4 href=$5
	shift 5
	req POST "/admin/tenants/$slug/page" "$cookie" \
		--data-urlencode "csrf=$csrf" --data-urlencode "op=save" \
		--data-urlencode "hero.eyebrow=" \
		--data-urlencode "hero.headline=$headline" \
		--data-urlencode "hero.subheadline=Sub line" \
		--data-urlencode "hero.primary_cta.label=Start" \
		--data-urlencode "hero.primary_cta.href=$href" \
		--data-urlencode "hero.secondary_cta.label=" \
		--data-urlencode "hero.secondary_cta.href=" \
		--data-urlencode "features.title=What we do" \
		--data-urlencode "features.items[0].icon=bolt" \
		--data-urlencode "features.items[0].title=Fast" \
		--data-urlencode "features.items[0].body=Very fast." \
		--data-urlencode "status.title=" \
		--data-urlencode "cta.headline=Join us" \
		--data-urlencode "cta.button.label=Sign up" \
		--data-urlencode "cta.button.href=https://example.com/" \
		--data-urlencode "seo.title=" --data-urlencode "seo.description=" \
		--data-urlencode "footer.tagline=" "$@"
}
# theme_post SLUG COOKIE CSRF PRIMARY ON_PRIMARY: the theme form with
# these two colours typed (the pickers left as they were).
theme_post() {
	req POST "/admin/tenants/$1/theme" "$2" --data-urlencode "csrf=$3" \
		--data-urlencode "colors.primary=$4" --data-urlencode "was.colors.primary=#9a3412" \
		--data-urlencode "pick.colors.primary=#9a3412" \
		--data-urlencode "colors.on_primary=$5" --data-urlencode "was.colors.on_primary=#ffffff" \
		--data-urlencode "pick.colors.on_primary=#ffffff" \
		--data-urlencode "colors.background=#fffbf6" --data-urlencode "colors.surface=#f9efe4" \
		--data-urlencode "colors.text=#1c1917" --data-urlencode "colors.muted=#57534e" \
		--data-urlencode "gradients.primary=linear-gradient(135deg, #7c2d12 0%, #b0400e 55%, #9f1239 100%)" \
		--data-urlencode "font.family=system-ui" --data-urlencode "font.heading=Georgia" \
		--data-urlencode "rounded=md"
}
site() { echo "https://$1.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT/"; }
versions() {
	psql_q "SELECT count(*) FROM page_versions v JOIN tenants t ON t.id = v.tenant_id WHERE t.slug = '$1'"
}
public_has() { # SLUG TEXT: the public page shows TEXT
	# (read whole first: grep -q quitting early would make curl fail
	# with SIGPIPE, and pipefail the test)
	local body
	body=$(get "$(site "$1")" 2>/dev/null) || return 1
	grep -qF -- "$2" <<<"$body"
}

# --- tenants, people -------------------------------------------------------------
PAGE='{"hero":{"headline":"Original headline","primary_cta":{"label":"Go","href":"#cta"}},
 "features":{"title":"Things","items":[{"icon":"bolt","title":"One","body":"Body."}]},
 "cta":{"headline":"Join","button":{"label":"Go","href":"#top"}}}'
THEME=$(jq -c . "$CANOPY_SRC/sql/seed/demo-theme.json" 2>/dev/null ||
	echo '{"colors":{"primary":"#4338ca","on_primary":"#ffffff","background":"#ffffff","surface":"#f5f7fb","text":"#0f172a","muted":"#475569"},"gradients":{"primary":"linear-gradient(135deg, #4338ca 0%, #7c3aed 100%)"}}')
for s in "$A" "$B"; do
	psql_q "WITH th AS (INSERT INTO themes (json) VALUES ('$THEME'::jsonb) RETURNING id),
		t AS (INSERT INTO tenants (slug, name, theme_id) SELECT '$s', 'Site $s', id FROM th RETURNING id)
		INSERT INTO pages (tenant_id, json, is_published) SELECT id, '$PAGE'::jsonb, true FROM t" >/dev/null
done
printf '%s\n' "$PW_ED" | canopy user add --email "$ED" --name "Site Editor" \
	--password-stdin >/dev/null 2>&1 || fail "canopy user add (editor)"
printf '%s\n' "$PW_VW" | canopy user add --email "$VW" --name "Site Viewer" \
	--password-stdin >/dev/null 2>&1 || fail "canopy user add (viewer)"
canopy user member --email "$ED" --tenant "$A" --role editor >/dev/null 2>&1 || fail "member editor"
canopy user member --email "$VW" --tenant "$A" --role viewer >/dev/null 2>&1 || fail "member viewer"
wait_for 5 public_has "$A" "Original headline" || fail "tenant $A's page is not public"
ok "two published tenants, an editor and a viewer of $A"

code=$(login "$ED" "$PW_ED")
[[ $code == 303 ]] || fail "editor sign-in: $code"
ED_C=$(cookie)
code=$(login "$VW" "$PW_VW")
[[ $code == 303 ]] || fail "viewer sign-in: $code"
VW_C=$(cookie)

# --- the editor ------------------------------------------------------------------
code=$(req GET "/admin/tenants/$A" "$ED_C")
expect 200 "$code" "tenant overview"
{ has "/admin/tenants/$A/page\"" && has "/admin/tenants/$A/theme\""; } ||
	fail "the overview does not link the page and theme editors"
code=$(req GET "/admin/tenants/$A/page" "$ED_C")
expect 200 "$code" "page editor"
has 'value="Original headline"' || fail "the editor does not show the headline"
has '<label for="f-hero-headline">' || fail "the headline's label is not tied to its input"
CSRF=$(csrf_of)
[[ -n $CSRF ]] || fail "no CSRF token in the editor"
n0=$(versions "$A")

code=$(page_post "$A" "$ED_C" "$CSRF" "Fresh headline $$" "#cta")
expect 303 "$code" "save"
[[ $(hdr Location) == "/admin/tenants/$A/page?notice=saved" ]] || fail "save goes to $(hdr Location)"
wait_for 5 public_has "$A" "Fresh headline $$" || fail "the public page does not show the new headline"
[[ $(versions "$A") == $((n0 + 1)) ]] || fail "no version saved"
audit=$(psql_q "SELECT diff->'/hero/headline'->>'new' FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
	WHERE t.slug = '$A' AND a.action = 'page.update' ORDER BY a.id DESC LIMIT 1")
[[ $audit == "Fresh headline $$" ]] || fail "audit entry of the save: '$audit'"
code=$(req GET "/admin/tenants/$A/page?notice=saved" "$ED_C")
expect 200 "$code" "editor after save"
has 'Saved.' || fail "no Saved notice"
ok "an editor saves the hero headline: public page, version and audit entry follow"

# --- invalid input ---------------------------------------------------------------
n1=$(versions "$A")
code=$(page_post "$A" "$ED_C" "$CSRF" "" "javascript:x")
expect 422 "$code" "empty headline and a javascript: link"
has 'id="f-hero-headline-error"' || fail "no message next to the headline"
has 'aria-describedby="f-hero-primary_cta-href-hint f-hero-primary_cta-href-error"' ||
	fail "the link's message is not tied to its input"
has 'value="javascript:x"' || fail "the link typed is not kept"
has '>Very fast.</textarea>' || fail "the other input is not kept"
[[ $(versions "$A") == "$n1" ]] || fail "an invalid page made a version"
public_has "$A" "Fresh headline $$" || fail "an invalid post changed the public page"
ok "invalid input: 422, messages next to the fields, input kept, nothing saved"

# --- item buttons ----------------------------------------------------------------
code=$(req POST "/admin/tenants/$A/page" "$ED_C" --data-urlencode "csrf=$CSRF" \
	--data-urlencode "op=add" --data-urlencode "hero.headline=Kept" \
	--data-urlencode "features.title=T" --data-urlencode "features.items[0].icon=bolt" \
	--data-urlencode "features.items[0].title=First" --data-urlencode "features.items[0].body=B")
expect 200 "$code" "add a feature"
has 'name="features.items[1].title"' || fail "no second feature after Add"
has 'value="Kept"' || fail "Add lost the input"
[[ $(versions "$A") == "$n1" ]] || fail "Add saved"
code=$(req POST "/admin/tenants/$A/page" "$ED_C" --data-urlencode "csrf=$CSRF" \
	--data-urlencode "op=down:0" --data-urlencode "hero.headline=Kept" \
	--data-urlencode "features.title=T" \
	--data-urlencode "features.items[0].icon=bolt" --data-urlencode "features.items[0].title=First" \
	--data-urlencode "features.items[0].body=B" \
	--data-urlencode "features.items[1].icon=bolt" --data-urlencode "features.items[1].title=Second" \
	--data-urlencode "features.items[1].body=B")
expect 200 "$code" "move a feature down"
grep -q 'name="features.items\[0\].title"[^>]*value="Second"' "$tmp/body" ||
	fail "Move down did not swap the features"
[[ $(versions "$A") == "$n1" ]] || fail "Move down saved"
ok "Add a feature and Move down re-render the form changed, nothing saved"

# --- roles -----------------------------------------------------------------------
code=$(req GET "/admin/tenants/$A/page" "$VW_C")
expect 200 "$code" "viewer reads the editor"
has ' readonly' || fail "the viewer's form is not read-only"
has 'value="save"' && fail "the viewer is offered Save"
VW_CSRF=$(csrf_of)
code=$(page_post "$A" "$VW_C" "$VW_CSRF" "Viewer was here" "#cta")
expect 404 "$code" "viewer posts the page"
for act in publish unpublish; do
	code=$(post_form "/admin/tenants/$A/page/$act" "$VW_C" "csrf=$VW_CSRF")
	expect 404 "$code" "viewer: $act"
done
public_has "$A" "Viewer was here" && fail "a viewer changed the page"
code=$(req GET "/admin/tenants/$B/page" "$ED_C")
expect 404 "$code" "editor of $A: $B's editor"
code=$(page_post "$B" "$ED_C" "$CSRF" "Not yours" "#cta")
expect 404 "$code" "editor of $A: post $B's page"
for p in page/preview page/versions theme; do
	code=$(req GET "/admin/tenants/$B/$p" "$ED_C")
	expect 404 "$code" "editor of $A: $B's $p"
done
for p in page/publish page/unpublish theme; do
	code=$(post_form "/admin/tenants/$B/$p" "$ED_C" "csrf=$CSRF")
	expect 404 "$code" "editor of $A: POST $B's $p"
done
public_has "$B" "Original headline" || fail "$B's page changed"
ok "a viewer reads only (POST 404); an editor of $A gets 404 for every site screen of $B"

# --- CSRF ------------------------------------------------------------------------
n2=$(versions "$A")
code=$(page_post "$A" "$ED_C" "" "No token" "#cta")
expect 403 "$code" "save without a CSRF token"
code=$(page_post "$A" "$ED_C" "${CSRF:0:20}AAAA${CSRF:24}" "Wrong token" "#cta")
expect 403 "$code" "save with a wrong CSRF token"
code=$(post_form "/admin/tenants/$A/page/unpublish" "$ED_C" "")
expect 403 "$code" "unpublish without a CSRF token"
[[ $(versions "$A") == "$n2" ]] || fail "a refused post saved a version"
ok "page posts without or with a wrong CSRF token: 403, nothing saved"

# --- publish ---------------------------------------------------------------------
code=$(post_form "/admin/tenants/$A/page/unpublish" "$ED_C" "csrf=$CSRF")
expect 303 "$code" "unpublish"
wait_for 5 bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' --cacert '$CANOPY_CA' \
	--resolve '$A.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT:127.0.0.1' '$(site "$A")') == 404 ]]" ||
	fail "the unpublished page is not 404"
code=$(req GET "/admin/tenants/$A/page/preview" "$ED_C")
expect 200 "$code" "preview of the unpublished page"
{ has "Fresh headline $$" && has 'class="preview-banner"'; } || fail "the preview lacks the page or its banner"
[[ $(hdr Content-Security-Policy) == *"'sha256-"* ]] || fail "the preview's CSP does not allow its style"
code=$(post_form "/admin/tenants/$A/page/publish" "$ED_C" "csrf=$CSRF")
expect 303 "$code" "publish"
wait_for 5 public_has "$A" "Fresh headline $$" || fail "the published page is not back"
[[ $(psql_q "SELECT count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
	JOIN pages p ON p.tenant_id = t.id AND a.object_id = p.id::text
	WHERE t.slug = '$A' AND a.action IN ('page.publish', 'page.unpublish')") == 2 ]] ||
	fail "publish and unpublish are not audited (with the page's id)"
ok "unpublish: 404 in public, the preview still shows it (no-store, banner); publish brings it back; both audited"

# --- versions --------------------------------------------------------------------
code=$(page_post "$A" "$ED_C" "$CSRF" "Newer headline $$" "#cta")
expect 303 "$code" "second save"
wait_for 5 public_has "$A" "Newer headline $$" || fail "the second save is not public"
V=$(psql_q "SELECT v.id FROM page_versions v JOIN tenants t ON t.id = v.tenant_id
	WHERE t.slug = '$A' AND v.json->'hero'->>'headline' = 'Fresh headline $$' ORDER BY v.id LIMIT 1")
[[ -n $V ]] || fail "no version with the first headline"
code=$(req GET "/admin/tenants/$A/page/versions" "$ED_C")
expect 200 "$code" "versions"
has "/admin/tenants/$A/page/versions/$V\"" || fail "the list lacks version $V"
code=$(req GET "/admin/tenants/$A/page/versions/$V" "$ED_C")
expect 200 "$code" "a version's diff"
{ has "hero/headline" && has "Newer headline $$" && has "Fresh headline $$"; } ||
	fail "the diff does not show the headline old -> new"
code=$(req GET "/admin/tenants/$B/page/versions/$V" "$ED_C")
expect 404 "$code" "$A's version under $B"
BV=$(psql_q "SELECT max(v.id) FROM page_versions v JOIN tenants t ON t.id = v.tenant_id WHERE t.slug = '$A'")
code=$(req GET "/admin/tenants/$A/page/versions/$((BV + 1000))" "$ED_C")
expect 404 "$code" "a version that does not exist"
n3=$(versions "$A")
code=$(post_form "/admin/tenants/$A/page/versions/$V/restore" "$VW_C" "csrf=$VW_CSRF")
expect 404 "$code" "viewer restores"
code=$(post_form "/admin/tenants/$A/page/versions/$V/restore" "$ED_C" "csrf=$CSRF")
expect 303 "$code" "restore"
wait_for 5 public_has "$A" "Fresh headline $$" || fail "restore did not bring back the old headline"
[[ $(versions "$A") == $((n3 + 1)) ]] || fail "restore did not make a new version"
[[ $(psql_q "SELECT count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
	WHERE t.slug = '$A' AND a.action = 'page.restore'") == 1 ]] || fail "restore is not audited"
ok "versions: list, diff old -> new, restore brings back the old headline as a new version (audited)"

# --- theme -----------------------------------------------------------------------
# $B shares $A's theme: a change of $A's must not reach $B.
psql_q "WITH old AS (SELECT theme_id FROM tenants WHERE slug = '$B'),
	moved AS (UPDATE tenants SET theme_id = (SELECT theme_id FROM tenants WHERE slug = '$A')
	          WHERE slug = '$B' RETURNING 1)
	DELETE FROM themes WHERE id = (SELECT theme_id FROM old) AND EXISTS (SELECT 1 FROM moved)" >/dev/null
wait_for 5 public_has "$A" "--color-primary:#9a3412" || fail "$A's public CSS before the theme change"
code=$(req GET "/admin/tenants/$A/theme" "$ED_C")
expect 200 "$code" "theme editor"
{ has 'type="color" name="pick.colors.primary" value="#9a3412"' && has 'value="#9a3412"'; } ||
	fail "the theme editor does not show the colours"
has 'Other sites use this theme too' || fail "the shared theme is not pointed out"
js=$(grep -o 'src="/assets/admin-theme\.[0-9a-f]*\.js"' "$tmp/body" | sed 's/src="//; s/"$//')
[[ -n $js ]] || fail "the theme editor does not load its live sample script"
[[ $(status_of "$BASE$js") == 200 ]] || fail "the live sample script is not served: $js"
code=$(req GET "/admin/tenants/$A/theme" "$VW_C")
expect 200 "$code" "viewer reads the theme"
has 'Save theme' && fail "the viewer is offered Save theme"
code=$(theme_post "$A" "$VW_C" "$VW_CSRF" "#1d4ed8" "#ffffff")
expect 404 "$code" "viewer posts the theme"
code=$(theme_post "$A" "$ED_C" "" "#1d4ed8" "#ffffff")
expect 403 "$code" "theme without a CSRF token"

themes0=$(psql_q "SELECT count(*) FROM themes")
code=$(theme_post "$A" "$ED_C" "$CSRF" "#fbbf24" "#ffffff")
expect 422 "$code" "a theme failing contrast"
has 'id="f-colors-on_primary-error"' || fail "no message next to the text-on-primary colour"
grep -o 'id="f-colors-on_primary-error">[^<]*' "$tmp/body" | grep -q 'contrast [0-9.]*:1; WCAG AA needs at least 4.5:1' ||
	fail "the contrast failure is not explained: $(grep -o 'id="f-colors-on_primary-error">[^<]*' "$tmp/body")"
has 'value="#fbbf24"' || fail "the colour typed is not kept"
{ has '<svg viewBox' && has 'fill="#fbbf24"'; } || fail "no sample of the colours as typed"
[[ $(psql_q "SELECT count(*) FROM themes") == "$themes0" ]] || fail "a refused theme was stored"
public_has "$A" "--color-primary:#9a3412" || fail "a refused theme changed the public CSS"
ok "a theme failing contrast: 422, the ratio explained next to the field, input kept, public CSS unchanged"

code=$(theme_post "$A" "$ED_C" "$CSRF" "#1d4ed8" "#ffffff")
expect 303 "$code" "a good theme"
wait_for 5 public_has "$A" "--color-primary:#1d4ed8" || fail "the public page does not use the new theme"
public_has "$B" "--color-primary:#9a3412" || fail "the change reached $B, which shared the theme"
[[ $(psql_q "SELECT count(DISTINCT theme_id) FROM tenants WHERE slug IN ('$A', '$B')") == 2 ]] ||
	fail "$A did not get a theme of its own"
audit=$(psql_q "SELECT a.diff->'/colors/primary'->>'old', a.diff->'/colors/primary'->>'new' FROM audit_log a
	JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = '$A' AND a.action = 'theme.update'")
[[ $audit == "#9a3412|#1d4ed8" ]] || fail "theme audit entry: '$audit'"
code=$(theme_post "$A" "$ED_C" "$CSRF" "#1e40af" "#ffffff")
expect 303 "$code" "a second theme change"
wait_for 5 public_has "$A" "--color-primary:#1e40af" || fail "the second theme change is not public"
[[ $(psql_q "SELECT count(*) FROM themes") == $((themes0 + 1)) ]] || fail "an unshared theme was copied again"
ok "a good theme shows on the public page; the shared theme was copied, not changed for $B; audited"
