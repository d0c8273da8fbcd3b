#!/usr/bin/env bash
# The admin's team screens (lib/admin_team.c) through nginx over verified
# TLS: members and invitations (the link shown once, accepted by a new
# person who is then signed in, used and withdrawn links refused), roles
# (an editor gets 404 where only owners may go; the last owner stays), API
# keys (shown once, with the scopes ticked, works against /api/v1 within
# them until revoked), nginx's limit on invitation posts, credentials
# (stored sealed, never shown), the audit log per tenant and across
# tenants, CSRF on every form, and an owner of A getting 404 on every
# route of B.
#
# Every sign-in POST and invitation POST goes out from an address of its
# own (127.0.12.N), as in 40-admin.sh, so nginx's per-IP limits on them
# are not hit but where this script tests one.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

BASE="https://$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT"
A=team-a-$$
B=team-b-$$
OA=owner-a-$$@example.com
OB=owner-b-$$@example.com
ADM=team-ops-$$@example.com
NEW=new-editor-$$@example.com
PW_OA='owner a correct horse 1'
PW_OB='owner b correct horse 2'
PW_ADM='operator team staple 3'
PW_NEW='new editor battery 4'
SECRET="xoxb-team-secret-$$-value"
tmp=$(mktemp -d)

cleanup() {
	psql_q "DELETE FROM tenants WHERE slug IN ('$A', '$B')" >/dev/null 2>&1 || true
	drop_users "$OA" "$OB" "$ADM" "$NEW"
	rm -rf "$tmp"
}
trap cleanup EXIT

ADMIN_IP_NET=127.0.12
# shellcheck source=tests/integration/helpers/admin.sh
source "$(dirname "$0")/helpers/admin.sh"
# sign_in EMAIL PASSWORD: the session cookie, or the script fails.
sign_in() {
	local code
	code=$(login "$1" "$2")
	[[ $code == 303 && -s $tmp/cookie ]] || { echo "not ok - sign-in of $1: $code" >&2; exit 1; }
	cookie
}
# csrf_for COOKIE: a CSRF token of that session (from the dashboard).
csrf_for() {
	local code
	code=$(req GET /admin/ "$1")
	[[ $code == 200 ]] || { echo "not ok - dashboard: $code" >&2; exit 1; }
	csrf_of
}
# keep NAME: with CANOPY_TEAM_KEEP set (a directory), keeps the last page
# there as NAME.html, for a person to look at.
keep() {
	[[ -z ${CANOPY_TEAM_KEEP:-} ]] || cp "$tmp/body" "$CANOPY_TEAM_KEEP/$1.html"
}
audit_count() { # TENANT ACTION
	psql_q "SELECT count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
		WHERE t.slug = '$1' AND a.action = '$2'"
}

# --- people and tenants ----------------------------------------------------------
for s in "$A" "$B"; do
	psql_q "INSERT INTO tenants (slug, name) VALUES ('$s', 'Team test $s')" >/dev/null
done
add_user() { # EMAIL NAME PASSWORD [--admin]
	printf '%s\n' "$3" | canopy user add --email "$1" --name "$2" ${4:+"$4"} \
		--password-stdin >/dev/null 2>"$tmp/cli.err" || fail "canopy user add $1: $(cat "$tmp/cli.err")"
}
add_user "$OA" "Olive Owner" "$PW_OA"
add_user "$OB" "Bob Owner" "$PW_OB"
add_user "$ADM" "Otto Operator" "$PW_ADM" --admin
canopy user member --email "$OA" --tenant "$A" --role owner >/dev/null 2>&1 || fail "member OA"
canopy user member --email "$OB" --tenant "$B" --role owner >/dev/null 2>&1 || fail "member OB"
OA_ID=$(psql_q "SELECT id FROM users WHERE email = '$OA'")
OB_ID=$(psql_q "SELECT id FROM users WHERE email = '$OB'")
ok "two tenants, an owner each, an operator"

OA_C=$(sign_in "$OA" "$PW_OA")
OA_CSRF=$(csrf_for "$OA_C")
OB_C=$(sign_in "$OB" "$PW_OB")
OB_CSRF=$(csrf_for "$OB_C")

