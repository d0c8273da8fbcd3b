#!/usr/bin/env bash
# Tenant isolation over EVERY route, through nginx over verified TLS: an
# editor (and an owner) of tenant A cannot read or change anything of
# tenant B through any admin form or API route, with B's ids guessed or
# copied.
#
# The routes come from the code (canopy routes: the admin's and the API's
# own tables), so a route added later is tried without anyone editing
# this file -- unless its path has a parameter this file has no value of
# B's for: then the script fails and says which, and the next person adds
# B's object to PARAM below.  For each route:
#
#   admin, path with {slug}   B's slug and B's ids: 404, the very page a
#                             missing tenant gets; A's slug with B's ids:
#                             404.  As A's editor and as A's owner (who
#                             may do everything in A, so a handler that
#                             checks the role but not whose object the id
#                             names is caught).  Without a session: 303 to
#                             the sign-in form.
#   admin, other paths        what EXPECT below says (operator screens are
#                             404); routes without an entry are checked
#                             for not failing and not showing B.
#   api                       A's key with B's ids: 404 in the API's error
#                             shape, like a missing id; an A key without
#                             the route's scope: 403 insufficient_scope;
#                             A's session cookie instead of a key: 401.
#
# Every answer must not contain B's name or other identifying strings, and
# a dump of B's rows (every table with a tenant_id, B's tenant, theme and
# members) must be the same before and after.
#
# Sign-in and invitation POSTs go out from addresses of their own
# (127.0.16.N), as in 40-admin.sh, so nginx's per-IP limits are not hit.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

BASE="https://$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT"
A=iso-a-$$
B=iso-b-$$
B_NAME="Bravo Isolated $$"
ADM=iso-ops-$$@example.com
EA=iso-editor-a-$$@example.com
OA=iso-owner-a-$$@example.com
OB=iso-owner-b-$$@example.com
B_INVITEE=iso-invitee-b-$$@example.com
PW_ADM='isolation operator pass 1'
PW_EA='isolation editor pass 2'
PW_OA='isolation owner a pass 3'
PW_OB='isolation owner b pass 4'
WFB_NAME="B secret flow $$"
tmp=$(mktemp -d)

cleanup() {
	psql_q "WITH t AS (DELETE FROM tenants WHERE slug IN ('$A', '$B') RETURNING theme_id)
		DELETE FROM themes WHERE id IN (SELECT theme_id FROM t)" >/dev/null 2>&1 || true
	drop_users "$ADM" "$EA" "$OA" "$OB"
	rm -rf "$tmp"
}
trap cleanup EXIT

ADMIN_IP_NET=127.0.16
# shellcheck source=tests/integration/helpers/admin.sh
source "$(dirname "$0")/helpers/admin.sh"
sign_in() { # EMAIL PASSWORD: the session cookie, or the script fails
	local code
	code=$(login "$1" "$2")
	[[ $code == 303 && -s $tmp/cookie ]] || { echo "not ok - sign-in of $1: $code" >&2; exit 1; }
	cookie
}
csrf_for() { # COOKIE: a CSRF token of that session
	local code
	code=$(req GET /admin/ "$1")
	[[ $code == 200 ]] || { echo "not ok - dashboard: $code" >&2; exit 1; }
	csrf_of
}
add_user() { # EMAIL NAME PASSWORD [--admin]
	printf '%s\n' "$3" | canopy user add --email "$1" --name "$2" ${4:+"$4"} \
		--password-stdin >/dev/null 2>"$tmp/cli.err" || fail "canopy user add $1: $(cat "$tmp/cli.err")"
}

# --- the routes, from the code ------------------------------------------------------
canopy routes >"$tmp/routes" || fail "canopy routes"
awk -F'\t' 'NF != 5 || ($1 != "admin" && $1 != "api") { bad = 1 } END { exit bad }' "$tmp/routes" ||
	fail "canopy routes printed a line that is not AREA METHOD PATTERN NAME ACCESS"
n_admin=$(grep -c '^admin' "$tmp/routes" || true)
n_api=$(grep -c '^api' "$tmp/routes" || true)
for want in admin.tenant admin.key_revoke admin.member_invite_withdraw admin.tenant_rename api.workflows.get; do
	cut -f4 "$tmp/routes" | grep -qx "$want" || fail "canopy routes does not list $want"
done
((n_admin >= 30 && n_api >= 8)) || fail "canopy routes lists only $n_admin admin and $n_api API routes"
ok "canopy routes lists $n_admin admin and $n_api API routes"

