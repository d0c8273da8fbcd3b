#!/usr/bin/env bash
# The HTML admin (/admin/) through nginx over verified TLS: sign-in and
# its cookie, wrong passwords, per-account throttling, nginx's per-IP
# limit on sign-in posts, CSRF on every form, tenant isolation (404 for a
# tenant one has no role in and for operator-only screens), tenant
# creation with re-rendered errors and its audit entry, suspend and
# unsuspend, the list's search by name, slug and status, renaming (owners:
# the name; operators: the slug too, the old one freed, the site moved at
# once), password change, logout killing the cookie, nginx's 429 with
# Retry-After, no-store.
#
# Every sign-in POST goes out from an address of its own (127.0.10.N: all
# of 127/8 is loopback), so nginx's per-IP limit of 5r/m, kept as in
# production, only shows where this script tests it, from 127.0.20.1.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

BASE="https://$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT"
A=adm-a-$$
B=adm-b-$$
C=adm-new-$$
C2=adm-moved-$$
OW=owner-$$@example.com
PW_OW='owner staple battery 6'
ADM=ops-$$@example.com
ED=editor-$$@example.com
TH=victim-$$@example.com
PW_ADM='operator correct horse 1'
PW_ED='editor battery staple 2'
PW_TH='victim password long 3'
tmp=$(mktemp -d)

cleanup() {
	psql_q "WITH t AS (DELETE FROM tenants WHERE slug IN ('$A', '$B', '$C', '$C2') RETURNING theme_id)
		DELETE FROM themes WHERE id IN (SELECT theme_id FROM t)" >/dev/null 2>&1 || true
	drop_users "$ADM" "$ED" "$TH" "$OW"
	rm -rf "$tmp"
}
trap cleanup EXIT

ADMIN_IP_NET=127.0.10
# shellcheck source=tests/integration/helpers/admin.sh
source "$(dirname "$0")/helpers/admin.sh"

# --- people and tenants from the CLI ---------------------------------------
for s in "$A" "$B"; do
	psql_q "INSERT INTO tenants (slug, name) VALUES ('$s', 'Admin test $s')" >/dev/null
done
printf '%s\n' "$PW_ADM" | canopy user add --email "$ADM" --name "Olga Operator" --admin \
	--password-stdin >/dev/null 2>"$tmp/cli.err" || fail "canopy user add --admin: $(cat "$tmp/cli.err")"
printf '%s\n' "$PW_ED" | canopy user add --email "$ED" --name "Eddie Editor" \
	--password-stdin >/dev/null 2>&1 || fail "canopy user add (editor)"
printf '%s\n' "$PW_TH" | canopy user add --email "$TH" --name "Vic Victim" \
	--password-stdin >/dev/null 2>&1 || fail "canopy user add (victim)"
canopy user member --email "$ED" --tenant "$A" --role editor >/dev/null 2>&1 ||
	fail "canopy user member"
ADM_ID=$(psql_q "SELECT id FROM users WHERE email = '$ADM'")
ok "users and memberships from the CLI"

# --- unauthenticated ----------------------------------------------------------
for p in /admin/ /admin/tenants/$A /admin/tenants/new /admin/password /admin/whatever; do
	code=$(req GET "$p" "")
	expect 303 "$code" "GET $p without a session"
	[[ $(hdr Location) == /admin/login ]] || fail "GET $p: Location $(hdr Location)"
done
code=$(req GET /admin/login "")
expect 200 "$code" "the sign-in form"
has '<label for="email">' || fail "the form's labels are not tied to its inputs"
csp=$(hdr Content-Security-Policy)
[[ $csp == *"script-src 'self'"* && $csp != *unsafe-inline* ]] || fail "CSP: $csp"
[[ $(hdr X-Frame-Options) == DENY ]] || fail "X-Frame-Options: $(hdr X-Frame-Options)"
[[ -n $(hdr Strict-Transport-Security) ]] || fail "no HSTS"
ok "without a session: 303 to the form; the form is no-store, framed by no one, strict CSP"