# --- the overview links to the screens --------------------------------------------
code=$(req GET "/admin/tenants/$A" "$OA_C")
expect 200 "$code" "tenant overview"
for s in members keys credentials audit; do
	has "href=\"/admin/tenants/$A/$s\"" || fail "the overview does not link to $s"
done
ok "the tenant overview links to members, keys, credentials and audit"

# --- CSRF ------------------------------------------------------------------------------
code=$(post_form "/admin/tenants/$A/members/invite" "$OA_C" "email=x-$$@example.com&role=viewer")
expect 403 "$code" "invite without a CSRF token"
code=$(post_form "/admin/tenants/$A/members/invite" "$OA_C" \
	"csrf=${OA_CSRF:0:20}AAAA${OA_CSRF:24}&email=x-$$@example.com&role=viewer")
expect 403 "$code" "invite with a wrong CSRF token"
code=$(post_form "/admin/tenants/$A/keys" "$OA_C" "csrf=$OB_CSRF&name=stolen")
expect 403 "$code" "key creation with another session's CSRF token"
code=$(post_form "/admin/tenants/$A/credentials" "$OA_C" \
	"name=x&kind=smtp&secret=%7B%22a%22%3A1%7D")
expect 403 "$code" "credential without a CSRF token"
[[ $(psql_q "SELECT count(*) FROM invitations i JOIN tenants t ON t.id = i.tenant_id
	WHERE t.slug = '$A'") == 0 ]] || fail "a refused form left an invitation"
[[ $(psql_q "SELECT count(*) FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
	WHERE t.slug = '$A'") == 0 ]] || fail "a refused form left a key"
ok "forms without or with a wrong CSRF token get 403 and change nothing"

# --- invitations -------------------------------------------------------------------------
code=$(post_form "/admin/tenants/$A/members/invite" "$OA_C" "csrf=$OA_CSRF&email=not-an-address&role=editor")
expect 422 "$code" "invite of a malformed address"
has 'value="not-an-address"' || fail "the address typed was not kept"
has 'class="admin-error"' || fail "no message next to the field"
code=$(post_form "/admin/tenants/$A/members/invite" "$OA_C" "csrf=$OA_CSRF&email=$(uri "$NEW")&role=editor")
expect 200 "$code" "invite"
keep members-invited
link=$(grep -o "value=\"https://[^\"]*/admin/invite/[^\"]*\"" "$tmp/body" | sed 's/^value="//; s/"$//' || true)
[[ $link == "$BASE/admin/invite/"* ]] || fail "no invitation link in the page (got '$link')"
token=${link##*/}
[[ ${#token} -ge 43 ]] || fail "short token"
[[ $(psql_q "SELECT count(*) FROM invitations WHERE token_hash = encode(sha256('$token'::bytea), 'hex')
	AND email = '$NEW' AND role = 'editor'") == 1 ]] || fail "the invitation is not stored by its hash"
[[ $(psql_q "SELECT count(*) FROM invitations i WHERE i::text LIKE '%$token%'") == 0 ]] ||
	fail "the token is stored in clear"
code=$(req GET "/admin/tenants/$A/members" "$OA_C")
expect 200 "$code" "members"
has "$token" && fail "the invitation link is shown again"
has "$NEW" || fail "the open invitation is not listed"
has "Olive Owner" || fail "the owner is not listed"
ok "an owner invites by e-mail; the link is shown once and stored hashed"

code=$(req GET "/admin/invite/$token" "")
expect 200 "$code" "the invitation, signed out"
keep invite
has 'name="password"' || fail "no account form"
has "$NEW" || fail "the invited address is not shown"
code=$(post_form "/admin/invite/$token" "" "name=Nina+New&password=short&confirm=short" --interface "$(next_ip)")
expect 422 "$code" "a short password"
has 'value="Nina New"' || fail "the name was not kept"
code=$(post_form "/admin/invite/$token" "" \
	"name=Nina+New&password=$(uri "$PW_NEW")&confirm=$(uri "$PW_NEW")" --interface "$(next_ip)")
expect 303 "$code" "accepting the invitation"
[[ $(hdr Location) == "/admin/tenants/$A" ]] || fail "Location: $(hdr Location)"
NEW_C=$(hdr Set-Cookie | sed -n 's/^canopy_session=\([^;]*\);.*/\1/p')
[[ -n $NEW_C ]] || fail "the new person is not signed in"
code=$(req GET "/admin/tenants/$A" "$NEW_C")
expect 200 "$code" "the new editor's view of the tenant"
has "Team test $A" || fail "the tenant is not shown"
[[ $(psql_q "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id
	JOIN tenants t ON t.id = m.tenant_id WHERE u.email = '$NEW' AND t.slug = '$A'") == editor ]] ||
	fail "no editor membership"
NEW_ID=$(psql_q "SELECT id FROM users WHERE email = '$NEW'")
code=$(req GET "/admin/invite/$token" "")
expect 410 "$code" "a used invitation"
has "used already" || fail "no clear message for a used link"
code=$(post_form "/admin/invite/$token" "" "name=Again&password=$(uri "$PW_NEW")&confirm=$(uri "$PW_NEW")" \
	--interface "$(next_ip)")
expect 410 "$code" "posting a used invitation"
code=$(req GET "/admin/invite/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "")
expect 404 "$code" "an unknown invitation"
# An expired one.
code=$(post_form "/admin/tenants/$A/members/invite" "$OA_C" "csrf=$OA_CSRF&email=late-$$@example.com&role=viewer")
expect 200 "$code" "second invite"
late=$(grep -o "/admin/invite/[A-Za-z0-9_-]*" "$tmp/body" | head -n 1 || true)
psql_q "UPDATE invitations SET created_at = now() - interval '9 days', expires_at = now() - interval '1 day'
	WHERE email = 'late-$$@example.com'" >/dev/null
code=$(req GET "$late" "")
expect 410 "$code" "an expired invitation"
has "expired" || fail "no clear message for an expired link"
ok "the link creates the account, signs the person in, and works once"

# --- withdrawing an invitation -------------------------------------------------------
code=$(post_form "/admin/tenants/$A/members/invite" "$OA_C" "csrf=$OA_CSRF&email=gone-$$@example.com&role=editor")
expect 200 "$code" "an invitation to withdraw"
wd=$(grep -o "/admin/invite/[A-Za-z0-9_-]*" "$tmp/body" | head -n 1 || true)
[[ -n $wd ]] || fail "no link"
WD_ID=$(psql_q "SELECT id FROM invitations WHERE email = 'gone-$$@example.com'")
code=$(req GET "/admin/tenants/$A/members" "$OA_C")
expect 200 "$code" "members with an open invitation"
has "action=\"/admin/tenants/$A/members/invitations/$WD_ID/withdraw\"" || fail "no withdraw form for the open invitation"
keep members-withdraw
code=$(post_form "/admin/tenants/$A/members/invitations/$WD_ID/withdraw" "$OA_C" "")
expect 403 "$code" "withdraw without a CSRF token"
code=$(post_form "/admin/tenants/$A/members/invitations/$WD_ID/withdraw" "$NEW_C" "csrf=$(csrf_for "$NEW_C")")
expect 404 "$code" "an editor withdraws"
code=$(post_form "/admin/tenants/$B/members/invitations/$WD_ID/withdraw" "$OB_C" "csrf=$OB_CSRF")
expect 404 "$code" "B's owner withdraws A's invitation through B"
code=$(post_form "/admin/tenants/$A/members/invitations/$WD_ID/withdraw" "$OB_C" "csrf=$OB_CSRF")
expect 404 "$code" "B's owner withdraws A's invitation through A"
[[ $(psql_q "SELECT revoked_at IS NULL FROM invitations WHERE id = $WD_ID") == t ]] || fail "a refused withdrawal withdrew"
code=$(req GET "$wd" "")
expect 200 "$code" "the link before it is withdrawn"
code=$(post_form "/admin/tenants/$A/members/invitations/$WD_ID/withdraw" "$OA_C" "csrf=$OA_CSRF")
expect 303 "$code" "withdraw"
[[ $(hdr Location) == "/admin/tenants/$A/members" ]] || fail "withdraw goes to $(hdr Location)"
[[ $(psql_q "SELECT revoked_at IS NOT NULL AND accepted_at IS NULL FROM invitations WHERE id = $WD_ID") == t ]] ||
	fail "the invitation is not withdrawn"
code=$(req GET "$wd" "")
expect 410 "$code" "a withdrawn link"
has "withdrawn" || fail "no clear message for a withdrawn link"
code=$(post_form "$wd" "" "name=Too+Late&password=$(uri "$PW_NEW")&confirm=$(uri "$PW_NEW")" --interface "$(next_ip)")
expect 410 "$code" "accepting a withdrawn link"
[[ $(psql_q "SELECT count(*) FROM users WHERE email = 'gone-$$@example.com'") == 0 ]] || fail "a withdrawn link made an account"
code=$(post_form "/admin/tenants/$A/members/invitations/$WD_ID/withdraw" "$OA_C" "csrf=$OA_CSRF")
expect 404 "$code" "withdrawing twice"
code=$(req GET "/admin/tenants/$A/members" "$OA_C")
has "gone-$$@example.com" && fail "a withdrawn invitation is still listed"
[[ $(psql_q "SELECT count(*) FROM audit_log WHERE action = 'member.invite_withdraw' AND object_id = '$WD_ID'
	AND user_id = $OA_ID AND diff->'/withdrawn'->>'new' = 'true'") == 1 ]] || fail "the withdrawal is not audited"
ok "an owner withdraws an open invitation (audited); its link then says so (410); others get 404"

# --- nginx limits invitation posts per address ----------------------------------------
statuses=()
ip=$(next_ip)
for i in 1 2 3 4 5 6 7 8; do
	statuses+=("$(post_form "/admin/invite/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$i" "" "name=x" --interface "$ip")")
done
[[ ${statuses[0]} == 404 ]] || fail "the first invitation post: ${statuses[0]}"
[[ ${statuses[7]} == 429 ]] || fail "no 429 from nginx in 8 quick invitation posts: ${statuses[*]}"
expect 429 "${statuses[7]}" "nginx's 429 on invitation posts"
[[ $(hdr Retry-After) == 60 ]] || fail "nginx's 429 for an invitation post: Retry-After '$(hdr Retry-After)'"
code=$(req GET "/admin/invite/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1" "" --interface "$ip")
expect 404 "$code" "the invitation page from a limited address"
ok "nginx limits invitation posts per address (${statuses[*]}), with Retry-After; GETs are not counted"

# --- what an editor may not do ----------------------------------------------------------
NEW_CSRF=$(csrf_for "$NEW_C")
for p in keys credentials audit; do
	code=$(req GET "/admin/tenants/$A/$p" "$NEW_C")
	expect 404 "$code" "editor GET $p"
done
code=$(req GET "/admin/tenants/$A/members" "$NEW_C")
expect 200 "$code" "editor sees the members"
has "members/invite" && fail "an editor is offered the invite form"
for p in members/invite "members/$OA_ID/role" "members/$OA_ID/remove" keys credentials \
	"credentials/x/delete" "keys/1/revoke"; do
	code=$(post_form "/admin/tenants/$A/$p" "$NEW_C" \
		"csrf=$NEW_CSRF&email=e-$$@example.com&role=viewer&name=x&kind=smtp&secret=%7B%22a%22%3A1%7D")
	expect 404 "$code" "editor POST $p"
done
code=$(req GET /admin/audit "$NEW_C")
expect 404 "$code" "editor GET /admin/audit"
code=$(req GET /admin/audit "$OA_C")
expect 404 "$code" "owner GET /admin/audit (operators only)"
ok "an editor gets 404 on keys, credentials, audit and member management"

# --- API keys ------------------------------------------------------------------------------
code=$(req GET "/admin/tenants/$A/keys" "$OA_C")
expect 200 "$code" "the keys page"
for sc in workflows:read workflows:write; do
	has "name=\"scope\" value=\"$sc\" checked" || fail "no ticked box for $sc"
done
code=$(post_form "/admin/tenants/$A/keys" "$OA_C" "csrf=$OA_CSRF&name=&scope=workflows:read")
expect 422 "$code" "a key without a name"
has 'id="key-name-error"' || fail "no message next to the name"
code=$(post_form "/admin/tenants/$A/keys" "$OA_C" "csrf=$OA_CSRF&name=No+scope")
expect 422 "$code" "a key without a scope"
has 'id="scope-error"' || fail "no message next to the scopes"
has 'value="No scope"' || fail "the name typed is not kept"
has 'value="workflows:read" checked' && fail "a box not ticked comes back ticked"
code=$(post_form "/admin/tenants/$A/keys" "$OA_C" "csrf=$OA_CSRF&name=Odd&scope=admin")
expect 422 "$code" "a key with an unknown scope"
has 'id="scope-error"' || fail "no message for an unknown scope"
[[ $(psql_q "SELECT count(*) FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
	WHERE t.slug = '$A'") == 0 ]] || fail "a refused key form made a key"
code=$(post_form "/admin/tenants/$A/keys" "$OA_C" "csrf=$OA_CSRF&name=Reader&scope=workflows:read")
expect 200 "$code" "a read-only key"
rkey=$(grep -o 'cnp_[0-9a-f]\{12\}_[A-Za-z0-9_-]\{43\}' "$tmp/body" | head -n 1 || true)
[[ -n $rkey ]] || fail "the read key is not shown"
has '<td class="admin-key-scopes">workflows:read</td>' || fail "the list does not show the read key's scope"
code=$(_curl "$BASE/api/v1/workflows" -H "Authorization: Bearer $rkey" -o /dev/null -w '%{http_code}') || true
[[ $code == 200 ]] || fail "the read key lists: $code"
code=$(_curl "$BASE/api/v1/workflows/generate" -H "Authorization: Bearer $rkey" -H 'Content-Type: application/json' \
	--data-binary '{"prompt":"no","deploy":false}' -o "$tmp/api" -w '%{http_code}') || true
[[ $code == 403 && $(jq -r .error.code "$tmp/api") == insufficient_scope ]] ||
	fail "the read key generates: $code $(cat "$tmp/api")"
[[ $(psql_q "SELECT diff->'/scopes'->>'new' FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
	WHERE t.slug = '$A' AND a.action = 'apikey.create'") == '["workflows:read"]' ]] ||
	fail "the key's scopes are not in its audit entry"
code=$(post_form "/admin/tenants/$A/keys" "$OA_C" \
	"csrf=$OA_CSRF&name=CI+deploys&scope=workflows:read&scope=workflows:write")
expect 200 "$code" "key creation"
keep keys-created
key=$(grep -o 'cnp_[0-9a-f]\{12\}_[A-Za-z0-9_-]\{43\}' "$tmp/body" | head -n 1 || true)
[[ -n $key ]] || fail "the new key is not shown"
code=$(_curl "$BASE/api/v1/workflows" -H "Authorization: Bearer $key" -o /dev/null -w '%{http_code}') || true
[[ $code == 200 ]] || fail "the new key against /api/v1/workflows: $code"
code=$(req GET "/admin/tenants/$A/keys" "$OA_C")
expect 200 "$code" "keys"
has "$key" && fail "the key is shown again"
has "CI deploys" || fail "the key is not listed"
has '<td class="admin-key-scopes">workflows:read, workflows:write</td>' || fail "the list does not show both scopes"
KEY_ID=$(psql_q "SELECT k.id FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
	WHERE t.slug = '$A' AND k.name = 'CI deploys'")
code=$(post_form "/admin/tenants/$A/keys/$KEY_ID/revoke" "$OA_C" "csrf=$OA_CSRF")
expect 303 "$code" "revoke"
code=$(_curl "$BASE/api/v1/workflows" -H "Authorization: Bearer $key" -o /dev/null -w '%{http_code}') || true
[[ $code == 401 ]] || fail "a revoked key: $code"
code=$(req GET "/admin/tenants/$A/keys" "$OA_C")
has "revoked" || fail "the key is not shown as revoked"
ok "keys made in the form carry the scopes ticked (at least one), are shown once, and stop at revoke"

# --- credentials --------------------------------------------------------------------------
code=$(post_form "/admin/tenants/$A/credentials" "$OA_C" \
	"csrf=$OA_CSRF&name=slackMain&kind=slackApi&secret=$(uri "{\"accessToken\": \"$SECRET\"")")
expect 422 "$code" "a credential with broken JSON"
has 'value="slackMain"' || fail "the name was not kept"
has '<option value="slackApi" selected>' || fail "the kind was not kept"
has "$SECRET" && fail "the secret is echoed back"
code=$(post_form "/admin/tenants/$A/credentials" "$OA_C" \
	"csrf=$OA_CSRF&name=1bad&kind=nope&secret=$(uri "{\"accessToken\": \"$SECRET\"}")")
expect 422 "$code" "a credential with a bad name and kind"
keep credentials-invalid
[[ $(grep -c 'class="admin-error"' "$tmp/body") -ge 2 ]] || fail "not a message per field"
has "$SECRET" && fail "the secret is echoed back"
code=$(post_form "/admin/tenants/$A/credentials" "$OA_C" \
	"csrf=$OA_CSRF&name=slackMain&kind=slackApi&secret=$(uri "{\"accessToken\": \"$SECRET\"}")")
expect 200 "$code" "credential stored"
has "slackMain" || fail "the credential is not listed"
has "$SECRET" && fail "the secret is shown"
[[ $(psql_q "SELECT count(*) FROM credentials c JOIN tenants t ON t.id = c.tenant_id
	WHERE t.slug = '$A' AND c.name = 'slackMain' AND c.kind = 'slackApi' AND c.sealed LIKE 'v1.%'") == 1 ]] ||
	fail "the credential is not stored sealed"
[[ $(psql_q "SELECT count(*) FROM credentials c WHERE c::text LIKE '%$SECRET%'") == 0 ]] ||
	fail "the secret is in the credentials table"
[[ $(psql_q "SELECT count(*) FROM audit_log a WHERE a::text LIKE '%$SECRET%'") == 0 ]] ||
	fail "the secret is in the audit log"
for p in credentials audit members keys; do
	code=$(req GET "/admin/tenants/$A/$p" "$OA_C")
	expect 200 "$code" "GET $p"
	has "$SECRET" && fail "the secret appears on $p"
done
code=$(post_form "/admin/tenants/$A/credentials" "$OA_C" \
	"csrf=$OA_CSRF&name=gone&kind=smtp&secret=$(uri '{"user": "u", "password": "p-'$$'"}')")
expect 200 "$code" "second credential"
code=$(post_form "/admin/tenants/$A/credentials/gone/delete" "$OA_C" "csrf=$OA_CSRF")
expect 303 "$code" "credential delete"
[[ $(psql_q "SELECT count(*) FROM credentials c JOIN tenants t ON t.id = c.tenant_id
	WHERE t.slug = '$A' AND c.name = 'gone'") == 0 ]] || fail "the credential was not deleted"
ok "a credential is stored sealed, never shown, and deleted"

# --- tenant B's objects, for the isolation check --------------------------------------------
code=$(post_form "/admin/tenants/$B/keys" "$OB_C" "csrf=$OB_CSRF&name=B+key&scope=workflows:write")
expect 200 "$code" "B's key"
KEYB_ID=$(psql_q "SELECT k.id FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE t.slug = '$B' AND k.name = 'B key'")
code=$(post_form "/admin/tenants/$B/credentials" "$OB_C" \
	"csrf=$OB_CSRF&name=bSecret&kind=httpBearerAuth&secret=$(uri '{"token": "b-'$$'"}')")
expect 200 "$code" "B's credential"

# --- an owner of A gets 404 on every route of B --------------------------------------------
for p in members members/invite "members/$OB_ID/role" "members/$OB_ID/remove" \
	keys "keys/$KEYB_ID/revoke" credentials credentials/bSecret/delete audit; do
	for m in GET POST; do
		if [[ $m == GET ]]; then
			code=$(req GET "/admin/tenants/$B/$p" "$OA_C")
		else
			code=$(post_form "/admin/tenants/$B/$p" "$OA_C" \
				"csrf=$OA_CSRF&email=e-$$@example.com&role=owner&name=x&kind=smtp&secret=%7B%22a%22%3A1%7D")
		fi
		# A route that only answers the other method is 405 for everyone;
		# anything else must be 404.
		[[ $code == 404 || $code == 405 ]] || fail "owner of A: $m /admin/tenants/$B/$p: $code"
		if [[ $code == 405 ]]; then
			c2=$(req "$m" "/admin/tenants/$A/${p//$OB_ID/$OA_ID}" "$OA_C" -d "csrf=$OA_CSRF")
			[[ $c2 == 405 ]] || fail "$m $p: 405 for B but $c2 for A (reveals B)"
		fi
	done
done
[[ $(psql_q "SELECT revoked_at IS NULL FROM api_keys WHERE id = $KEYB_ID") == t ]] || fail "B's key was revoked"
[[ $(psql_q "SELECT count(*) FROM credentials c JOIN tenants t ON t.id = c.tenant_id
	WHERE t.slug = '$B'") == 1 ]] || fail "B's credential was touched"
[[ $(psql_q "SELECT count(*) FROM memberships m JOIN tenants t ON t.id = m.tenant_id
	WHERE t.slug = '$B'") == 1 ]] || fail "B's members were touched"
[[ $(psql_q "SELECT count(*) FROM invitations i JOIN tenants t ON t.id = i.tenant_id
	WHERE t.slug = '$B'") == 0 ]] || fail "an invitation to B was made"
# A's key id under A's slug but B's key: 404 as well.
code=$(post_form "/admin/tenants/$A/keys/$KEYB_ID/revoke" "$OA_C" "csrf=$OA_CSRF")
expect 404 "$code" "revoking B's key through A"
code=$(post_form "/admin/tenants/$A/members/$OB_ID/remove" "$OA_C" "csrf=$OA_CSRF")
expect 404 "$code" "removing B's owner through A"
ok "an owner of A gets 404 on every team route of B, ids guessed or copied"

# --- roles and the last owner --------------------------------------------------------------
code=$(post_form "/admin/tenants/$A/members/$OA_ID/remove" "$OA_C" "csrf=$OA_CSRF")
expect 422 "$code" "removing the last owner"
keep members-last-owner
has "last owner" || fail "no message for the last owner"
code=$(post_form "/admin/tenants/$A/members/$OA_ID/role" "$OA_C" "csrf=$OA_CSRF&role=editor")
expect 422 "$code" "demoting the last owner"
[[ $(psql_q "SELECT role FROM memberships m JOIN tenants t ON t.id = m.tenant_id
	WHERE t.slug = '$A' AND m.user_id = $OA_ID") == owner ]] || fail "the last owner changed"
code=$(post_form "/admin/tenants/$A/members/$NEW_ID/role" "$OA_C" "csrf=$OA_CSRF&role=viewer")
expect 303 "$code" "editor to viewer"
code=$(post_form "/admin/tenants/$A/members/$NEW_ID/remove" "$OA_C" "csrf=$OA_CSRF")
expect 303 "$code" "remove a member"
code=$(req GET "/admin/tenants/$A" "$NEW_C")
expect 404 "$code" "a removed member's view of the tenant"
ok "roles change, members go, the last owner stays"

# --- an invitation to someone with an account ------------------------------------------------
code=$(post_form "/admin/tenants/$A/members/invite" "$OA_C" "csrf=$OA_CSRF&email=$(uri "$OB")&role=viewer")
expect 200 "$code" "inviting B's owner to A"
inv=$(grep -o "/admin/invite/[A-Za-z0-9_-]*" "$tmp/body" | head -n 1 || true)
[[ -n $inv ]] || fail "no link"
code=$(req GET "$inv" "")
expect 200 "$code" "the invitation of an existing account, signed out"
has "has an account" || fail "no hint to sign in first"
has 'name="password"' && fail "an account form for an existing account"
code=$(post_form "$inv" "" "name=Evil&password=$(uri "$PW_NEW")&confirm=$(uri "$PW_NEW")" --interface "$(next_ip)")
expect 409 "$code" "creating an account over an existing one"
code=$(req GET "$inv" "$OA_C")
expect 200 "$code" "the invitation seen by another person"
has "another address" || fail "no message for another signed-in person"
code=$(post_form "$inv" "$OA_C" "csrf=$OA_CSRF" --interface "$(next_ip)")
expect 403 "$code" "accepting another person's invitation"
code=$(post_form "$inv" "$OB_C" "" --interface "$(next_ip)")
expect 403 "$code" "accepting without a CSRF token"
code=$(req GET "$inv" "$OB_C")
expect 200 "$code" "the invitation, signed in"
has "Accept the invitation" || fail "no accept button"
code=$(post_form "$inv" "$OB_C" "csrf=$OB_CSRF" --interface "$(next_ip)")
expect 303 "$code" "accepting, signed in"
[[ $(psql_q "SELECT m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id
	WHERE t.slug = '$A' AND m.user_id = $OB_ID") == viewer ]] || fail "B's owner did not join A"
ok "a signed-in person accepts an invitation to their own address only"

# --- the audit log ---------------------------------------------------------------------------
for act in member.invite member.join member.invite_withdraw apikey.create apikey.revoke \
	credential.put credential.delete member.role member.remove; do
	[[ $(audit_count "$A" "$act") -ge 1 ]] || fail "no audit entry $act"
done
[[ $(psql_q "SELECT count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
	WHERE t.slug = '$A' AND a.user_id = $OA_ID AND a.request_id IS NOT NULL
	AND a.action = 'member.role'") == 1 ]] || fail "the role change's entry lacks who or request id"
code=$(req GET "/admin/tenants/$A/audit" "$OA_C")
expect 200 "$code" "the tenant's log"
keep audit
has "member.role" || fail "the log does not show the role change"
has '<del>&quot;editor&quot;</del>' || fail "the diff is not shown readably"
has "$OA" || fail "the log does not say who"
has "credential.put" || fail "the log does not show the credential"
code=$(req GET "/admin/tenants/$A/audit?limit=2" "$OA_C")
expect 200 "$code" "a page of two"
[[ $(grep -c '<tr id="audit-' "$tmp/body") == 2 ]] || fail "limit=2 shows another count"
older=$(grep -o 'href="[^"]*before[^"]*"' "$tmp/body" |
	sed 's/^href="//; s/"$//; s/&#61;/=/g; s/&amp;/\&/g' || true)
[[ -n $older ]] || fail "no link to older entries"
code=$(req GET "$older" "$OA_C")
expect 200 "$code" "older entries"
[[ $(grep -c '<tr id="audit-' "$tmp/body") == 2 ]] || fail "the older page has another count"
ADM_C=$(sign_in "$ADM" "$PW_ADM")
code=$(req GET "/admin/audit?tenant=$A" "$ADM_C")
expect 200 "$code" "the operators' log, filtered"
has "member.invite" || fail "the operators' log lacks A's entries"
has "<code>$B</code>" && fail "the filter by $A shows $B"
code=$(req GET "/admin/audit" "$ADM_C")
expect 200 "$code" "the operators' log"
has "<code>$B</code>" || fail "the operators' log lacks B"
ok "every change is in the audit log; per tenant, across tenants, paginated"

# --- an owner steps down once another owner is there ----------------------------------------
code=$(post_form "/admin/tenants/$A/members/$OB_ID/role" "$OA_C" "csrf=$OA_CSRF&role=owner")
expect 303 "$code" "a second owner"
code=$(post_form "/admin/tenants/$A/members/$OA_ID/role" "$OA_C" "csrf=$OA_CSRF&role=editor")
expect 303 "$code" "the first owner steps down"
[[ $(hdr Location) == "/admin/tenants/$A" ]] || fail "Location after stepping down: $(hdr Location)"
code=$(post_form "/admin/tenants/$A/members/$OB_ID/remove" "$OA_C" "csrf=$OA_CSRF")
expect 404 "$code" "a former owner removing the owner"
[[ $(psql_q "SELECT string_agg(m.role, ',' ORDER BY m.role) FROM memberships m
	JOIN tenants t ON t.id = m.tenant_id WHERE t.slug = '$A'") == editor,owner ]] ||
	fail "A's members are not one editor and one owner"
ok "an owner steps down only while another owner remains"