# --- two tenants, made as an operator makes them --------------------------------------
add_user "$ADM" "Iso Operator" "$PW_ADM" --admin
add_user "$EA" "Edna Editor" "$PW_EA"
add_user "$OA" "Oscar Owner" "$PW_OA"
add_user "$OB" "Bella Owner" "$PW_OB"
ADM_C=$(sign_in "$ADM" "$PW_ADM")
ADM_CSRF=$(csrf_for "$ADM_C")
for t in "$A:Alpha Isolated $$" "$B:$B_NAME"; do
	code=$(post_form /admin/tenants/new "$ADM_C" "csrf=$ADM_CSRF&slug=${t%%:*}&name=$(uri "${t#*:}")")
	expect 303 "$code" "create ${t%%:*}"
done
canopy user member --email "$EA" --tenant "$A" --role editor >/dev/null 2>&1 || fail "member EA"
canopy user member --email "$OA" --tenant "$A" --role owner >/dev/null 2>&1 || fail "member OA"
canopy user member --email "$OB" --tenant "$B" --role owner >/dev/null 2>&1 || fail "member OB"
B_ID=$(psql_q "SELECT id FROM tenants WHERE slug = '$B'")
OB_ID=$(psql_q "SELECT id FROM users WHERE email = '$OB'")
ok "tenants $A and $B; an editor and an owner of A, an owner of B"

# --- B's objects: one of each kind a path can name -----------------------------------
OB_C=$(sign_in "$OB" "$PW_OB")
OB_CSRF=$(csrf_for "$OB_C")
code=$(post_form "/admin/tenants/$B/keys" "$OB_C" \
	"csrf=$OB_CSRF&name=B+key+$$&scope=workflows:read&scope=workflows:write")
expect 200 "$code" "B's API key"
KEYB_ID=$(psql_q "SELECT id FROM api_keys WHERE tenant_id = $B_ID")
code=$(post_form "/admin/tenants/$B/credentials" "$OB_C" \
	"csrf=$OB_CSRF&name=bSecret&kind=httpBearerAuth&secret=$(uri '{"token": "b-'$$'"}')")
expect 200 "$code" "B's credential"
code=$(post_form "/admin/tenants/$B/members/invite" "$OB_C" "csrf=$OB_CSRF&email=$(uri "$B_INVITEE")&role=editor")
expect 200 "$code" "B's invitation"
TOKB=$(grep -o "/admin/invite/[A-Za-z0-9_-]*" "$tmp/body" | head -n 1 | sed 's|.*/||' || true)
[[ -n $TOKB ]] || fail "no invitation link for B"
INVB_ID=$(psql_q "SELECT id FROM invitations WHERE tenant_id = $B_ID")
VERB_ID=$(psql_q "INSERT INTO page_versions (tenant_id, page_id, json)
	SELECT tenant_id, id, json FROM pages WHERE tenant_id = $B_ID RETURNING id")
graph=$(jq -c . "$CANOPY_SRC/tests/workflows/valid/webhook-to-slack.json" | sed "s/'/''/g")
WFB_ID=$(psql_q "INSERT INTO workflows (tenant_id, name, prompt, json, graph_hash, version, status)
	VALUES ($B_ID, '$WFB_NAME', 'B prompt $$', '$graph', repeat('b', 64), 1, 'idle') RETURNING id")
psql_q "INSERT INTO workflow_versions (tenant_id, workflow_id, version, json, graph_hash, source)
	VALUES ($B_ID, $WFB_ID, 1, '$graph', repeat('b', 64), 'api')" >/dev/null
DEPB_ID=$(psql_q "INSERT INTO deployments (tenant_id, workflow_id, attempt, driver, graph_hash, status, url)
	VALUES ($B_ID, $WFB_ID, 1, 'n8n', repeat('b', 64), 'succeeded', 'https://hooks.example.org/b-$$')
	RETURNING id")
ok "B has a key, a credential, an open invitation, a page version, a workflow with a version and a deployment"

# What a path parameter is for B.  The key is the pattern up to and
# including the parameter, matched from the end, longest first; a bare
# name matches the parameter anywhere.  A parameter with no entry fails
# the script: add B's object here.
declare -A PARAM=(
	["{slug}"]=$B
	["{user}"]=$OB_ID
	["{token}"]=$TOKB
	["{name}"]=bSecret
	["members/{user}"]=$OB_ID
	["invitations/{id}"]=$INVB_ID
	["keys/{id}"]=$KEYB_ID
	["credentials/{name}"]=bSecret
	["invite/{token}"]=$TOKB
	["page/versions/{n}"]=$VERB_ID
	["workflows/{id}"]=$WFB_ID
	["workflows/{id}/versions/{n}"]=1
	["deployments/{id}"]=$DEPB_ID
	["deployments/{n}"]=$DEPB_ID
)

# lookup PREFIX: B's value for the parameter that ends PREFIX.
lookup() {
	local prefix=$1 key best=""
	for key in "${!PARAM[@]}"; do
		[[ $prefix == "/$key" || $prefix == *"/$key" ]] || continue
		((${#key} > ${#best})) && best=$key
	done
	[[ -n $best ]] || return 1
	printf '%s\n' "${PARAM[$best]}"
}

# path_for PATTERN SLUG: the pattern with B's values, the slug being SLUG.
path_for() {
	local pattern=$1 slug=$2 out="" prefix="" seg val
	local -a segs
	IFS='/' read -ra segs <<<"${pattern#/}"
	for seg in "${segs[@]}"; do
		prefix+="/$seg"
		if [[ $seg == "{"*"}" ]]; then
			if [[ $seg == "{slug}" ]]; then
				val=$slug
			else
				val=$(lookup "$prefix") ||
					{ echo "no value of B's for $seg in $pattern" >&2; return 1; }
			fi
			seg=$val
		fi
		out+="/$seg"
	done
	[[ $pattern == */ ]] && out+="/"
	printf '%s\n' "$out"
}

# Every parameter of every route has a value of B's.
while IFS=$'\t' read -r -u 3 area method pattern name access; do
	path_for "$pattern" "$B" >/dev/null 2>"$tmp/perr" ||
		fail "$area $method $pattern ($name): $(cat "$tmp/perr"); add B's object for it to PARAM in $0"
done 3<"$tmp/routes"
ok "every path parameter of every route has a value of B's"

# --- before -------------------------------------------------------------------------------
dump_b() {
	local t
	for t in $(psql_q "SELECT DISTINCT table_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name = 'tenant_id' ORDER BY 1"); do
		psql_q "SELECT '$t ' || to_jsonb(x)::text FROM $t x WHERE tenant_id = $B_ID ORDER BY 1"
	done
	psql_q "SELECT 'tenants ' || to_jsonb(x)::text FROM tenants x WHERE id = $B_ID"
	psql_q "SELECT 'themes ' || to_jsonb(x)::text FROM themes x
		WHERE id = (SELECT theme_id FROM tenants WHERE id = $B_ID)"
	psql_q "SELECT 'users ' || (to_jsonb(u) - 'password_hash')::text FROM users u
		JOIN memberships m ON m.user_id = u.id WHERE m.tenant_id = $B_ID ORDER BY 1"
}
dump_b >"$tmp/b.before"
grep -q "^workflows .*$WFB_NAME" "$tmp/b.before" || fail "the dump of B lacks its workflow"
grep -q '^api_keys ' "$tmp/b.before" || fail "the dump of B lacks its key"
[[ $(grep -c '^audit_log ' "$tmp/b.before") -ge 3 ]] || fail "the dump of B lacks its audit entries"

# --- A's people -----------------------------------------------------------------------------
EA_C=$(sign_in "$EA" "$PW_EA")
EA_CSRF=$(csrf_for "$EA_C")
OA_C=$(sign_in "$OA" "$PW_OA")
OA_CSRF=$(csrf_for "$OA_C")
EA_IP=$(next_ip)
OA_IP=$(next_ip)
NONE_IP=$(next_ip)
KA_ALL=$(canopy apikey create --tenant "$A" --name all 2>/dev/null) || fail "A's key"
KA_R=$(canopy apikey create --tenant "$A" --name read --scopes workflows:read 2>/dev/null) || fail "A's read key"
KA_W=$(canopy apikey create --tenant "$A" --name write --scopes workflows:write 2>/dev/null) || fail "A's write key"

# What a POST carries: every field some form reads, so a handler that
# forgot whose object it was would act (and answer something else than
# 404) instead of refusing for lack of input.
SINK="name=Hacked+$$&slug=hacked-$$&email=$(uri "hacker-$$@example.com")&role=owner"
SINK+="&kind=smtp&secret=$(uri '{"a": "b"}')&scope=workflows:read&scope=workflows:write"
SINK+="&op=save&hero.headline=Hacked&hero.primary_cta.label=x&hero.primary_cta.href=%23x"
SINK+="&cta.headline=x&cta.button.label=x&cta.button.href=%23x&features.title=x"
SINK+="&prompt=hacked&json=$(uri '{}')&confirm=x"

# leaks: whether the last answer shows something only B's people may see.
leaks() {
	grep -qF -e "$B_NAME" -e "$WFB_NAME" -e "$B_INVITEE" -e "B key $$" -e "B prompt $$" "$tmp/body"
}
strip() { grep -v 'name="csrf"' "$tmp/body" || true; }

# send ACTOR METHOD PATH: the status of one admin request as ACTOR (ea,
# oa, none); POSTs carry the actor's CSRF token and SINK.
send() {
	local actor=$1 method=$2 path=$3 cookie="" csrf="" ip
	case $actor in
	ea) cookie=$EA_C csrf=$EA_CSRF ip=$EA_IP ;;
	oa) cookie=$OA_C csrf=$OA_CSRF ip=$OA_IP ;;
	none) ip=$NONE_IP ;;
	esac
	# nginx limits sign-in and invitation posts per address.
	if [[ $method == POST && ($path == /admin/login || $path == /admin/invite/*) ]]; then
		ip=$(next_ip)
	fi
	if [[ $method == GET ]]; then
		req GET "$path" "$cookie" --interface "$ip"
	else
		req "$method" "$path" "$cookie" --interface "$ip" \
			-H 'Content-Type: application/x-www-form-urlencoded' --data-raw "csrf=$csrf&$SINK"
	fi
}

# Routes of the admin whose path names no tenant: what A's editor and
# owner get.  "-" means: not tried here (see below).
declare -A EXPECT=(
	# nginx itself sends /admin to /admin/ (its location is /admin/).
	[admin.root]=301
	[admin.login_form]=303
	[admin.login]=422
	[admin.logout]=-
	[admin.dashboard]=200
	[admin.password_form]=200
	[admin.password]=422
	[admin.tenant_new]=404
	[admin.tenant_create]=404
	[admin.audit_all]=404
	# An invitation link is its own key: whoever holds it sees what it
	# offers (B's name included), and only the invited address may
	# accept it.
	[public.invite_form]=200
	[public.invite]=403
)
declare -A MAY_SHOW_B=([public.invite_form]=1 [public.invite]=1)

# --- the admin -------------------------------------------------------------------------------
tried=0
unlisted=()
while IFS=$'\t' read -r -u 3 area method pattern name access; do
	[[ $area == admin ]] || continue
	path_b=$(path_for "$pattern" "$B")
	if [[ $pattern == *"{slug}"* ]]; then
		# Without a session: the sign-in form, nothing else.
		code=$(send none "$method" "$path_b")
		[[ $code == 303 && $(hdr Location) == /admin/login ]] ||
			fail "$method $path_b without a session: $code $(hdr Location)"
		missing=$(path_for "$pattern" "no-such-$$")
		for actor in ea oa; do
			code=$(send "$actor" "$method" "$missing")
			expect 404 "$code" "$actor of A: $method $missing"
			strip >"$tmp/missing"
			code=$(send "$actor" "$method" "$path_b")
			expect 404 "$code" "$actor of A: $method $path_b ($name)"
			leaks && fail "$actor of A: $method $path_b shows B"
			strip | cmp -s - "$tmp/missing" ||
				fail "$actor of A: $method $path_b differs from a missing tenant's 404"
			tried=$((tried + 1))
			# A's own slug with B's ids.
			if [[ $pattern =~ \{[a-z_]+\}.*\{[a-z_]+\} ]]; then
				path_a=$(path_for "$pattern" "$A")
				code=$(send "$actor" "$method" "$path_a")
				expect 404 "$code" "$actor of A: $method $path_a ($name, B's ids under A)"
				leaks && fail "$actor of A: $method $path_a shows B"
				tried=$((tried + 1))
			fi
		done
		continue
	fi
	want=${EXPECT[$name]:-}
	[[ $want == - ]] && continue
	if [[ -z $want && $pattern == *"{"* ]]; then
		fail "$method $pattern ($name) has parameters but names no tenant: say in EXPECT of $0 what A's people get"
	fi
	for actor in ea oa; do
		code=$(send "$actor" "$method" "$path_b")
		if [[ -n $want ]]; then
			[[ $code == "$want" ]] || fail "$actor of A: $method $path_b ($name): $code, want $want"
		else
			[[ $code =~ ^[234] ]] || fail "$actor of A: $method $path_b ($name): $code"
		fi
		[[ -n ${MAY_SHOW_B[$name]:-} ]] || ! leaks || fail "$actor of A: $method $path_b ($name) shows B"
		tried=$((tried + 1))
	done
	[[ -n $want ]] || unlisted+=("$name")
done 3<"$tmp/routes"
((${#unlisted[@]} == 0)) ||
	echo "# routes without an entry in EXPECT (checked: no error, nothing of B shown): ${unlisted[*]}"
ok "A's editor and owner get 404 on all $n_admin admin routes for B ($tried requests), like a missing tenant; nothing of B is shown"

# --- the API ---------------------------------------------------------------------------------
api_send() { # KEY METHOD PATH [curl args]: status; body in $tmp/body
	local key=$1 method=$2 path=$3
	shift 3
	local -a auth=()
	[[ -n $key ]] && auth=(-H "Authorization: Bearer $key")
	local -a data=()
	if [[ $method != GET && $method != HEAD ]]; then
		# A valid graph: a handler that forgot whose workflow it was
		# would save it instead of answering 404.
		data=(-H 'Content-Type: application/json' --data-binary "@$CANOPY_SRC/tests/workflows/valid/webhook-to-slack.json")
	fi
	_curl "$BASE$path" -X "$method" "${auth[@]}" "${data[@]}" -o "$tmp/body" -D "$tmp/h" \
		-w '%{http_code}' "$@" 2>/dev/null || echo 000
}
api_code() { jq -r '.error.code // empty' "$tmp/body" 2>/dev/null || true; }
tried=0
while IFS=$'\t' read -r -u 3 area method pattern name access; do
	[[ $area == api ]] || continue
	scope=${access#key:}
	path_b=$(path_for "$pattern" "$B")
	# A's session cookie is no key.
	code=$(api_send "" "$method" "$path_b" -H "Cookie: canopy_session=$EA_C")
	[[ $code == 401 && $(api_code) == unauthorized ]] || fail "cookie instead of key: $method $path_b: $code"
	# A key of A without the route's scope (each of these has only one).
	if [[ $scope == workflows:read ]]; then lacking=$KA_W; else lacking=$KA_R; fi
	code=$(api_send "$lacking" "$method" "$path_b")
	[[ $code == 403 && $(api_code) == insufficient_scope ]] ||
		fail "A key without $scope: $method $path_b: $code $(head -c 300 "$tmp/body")"
	[[ $(hdr Cache-Control) == no-store ]] || fail "$method $path_b: the 403 is not no-store"
	# A's key with every scope, on B's objects.
	code=$(api_send "$KA_ALL" "$method" "$path_b")
	if [[ $pattern == *"{"* ]]; then
		[[ $code == 404 && $(api_code) == not_found ]] ||
			fail "A's key: $method $path_b ($name): $code $(head -c 300 "$tmp/body")"
		cp "$tmp/body" "$tmp/b404"
		missing=$(sed -E 's#/[0-9]+(/|$)#/999999999999\1#' <<<"$path_b")
		code=$(api_send "$KA_ALL" "$method" "$missing")
		{ [[ $code == 404 ]] && cmp -s "$tmp/body" "$tmp/b404"; } ||
			fail "A's key: $method $path_b answers differently from a missing id ($missing: $code)"
	else
		[[ $code =~ ^[234] ]] || fail "A's key: $method $path_b ($name): $code"
	fi
	leaks && fail "A's key: $method $path_b shows B"
	tried=$((tried + 1))
done 3<"$tmp/routes"
ok "A's keys get 404 for B's ids on all $n_api API routes, like a missing id; 403 without the route's scope; 401 for a cookie"

# --- nothing of B changed ---------------------------------------------------------------------
dump_b >"$tmp/b.after"
diff "$tmp/b.before" "$tmp/b.after" >"$tmp/b.diff" || fail "B's rows changed: $(head -c 2000 "$tmp/b.diff")"
[[ $(psql_q "SELECT count(*) FROM tenants WHERE slug LIKE 'hacked-%' OR name LIKE 'Hacked%'") == 0 ]] ||
	fail "a request made or renamed a tenant"
[[ $(psql_q "SELECT count(*) FROM invitations WHERE email = 'hacker-$$@example.com'") == 0 ]] ||
	fail "a request made an invitation"
ok "B's rows are exactly as before: $(wc -l <"$tmp/b.before") rows compared"

# --- the last route: logout ------------------------------------------------------------------
grep -q $'^admin\tPOST\t/admin/logout\t' "$tmp/routes" || fail "no logout route"
code=$(send ea POST /admin/logout)
expect 303 "$code" "logout"
code=$(req GET "/admin/tenants/$A" "$EA_C" --interface "$EA_IP")
expect 303 "$code" "the editor's cookie after logout"
ok "logout (tried last) ends A's editor's session"