# --- sign-in -------------------------------------------------------------------
code=$(login "$ADM" "$PW_ADM")
expect 303 "$code" "operator sign-in"
[[ $(hdr Location) == /admin/ ]] || fail "sign-in goes to $(hdr Location)"
set_cookie=$(hdr Set-Cookie)
for attr in "Path=/admin" "Secure" "HttpOnly" "SameSite=Lax"; do
	[[ "; $set_cookie;" == *"; $attr;"* ]] || fail "cookie lacks $attr: $set_cookie"
done
[[ $set_cookie != *Max-Age* && $set_cookie != *Expires* ]] || fail "the cookie outlives the browser: $set_cookie"
ADM_C=$(cookie)
[[ ${#ADM_C} == 43 ]] || fail "odd session token: $ADM_C"
[[ $(psql_q "SELECT count(*) FROM sessions WHERE token_hash = encode(sha256('$ADM_C'::bytea), 'hex')") == 1 ]] ||
	fail "the session's hash is not what is stored"
ok "sign-in: 303 to /admin/, cookie HttpOnly; Secure; SameSite=Lax; Path=/admin; only its hash stored"

code=$(req GET /admin/ "$ADM_C")
expect 200 "$code" "operator dashboard"
{ has "/admin/tenants/$A\"" && has "/admin/tenants/$B\""; } || fail "the operator does not see every tenant"
has '/admin/logout' || fail "no sign-out form"
code=$(req GET "/admin/?q=$B" "$ADM_C")
expect 200 "$code" "search"
has "/admin/tenants/$B\"" || fail "search does not find $B"
has "/admin/tenants/$A\"" && fail "search for $B shows $A"
ok "dashboard: an operator sees every tenant; search narrows"

code=$(login "$ED" "not the password at all")
expect 422 "$code" "wrong password"
has "Wrong e-mail address or password" || fail "no message for a wrong password"
has "value=\"$ED\"" || fail "the address typed is not kept"
[[ -z $(cookie) ]] || fail "a cookie for a wrong password"
wrong_body=$(sed "s/$ED/X/g" "$tmp/body" | grep -v 'name="csrf"')
code=$(login "nobody-$$@example.com" "not the password at all")
expect 422 "$code" "unknown account"
[[ $(sed "s/nobody-$$@example.com/X/g" "$tmp/body" | grep -v 'name="csrf"') == "$wrong_body" ]] ||
	fail "an unknown address is answered differently from a wrong password"
ok "wrong password refused (422, input kept); an unknown address looks the same"

code=$(login "$ED" "$PW_ED")
expect 303 "$code" "editor sign-in"
ED_C=$(cookie)

# --- isolation -----------------------------------------------------------------
code=$(req GET /admin/ "$ED_C")
expect 200 "$code" "editor dashboard"
has "/admin/tenants/$A\"" || fail "the editor does not see $A"
has "/admin/tenants/$B\"" && fail "the editor sees $B"
has 'href="/admin/tenants/new"' && fail "the editor is offered tenant creation"
code=$(req GET "/admin/tenants/$A" "$ED_C")
expect 200 "$code" "editor: own tenant"
has "Eddie Editor" || fail "the overview does not list members"
ED_CSRF=$(csrf_of)
[[ -n $ED_CSRF ]] || fail "no CSRF token on the editor's page"
code=$(req GET "/admin/tenants/$B" "$ED_C")
expect 404 "$code" "editor: another tenant"
cp "$tmp/body" "$tmp/b404"
code=$(req GET "/admin/tenants/no-such-$$" "$ED_C")
expect 404 "$code" "editor: no such tenant"
cmp -s <(grep -v 'name="csrf"' "$tmp/body") <(grep -v 'name="csrf"' "$tmp/b404") ||
	fail "another tenant's 404 differs from a missing tenant's"
code=$(req GET /admin/tenants/new "$ED_C")
expect 404 "$code" "editor: tenant creation form"
code=$(post_form /admin/tenants/new "$ED_C" "csrf=$ED_CSRF&slug=ed-made-$$&name=Nope")
expect 404 "$code" "editor: tenant creation"
for t in "$A" "$B"; do
	for act in suspend unsuspend; do
		code=$(post_form "/admin/tenants/$t/$act" "$ED_C" "csrf=$ED_CSRF")
		expect 404 "$code" "editor: $act $t"
	done
done
[[ $(psql_q "SELECT count(*) FROM tenants WHERE slug IN ('$A', '$B') AND status = 'active'") == 2 ]] ||
	fail "an editor changed a tenant's status"
[[ $(psql_q "SELECT count(*) FROM tenants WHERE slug = 'ed-made-$$'") == 0 ]] || fail "an editor created a tenant"
ok "an editor sees only their tenant; another's is 404 like a missing one; operator screens are 404"

# --- CSRF ----------------------------------------------------------------------
code=$(req GET /admin/tenants/new "$ADM_C")
expect 200 "$code" "tenant form"
ADM_CSRF=$(csrf_of)
[[ -n $ADM_CSRF ]] || fail "no CSRF token in the tenant form"
code=$(post_form /admin/tenants/new "$ADM_C" "slug=csrf-$$&name=X")
expect 403 "$code" "POST without a CSRF token"
code=$(post_form /admin/tenants/new "$ADM_C" "csrf=${ADM_CSRF:0:20}AAAA${ADM_CSRF:24}&slug=csrf-$$&name=X")
expect 403 "$code" "POST with a wrong CSRF token"
code=$(post_form /admin/tenants/new "$ADM_C" "csrf=$ED_CSRF&slug=csrf-$$&name=X")
expect 403 "$code" "POST with another session's CSRF token"
code=$(post_form /admin/tenants/new "$ADM_C" "csrf=$ADM_CSRF&slug=csrf-$$&name=X" \
	-H "Origin: https://evil.example")
expect 403 "$code" "POST from another origin"
code=$(post_form "/admin/tenants/$A/suspend" "$ADM_C" "")
expect 403 "$code" "suspend without a CSRF token"
code=$(post_form /admin/logout "$ADM_C" "")
expect 403 "$code" "logout without a CSRF token"
[[ $(psql_q "SELECT count(*) FROM tenants WHERE slug = 'csrf-$$' OR (slug = '$A' AND status <> 'active')") == 0 ]] ||
	fail "a refused POST changed something"
code=$(req GET /admin/ "$ADM_C")
expect 200 "$code" "the session after refused posts"
ok "POSTs without, with a wrong, another session's CSRF token or from another origin: 403, nothing changed"

# --- tenant creation -----------------------------------------------------------
code=$(post_form /admin/tenants/new "$ADM_C" "csrf=$ADM_CSRF&slug=Bad+Slug%21&name=Kept+Name")
expect 422 "$code" "bad slug"
has 'value="Bad Slug!"' || fail "the slug typed is not kept"
has 'value="Kept Name"' || fail "the name typed is not kept"
{ has 'id="slug-error"' && has 'aria-describedby="slug-hint slug-error"' && has 'aria-invalid="true"'; } ||
	fail "the slug's error is not tied to the field"
has 'lower-case letters' || fail "no reason for the bad slug"
code=$(post_form /admin/tenants/new "$ADM_C" "csrf=$ADM_CSRF&slug=admin&name=Ours")
expect 422 "$code" "reserved slug"
has 'reserved' || fail "no message for a reserved slug"
code=$(post_form /admin/tenants/new "$ADM_C" "csrf=$ADM_CSRF&slug=$C&name=")
expect 422 "$code" "empty name"
has 'id="name-error"' || fail "no message next to the empty name"
code=$(post_form /admin/tenants/new "$ADM_C" "csrf=$ADM_CSRF&slug=$C&name=New+%26+Shiny")
expect 303 "$code" "tenant create"
[[ $(hdr Location) == "/admin/tenants/$C" ]] || fail "create goes to $(hdr Location)"
code=$(req GET "/admin/?q=$C" "$ADM_C")
expect 200 "$code" "list after create"
{ has "/admin/tenants/$C\"" && has "New &amp; Shiny"; } || fail "the new tenant is not in the list"
row=$(psql_q "SELECT t.id, t.status, p.is_published, t.theme_id IS NOT NULL
	FROM tenants t JOIN pages p ON p.tenant_id = t.id WHERE t.slug = '$C'")
C_ID=${row%%|*}
[[ $row == "$C_ID|active|f|t" ]] || fail "the new tenant's rows: $row"
audit=$(psql_q "SELECT user_id, tenant_id, object_type, diff->'/slug'->>'new' FROM audit_log
	WHERE action = 'tenant.create' AND object_id = '$C_ID'")
[[ $audit == "$ADM_ID|$C_ID|tenant|$C" ]] || fail "audit entry for the creation (in the tenant's own log): '$audit'"
code=$(status_of "https://$C.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT/")
[[ $code == 404 ]] || fail "the new tenant's unpublished page: $code"
code=$(post_form /admin/tenants/new "$ADM_C" "csrf=$ADM_CSRF&slug=$C&name=Again")
expect 422 "$code" "taken slug"
{ has 'taken' && has "value=\"$C\"" && has 'value="Again"'; } || fail "a taken slug is not explained with the input kept"
ok "tenant create: bad, reserved and taken slugs re-render with input and message; success is listed, audited, unpublished"

# --- suspend -------------------------------------------------------------------
code=$(req GET "/admin/tenants/$C" "$ADM_C")
expect 200 "$code" "overview of the new tenant"
has "Not published" || fail "the overview does not say the page is unpublished"
has "/admin/tenants/$C/suspend" || fail "no suspend form for the operator"
code=$(post_form "/admin/tenants/$C/suspend" "$ADM_C" "csrf=$ADM_CSRF")
expect 303 "$code" "suspend"
[[ $(psql_q "SELECT status FROM tenants WHERE slug = '$C'") == suspended ]] || fail "not suspended"
code=$(post_form "/admin/tenants/$C/unsuspend" "$ADM_C" "csrf=$ADM_CSRF")
expect 303 "$code" "unsuspend"
[[ $(psql_q "SELECT status FROM tenants WHERE slug = '$C'") == active ]] || fail "not active again"
audit=$(psql_q "SELECT string_agg(action || ':' || (diff->'/status'->>'new'), ',' ORDER BY id) FROM audit_log
	WHERE tenant_id = $C_ID AND user_id = $ADM_ID AND action LIKE 'tenant.%suspend'")
[[ $audit == "tenant.suspend:suspended,tenant.unsuspend:active" ]] ||
	fail "suspend/unsuspend audit entries"
ok "suspend and unsuspend (operator, CSRF-checked) are audited with their diff"

# --- the list: search by name or slug, filter by status ---------------------------
psql_q "UPDATE tenants SET status = 'suspended' WHERE slug = '$B'" >/dev/null
code=$(req GET "/admin/?q=adm-&status=suspended" "$ADM_C")
expect 200 "$code" "suspended tenants"
has "/admin/tenants/$B\"" || fail "the suspended filter does not show $B"
has "/admin/tenants/$A\"" && fail "the suspended filter shows the active $A"
has '<option value="suspended" selected>' || fail "the status chosen is not kept"
code=$(req GET "/admin/?q=adm-&status=active" "$ADM_C")
expect 200 "$code" "active tenants"
{ has "/admin/tenants/$A\"" && ! has "/admin/tenants/$B\""; } || fail "the active filter is wrong"
code=$(req GET "/admin/?q=$(uri "New & Shiny")" "$ADM_C")
expect 200 "$code" "search by name"
has "/admin/tenants/$C\"" || fail "search by name does not find $C"
code=$(req GET "/admin/?q=adm-&status=nonsense" "$ADM_C")
expect 200 "$code" "an unknown status"
{ has "/admin/tenants/$A\"" && has "/admin/tenants/$B\""; } || fail "an unknown status does not show all"
code=$(req GET "/admin/?status=suspended" "$ED_C")
expect 200 "$code" "the editor's suspended filter"
has "/admin/tenants/$B\"" && fail "the editor's filter shows $B"
psql_q "UPDATE tenants SET status = 'active' WHERE slug = '$B'" >/dev/null
ok "the tenant list searches by name or slug and filters by status"

# The list comes 200 at a time in slug order (the stack has 1000 seeded).
code=$(req GET "/admin/" "$ADM_C")
expect 200 "$code" "the first page"
last=$(grep -o 'name="after" value="[^"]*"' "$tmp/body" | sed 's/.*value="//; s/"$//')
[[ -n $last ]] || fail "no Next button on a list of more than 200"
[[ $(grep -c 'href="/admin/tenants/[^"/]*"' "$tmp/body") -ge 200 ]] || fail "the first page has fewer than 200"
code=$(req GET "/admin/?after=$(uri "$last")" "$ADM_C")
expect 200 "$code" "the next page"
has "/admin/tenants/$last\"" && fail "the next page repeats $last"
first_next=$(grep -o 'href="/admin/tenants/[^"/]*"' "$tmp/body" | grep -v '/new"' | head -n 1 |
	sed 's|.*/||; s/"$//')
[[ $first_next > $last ]] || fail "the next page starts at $first_next, not after $last"
has 'name="after" value=""' || fail "no way back to the first page"
code=$(req GET "/admin/?q=adm-&after=$(uri "$A")" "$ADM_C")
{ has "/admin/tenants/$B\"" && ! has "/admin/tenants/$A\""; } || fail "a searched page after $A is wrong"
ok "the tenant list pages 200 at a time by slug, searches included"

# --- rename ------------------------------------------------------------------------
printf '%s\n' "$PW_OW" | canopy user add --email "$OW" --name "Owen Owner" \
	--password-stdin >/dev/null 2>&1 || fail "canopy user add (owner)"
canopy user member --email "$OW" --tenant "$C" --role owner >/dev/null 2>&1 || fail "canopy user member (owner)"
canopy user member --email "$ED" --tenant "$C" --role editor >/dev/null 2>&1 || fail "canopy user member (editor of C)"
code=$(login "$OW" "$PW_OW")
expect 303 "$code" "owner sign-in"
OW_C=$(cookie)
code=$(req GET "/admin/tenants/$C" "$OW_C")
expect 200 "$code" "the owner's overview"
has "href=\"/admin/tenants/$C/rename\"" || fail "no rename link for the owner"
OW_CSRF=$(csrf_of)
code=$(req GET "/admin/tenants/$C" "$ED_C")
has "/admin/tenants/$C/rename" && fail "the editor is offered rename"
code=$(req GET "/admin/tenants/$C/rename" "$ED_C")
expect 404 "$code" "the editor's rename form"
code=$(post_form "/admin/tenants/$C/rename" "$ED_C" "csrf=$ED_CSRF&name=Editor+was+here")
expect 404 "$code" "the editor renames"
code=$(req GET "/admin/tenants/$A/rename" "$OW_C")
expect 404 "$code" "the owner of $C renames $A"
code=$(req GET "/admin/tenants/$C/rename" "$OW_C")
expect 200 "$code" "the owner's rename form"
has 'value="New &amp; Shiny"' || fail "the form does not show the name"
has 'name="slug"' && fail "an owner is offered the slug"
code=$(post_form "/admin/tenants/$C/rename" "$OW_C" "csrf=$OW_CSRF&name=+++")
expect 422 "$code" "an empty name"
{ has 'id="name-error"' && has 'aria-invalid="true"'; } || fail "no message next to the empty name"
code=$(post_form "/admin/tenants/$C/rename" "$OW_C" "csrf=$OW_CSRF&name=Shiny+Owned&slug=owner-took-$$")
expect 303 "$code" "the owner renames"
[[ $(hdr Location) == "/admin/tenants/$C" ]] || fail "rename goes to $(hdr Location)"
[[ $(psql_q "SELECT name || '|' || slug FROM tenants WHERE id = $C_ID") == "Shiny Owned|$C" ]] ||
	fail "the owner's rename: $(psql_q "SELECT name || '|' || slug FROM tenants WHERE id = $C_ID")"
OW_ID=$(psql_q "SELECT id FROM users WHERE email = '$OW'")
[[ $(psql_q "SELECT diff->'/name'->>'old' || '>' || (diff->'/name'->>'new') || '|' || (diff ? '/slug')::text
	FROM audit_log WHERE action = 'tenant.rename' AND tenant_id = $C_ID AND user_id = $OW_ID") == \
	"New & Shiny>Shiny Owned|false" ]] || fail "the owner's rename is not audited as a name change"

# The operator moves the site: publish it first, so the move shows.
code=$(post_form "/admin/tenants/$C/page/publish" "$ADM_C" "csrf=$ADM_CSRF")
expect 303 "$code" "publish $C"
site_of() { echo "https://$1.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT/"; }
wait_for 5 bash -c "curl -s --cacert '$CANOPY_CA' --resolve '$C.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT:127.0.0.1' \
	'$(site_of "$C")' | grep -q 'Shiny Owned'" || fail "the published site does not show the name"
code=$(req GET "/admin/tenants/$C/rename" "$ADM_C")
expect 200 "$code" "the operator's rename form"
has "name=\"slug\"" || fail "the operator is not offered the slug"
code=$(post_form "/admin/tenants/$C/rename" "$ADM_C" "csrf=$ADM_CSRF&name=Moved&slug=www")
expect 422 "$code" "a reserved slug"
{ has 'id="slug-error"' && has 'reserved' && has 'value="www"' && has 'value="Moved"'; } ||
	fail "a reserved slug is not explained with the input kept"
code=$(post_form "/admin/tenants/$C/rename" "$ADM_C" "csrf=$ADM_CSRF&name=Moved&slug=$B")
expect 422 "$code" "a taken slug"
{ has 'taken' && has "value=\"$B\""; } || fail "a taken slug is not explained"
code=$(post_form "/admin/tenants/$C/rename" "$ADM_C" "csrf=$ADM_CSRF&name=Moved&slug=No--Good")
expect 422 "$code" "a malformed slug"
[[ $(psql_q "SELECT name || '|' || slug FROM tenants WHERE id = $C_ID") == "Shiny Owned|$C" ]] ||
	fail "a refused rename changed the tenant"
code=$(post_form "/admin/tenants/$C/rename" "$ADM_C" "csrf=$ADM_CSRF&name=Moved+Along&slug=$C2")
expect 303 "$code" "the operator moves the tenant"
[[ $(hdr Location) == "/admin/tenants/$C2" ]] || fail "the move goes to $(hdr Location)"
[[ $(psql_q "SELECT slug FROM tenants WHERE id = $C_ID") == "$C2" ]] || fail "the slug did not change"
[[ $(psql_q "SELECT diff->'/slug'->>'old' || '>' || (diff->'/slug'->>'new') FROM audit_log
	WHERE action = 'tenant.rename' AND tenant_id = $C_ID AND user_id = $ADM_ID") == "$C>$C2" ]] ||
	fail "the move is not audited"
code=$(status_of "$(site_of "$C")")
[[ $code == 404 ]] || fail "the old address still answers $code"
page=$(get "$(site_of "$C2")") || fail "the new address does not answer"
grep -q 'Moved Along' <<<"$page" || fail "the new address shows a stale name"
code=$(req GET "/admin/tenants/$C" "$OW_C")
expect 404 "$code" "the old slug in the admin"
code=$(req GET "/admin/tenants/$C2" "$OW_C")
expect 200 "$code" "the owner follows the tenant"
code=$(post_form /admin/tenants/new "$ADM_C" "csrf=$ADM_CSRF&slug=$C&name=Took+the+old+slug")
expect 303 "$code" "a new tenant on the freed slug"
ok "rename: owners change the name, operators also the slug (rules of a new one, input kept); the site moves at once, the old slug is free; audited"

# --- password change -----------------------------------------------------------
code=$(login "$ED" "$PW_ED")
expect 303 "$code" "editor's second session"
ED_C2=$(cookie)
code=$(req GET /admin/password "$ED_C")
expect 200 "$code" "password form"
has 'autocomplete="new-password"' || fail "the password form lacks autocomplete hints"
pw_enc=$(jq -rn --arg v "$PW_ED" '$v|@uri')
code=$(post_form /admin/password "$ED_C" "csrf=$ED_CSRF&current=wrong-one-entirely&new=brand+new+password+4&confirm=brand+new+password+4")
expect 422 "$code" "password change with a wrong current password"
has 'id="current-error"' || fail "no message next to the current password"
code=$(post_form /admin/password "$ED_C" "csrf=$ED_CSRF&current=$pw_enc&new=brand+new+password+4&confirm=different+one+here+5")
expect 422 "$code" "password change with differing passwords"
has 'id="confirm-error"' || fail "no message next to the confirmation"
code=$(post_form /admin/password "$ED_C" "csrf=$ED_CSRF&current=$pw_enc&new=short&confirm=short")
expect 422 "$code" "password change to a short password"
has 'id="new-error"' || fail "no message next to the short password"
has "$PW_ED" && fail "a password is echoed back into the page"
code=$(post_form /admin/password "$ED_C" "csrf=$ED_CSRF&current=$pw_enc&new=brand+new+password+4&confirm=brand+new+password+4")
expect 200 "$code" "password change"
has "Your password was changed" || fail "no confirmation"
code=$(req GET /admin/ "$ED_C")
expect 200 "$code" "the session that changed the password"
code=$(req GET /admin/ "$ED_C2")
expect 303 "$code" "another session after a password change"
code=$(login "$ED" "$PW_ED")
expect 422 "$code" "the old password"
code=$(login "$ED" "brand new password 4")
expect 303 "$code" "the new password"
[[ $(psql_q "SELECT count(*) FROM audit_log WHERE action = 'user.password'
	AND user_id = (SELECT id FROM users WHERE email = '$ED')") == 1 ]] || fail "password change not audited"
ok "password change: re-auth, field messages, other sessions signed out, audited"

# --- logout ----------------------------------------------------------------------
code=$(req GET /admin/ "$ADM_C")
expect 200 "$code" "before logout"
csrf=$(csrf_of)
code=$(post_form /admin/logout "$ADM_C" "csrf=$csrf")
expect 303 "$code" "logout"
[[ $(hdr Location) == /admin/login ]] || fail "logout goes to $(hdr Location)"
[[ $(hdr Set-Cookie) == "canopy_session=; Path=/admin; Max-Age=0"* ]] || fail "logout cookie: $(hdr Set-Cookie)"
for p in /admin/ "/admin/tenants/$A"; do
	code=$(req GET "$p" "$ADM_C")
	expect 303 "$code" "replayed cookie after logout ($p)"
	[[ $(hdr Location) == /admin/login ]] || fail "replay goes to $(hdr Location)"
done
code=$(post_form "/admin/tenants/$A/suspend" "$ADM_C" "csrf=$csrf")
expect 303 "$code" "replayed cookie and token after logout (POST)"
[[ $(psql_q "SELECT status FROM tenants WHERE slug = '$A'") == active ]] || fail "a dead session changed something"
ok "after logout the stolen cookie (and its CSRF token) only leads to the sign-in form"

# --- throttling ------------------------------------------------------------------
for i in 1 2 3 4 5; do
	code=$(login "$TH" "wrong guess number $i")
	expect 422 "$code" "wrong attempt $i"
done
code=$(login "$TH" "$PW_TH")
expect 429 "$code" "the right password after 5 wrong ones"
[[ -z $(cookie) ]] || fail "a throttled sign-in set a cookie"
wait_s=$(hdr Retry-After)
{ [[ $wait_s =~ ^[0-9]+$ ]] && ((wait_s > 0)); } || fail "Retry-After: '$wait_s'"
has "try again in" || fail "the 429 page does not say when to try again"
ok "after 5 wrong passwords even the right one is refused (429, Retry-After $wait_s) from any address"

# nginx: sign-in POSTs from one address beyond the burst get 429 at the
# edge, before a responder hashes anything; the form itself stays reachable.
statuses=()
for i in 1 2 3 4 5 6 7 8; do
	statuses+=("$(post_form /admin/login "" "email=&password=" --interface 127.0.20.1)")
done
[[ ${statuses[0]} == 422 ]] || fail "the first empty sign-in: ${statuses[0]}"
[[ " ${statuses[*]} " == *" 429 "* ]] || fail "no 429 from nginx in 8 quick sign-ins: ${statuses[*]}"
expect 429 "${statuses[7]}" "the last of 8 quick sign-ins"
[[ $(hdr Retry-After) == 60 ]] || fail "nginx's 429 for sign-ins: Retry-After '$(hdr Retry-After)'"
code=$(req GET /admin/login "" --interface 127.0.20.1)
expect 200 "$code" "the form from a limited address"
ok "nginx limits sign-in POSTs per address (${statuses[*]}, Retry-After 60); GETs of the form are not counted"
