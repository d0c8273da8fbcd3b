#!/usr/bin/env bash
# The JSON API (/api/v1) through nginx over verified TLS: API keys from
# the CLI, 401s, generate (202 + job), PUT with validation and versions,
# hostile graphs and bodies, tenant isolation on every route, idempotent
# deploy, status and versions, the tenant's /events stream, the
# per-tenant generate limit, key scopes (403), revoked keys.
#
# Two tenants of its own (deleted at exit).  Generations are posted with
# "deploy": false so the stack's deployer (which runs them against the
# OpenAI fake) never deploys a graph of this test; the deploy checks use a
# graph of their own with a webhook path nobody else uses.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

API="https://$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT/api/v1"
A=api-a-$$
B=api-b-$$
LIMIT=${CANOPY_GENERATE_PER_HOUR:-30}
tmp=$(mktemp -d)
events_pid=

cleanup() {
	if [[ -n $events_pid ]]; then kill "$events_pid" 2>/dev/null || true; fi
	if [[ -n ${CANOPY_FAKE_N8N_URL:-} ]]; then
		curl -sS --max-time 5 -X POST -d '{"mode":"ok"}' \
			"$CANOPY_FAKE_N8N_URL/_fake/mode" >/dev/null 2>&1 || true
	fi
	psql_q "DELETE FROM tenants WHERE slug IN ('$A', '$B')" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# api METHOD PATH KEY [curl args...]: the HTTP status ("000": no answer);
# the body lands in $tmp/body, the headers in $tmp/h.
api() {
	local method=$1 path=$2 key=$3
	shift 3
	local -a auth=()
	[[ -n $key ]] && auth=(-H "Authorization: Bearer $key")
	_curl "$API$path" -X "$method" "${auth[@]}" -o "$tmp/body" -D "$tmp/h" \
		-w '%{http_code}' "$@" 2>/dev/null || echo 000
}

# api_json METHOD PATH KEY BODY: as api, with a JSON body.
api_json() {
	api "$1" "$2" "$3" -H 'Content-Type: application/json' --data-binary "$4"
}

body() { cat "$tmp/body"; }
hdr() { # NAME: a header of the last answer
	awk -v want="$(tr '[:upper:]' '[:lower:]' <<<"$1")" 'BEGIN { FS = ":" }
		{ sub(/\r$/, "") } tolower($1) == want { sub(/^[^:]*:[ \t]*/, ""); print; exit }' "$tmp/h"
}
jbody() { jq -er "$1" "$tmp/body"; }
expect() { # STATUS GOT WHAT
	[[ $2 == "$1" ]] || fail "$3: status $2, want $1: $(head -c 600 "$tmp/body")"
}
error_code() { jq -r '.error.code // empty' "$tmp/body"; }

# --- tenants and keys from the CLI ----------------------------------------
for s in "$A" "$B"; do
	psql_q "INSERT INTO tenants (slug, name) VALUES ('$s', 'API test $s')" >/dev/null
done
KA=$(canopy apikey create --tenant "$A" --name ci 2>"$tmp/cli.err") ||
	fail "canopy apikey create: $(cat "$tmp/cli.err")"
KB=$(canopy apikey create --tenant "$B" 2>/dev/null) || fail "canopy apikey create (B)"
[[ $KA =~ ^cnp_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$ ]] || fail "key has an odd shape: $KA"
grep -q 'shown only now' "$tmp/cli.err" || fail "the CLI does not say the key is shown once"
[[ $(psql_q "SELECT count(*) FROM api_keys WHERE key_hash = encode(sha256('$KA'::bytea), 'hex')") == 1 ]] ||
	fail "the key's SHA-256 is not what is stored"
[[ $(psql_q "SELECT count(*) FROM api_keys WHERE to_jsonb(api_keys)::text LIKE '%${KA:17}%'") == 0 ]] ||
	fail "the plaintext key is stored"
canopy apikey list --tenant "$A" >"$tmp/list" || fail "canopy apikey list"
grep -q "cnp_${KA:4:12}" "$tmp/list" || fail "apikey list does not show the prefix: $(cat "$tmp/list")"
grep -q "$KA" "$tmp/list" && fail "apikey list shows the whole key"
ok "canopy apikey create prints the key once; only its hash is stored; list shows the prefix"

# --- authentication -------------------------------------------------------
code=$(api GET /workflows "")
expect 401 "$code" "no key"
[[ $(error_code) == unauthorized ]] || fail "401 body: $(body)"
[[ $(hdr WWW-Authenticate) == 'Bearer realm="canopy"' ]] || fail "WWW-Authenticate: '$(hdr WWW-Authenticate)'"
code=$(api GET /workflows "cnp_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
expect 401 "$code" "unknown key"
[[ $(hdr WWW-Authenticate) == *invalid_token* ]] || fail "bad key: WWW-Authenticate lacks invalid_token"
code=$(api GET /workflows "${KA%?}x")
expect 401 "$code" "key with a wrong secret"
code=$(api GET /workflows "" -H "Authorization: Basic $(printf 'a:b' | base64)")
expect 401 "$code" "Basic auth"
code=$(api GET /workflows "$KA")
expect 200 "$code" "a good key"
[[ $(hdr Cache-Control) == no-store ]] || fail "API answers lack Cache-Control: no-store"
[[ $(hdr Content-Type) == application/json* ]] || fail "API answers are not JSON"
[[ -n $(hdr X-Request-Id) ]] || fail "no X-Request-Id"
ok "401 (with WWW-Authenticate) without a key or with a bad one; 200, JSON, no-store with a good one"

# --- scopes ---------------------------------------------------------------
canopy apikey create --tenant "$B" --scopes workflows:bogus >/dev/null 2>"$tmp/cli.err" &&
	fail "canopy apikey create accepted an unknown scope"
grep -q 'workflows:read' "$tmp/cli.err" || fail "the CLI does not list the scopes: $(cat "$tmp/cli.err")"
KR=$(canopy apikey create --tenant "$B" --name reader --scopes workflows:read 2>"$tmp/cli.err") ||
	fail "canopy apikey create --scopes: $(cat "$tmp/cli.err")"
grep -q 'scopes workflows:read' "$tmp/cli.err" || fail "the CLI does not say the scopes: $(cat "$tmp/cli.err")"
[[ $(psql_q "SELECT scopes::text FROM api_keys WHERE prefix = '${KR:4:12}'") == '{workflows:read}' ]] ||
	fail "the read key's scopes are stored as $(psql_q "SELECT scopes::text FROM api_keys WHERE prefix = '${KR:4:12}'")"
[[ $(psql_q "SELECT scopes::text FROM api_keys WHERE key_hash = encode(sha256('$KA'::bytea), 'hex')") == \
	'{workflows:read,workflows:write}' ]] || fail "a key made without --scopes lacks a scope"
canopy apikey list --tenant "$B" >"$tmp/list" || fail "canopy apikey list (B)"
grep -q "reader .*workflows:read " "$tmp/list" || fail "apikey list does not show the scopes: $(cat "$tmp/list")"
code=$(api GET /workflows "$KR")
expect 200 "$code" "a read key lists"
code=$(api_json POST /workflows/generate "$KR" '{"prompt":"not allowed","deploy":false}')
expect 403 "$code" "a read key generates"
[[ $(error_code) == insufficient_scope ]] || fail "403 body: $(body)"
jq -e '.error.message | contains("workflows:write")' "$tmp/body" >/dev/null || fail "the 403 does not name the scope: $(body)"
[[ $(hdr WWW-Authenticate) == *'error="insufficient_scope"'*'scope="workflows:write"'* ]] ||
	fail "WWW-Authenticate: '$(hdr WWW-Authenticate)'"
[[ $(hdr Cache-Control) == no-store ]] || fail "the 403 is not no-store"
[[ $(psql_q "SELECT count(*) FROM workflows w JOIN tenants t ON t.id = w.tenant_id WHERE t.slug = '$B'") == 0 ]] ||
	fail "a refused generation made a workflow"
ok "keys carry scopes (CLI --scopes, shown in list); a read key gets 403 insufficient_scope on a write"

# --- /events of tenant A, watched from here on ----------------------------
_curl "https://$A.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT/events" -N --max-time 60 \
	-H 'Accept: text/event-stream' -o "$tmp/events" 2>/dev/null &
events_pid=$!
sleep 0.5 # subscribed before anything happens

# --- generate ---------------------------------------------------------------
code=$(api_json POST /workflows/generate "$KA" \
	'{"prompt":"When the contact form is posted, tidy the fields.","name":"API test","deploy":false}')
expect 202 "$code" "generate"
gen_id=$(jbody .workflow.id)
job_id=$(jbody .job_id)
[[ $(jbody .workflow.status) == generating ]] || fail "a new generation is not generating: $(body)"
[[ $(hdr Location) == "/api/v1/workflows/$gen_id" ]] || fail "Location: '$(hdr Location)'"
row=$(psql_q "SELECT kind || ' ' || (tenant_id = (SELECT id FROM tenants WHERE slug = '$A'))
                     || ' ' || (payload->>'workflow_id') FROM jobs WHERE id = $job_id")
[[ $row == "workflow.generate true $gen_id" ]] || fail "job row: '$row'"
ok "POST /workflows/generate answers 202 with the workflow and job $job_id (kind, tenant, payload)"

# The deployer may already have moved it on (to idle or error) when the
# API publishes; each publish says the status at that moment.
wait_for 10 grep -qE "\"workflow_id\":$gen_id,.*\"status\":\"(generating|idle|error)\"" \
	"$tmp/events" || fail "/events of $A did not show the workflow's status: $(cat "$tmp/events")"
ok "the status change is published on $A's /events stream"

code=$(api_json POST /workflows/generate "$KA" '{"prompt":""}')
expect 422 "$code" "empty prompt"
jbody '.error.details[] | select(.pointer == "/prompt")' >/dev/null || fail "no /prompt detail: $(body)"
code=$(api POST /workflows/generate "$KA" -H 'Content-Type: text/plain' --data-binary '{"prompt":"x"}')
expect 415 "$code" "text/plain body"
code=$(api_json POST /workflows/generate "$KA" '{"prompt": "x"')
expect 400 "$code" "broken JSON"
[[ $(error_code) == invalid_json ]] || fail "broken JSON: $(body)"
ok "generate refuses an empty prompt (422 with pointer), other media types (415), bad JSON (400)"

# --- a workflow to edit: PUT, versions ---------------------------------------
wid=$(psql_q "INSERT INTO workflows (tenant_id, name) SELECT id, 'Edited by API' FROM tenants
              WHERE slug = '$A' RETURNING id")
jq -c --arg p "api-test-$$" '.triggers[0].config[0].value = $p | .name = "API test graph"' \
	"$CANOPY_SRC/tests/fakes/workflow_answer.json" >"$tmp/graph.json"
code=$(api GET "/workflows/$wid" "$KA")
expect 200 "$code" "GET workflow"
[[ $(jq -r .workflow.graph "$tmp/body") == null ]] || fail "a new workflow has a graph"
code=$(api POST "/workflows/$wid/deploy" "$KA")
expect 409 "$code" "deploy without a graph"
[[ $(error_code) == no_graph ]] || fail "deploy without a graph: $(body)"
code=$(api PUT "/workflows/$wid" "$KA" -H 'Content-Type: application/json' --data-binary "@$tmp/graph.json")
expect 200 "$code" "PUT a valid graph"
[[ $(jbody .workflow.version) == 1 ]] || fail "first PUT is not version 1: $(body)"
[[ $(jbody .workflow.name) == "API test graph" ]] || fail "the name does not follow the graph"
hash=$(jbody .workflow.graph_hash)
jq -S . "$tmp/graph.json" >"$tmp/sent"
jq -S .workflow.graph "$tmp/body" >"$tmp/got"
cmp -s "$tmp/sent" "$tmp/got" || fail "the stored graph differs from the one sent"
code=$(api GET "/workflows/$wid/versions" "$KA")
expect 200 "$code" "versions"
[[ $(jbody '.versions | length') == 1 && $(jbody '.versions[0].version') == 1 &&
	$(jbody '.versions[0].source') == api && $(jbody '.versions[0].graph_hash') == "$hash" ]] ||
	fail "versions: $(body)"
ok "PUT of a valid graph keeps it as version 1 (source api); GET and /versions show it"

# --- hostile graphs ----------------------------------------------------------
for f in unknown-node-type edge-to-nowhere host-off-allowlist secret-in-header secret-token-in-text; do
	jq -c .graph "$CANOPY_SRC/tests/workflows/invalid/$f.json" >"$tmp/bad.json"
	code=$(api PUT "/workflows/$wid" "$KA" -H 'Content-Type: application/json' \
		--data-binary "@$tmp/bad.json")
	expect 422 "$code" "PUT $f"
	[[ $(error_code) == invalid_graph ]] || fail "$f: $(body)"
	for p in $(jq -r '.expect[]' "$CANOPY_SRC/tests/workflows/invalid/$f.json"); do
		jq -e --arg p "$p" '.error.details[] | select(.pointer == $p) | .message' \
			"$tmp/body" >/dev/null ||
			fail "$f: no problem reported at $p: $(body)"
	done
done
ok "unknown node type, edge to nowhere, host off the allowlist, secrets in plain text: 422 with pointers"

python3 -c 'import sys; n=1000; sys.stdout.write("{\"name\":" + "["*n + "]"*n + "}")' >"$tmp/nest.json"
code=$(api PUT "/workflows/$wid" "$KA" -H 'Content-Type: application/json' --data-binary "@$tmp/nest.json")
expect 422 "$code" "1000 levels of nesting"
jbody '.error.details | length > 0' >/dev/null || fail "nesting: no details"
python3 -c 'import sys; n=5*1024*1024; sys.stdout.write("["*n + "]"*n)' >"$tmp/huge.json"
code=$(api PUT "/workflows/$wid" "$KA" -H 'Content-Type: application/json' --data-binary "@$tmp/huge.json")
expect 413 "$code" "10 MB of nesting"
[[ $(error_code) == too_large ]] || fail "nginx's 413 is not the API's JSON: $(head -c 300 "$tmp/body")"
python3 -c 'import sys; sys.stdout.write("{\"name\":\"" + "x"*300000 + "\"}")' >"$tmp/big.json"
code=$(api PUT "/workflows/$wid" "$KA" -H 'Content-Type: application/json' --data-binary "@$tmp/big.json")
expect 413 "$code" "a 300 KB graph"
[[ $(error_code) == too_large ]] || fail "300 KB: $(body)"
[[ $(psql_q "SELECT version FROM workflows WHERE id = $wid") == 1 ]] || fail "a refused PUT changed the workflow"
ok "deep nesting: 422 (1000 levels) and 413 (10 MB, from nginx, as JSON); 300 KB: 413; nothing saved"

# --- tenant B sees none of it -------------------------------------------------
missing=$((wid + 1000000))
for route in "GET /workflows/ID" "PUT /workflows/ID" "DELETE /workflows/ID" \
	"GET /workflows/ID/versions" "POST /workflows/ID/deploy" "GET /workflows/ID/status"; do
	method=${route%% *} path=${route#* }
	args=()
	[[ $method == PUT ]] && args=(-H 'Content-Type: application/json' --data-binary "@$tmp/graph.json")
	code=$(api "$method" "${path/ID/$wid}" "$KB" "${args[@]}")
	expect 404 "$code" "B: $route on A's workflow"
	theirs=$(body)
	code=$(api "$method" "${path/ID/$missing}" "$KB" "${args[@]}")
	expect 404 "$code" "B: $route on a missing workflow"
	[[ $theirs == "$(body)" ]] || fail "$route: A's workflow and a missing one answer differently"
done
code=$(api GET /workflows "$KB")
[[ $(jbody '.workflows | length') == 0 ]] || fail "B lists A's workflows: $(body)"
[[ $(psql_q "SELECT version || status FROM workflows WHERE id = $wid") == 1idle ]] ||
	fail "B changed A's workflow"
ok "tenant B's key gets the same 404 as for a missing id on every route, and changes nothing"

# --- deploy twice: one job ---------------------------------------------------
if [[ -n ${CANOPY_FAKE_N8N_URL:-} ]]; then
	# The fake builder stalls, so the first job is surely still pending or
	# running when the second request comes.
	curl -sS --max-time 5 -X POST -H 'Content-Type: application/json' \
		-d '{"mode":"hang","seconds":5,"count":3}' "$CANOPY_FAKE_N8N_URL/_fake/mode" >/dev/null ||
		fail "cannot set the n8n fake's mode"
fi
code=$(api POST "/workflows/$wid/deploy" "$KA")
expect 202 "$code" "deploy"
job1=$(jbody .job_id)
[[ $(jbody .duplicate) == false ]] || fail "a first deploy is a duplicate: $(body)"
code=$(api POST "/workflows/$wid/deploy" "$KA")
expect 202 "$code" "deploy again"
job2=$(jbody .job_id)
[[ $(jbody .duplicate) == true && $job1 == "$job2" ]] || fail "second deploy: $(body) (first job $job1)"
key=$(psql_q "SELECT idempotency_key FROM jobs WHERE id = $job1")
[[ $key == "deploy:$(psql_q "SELECT id FROM tenants WHERE slug = '$A'"):$wid:$hash" ]] ||
	fail "deploy job key: '$key'"
[[ $(psql_q "SELECT count(*) FROM jobs WHERE kind = 'workflow.deploy' AND payload->>'workflow_id' = '$wid'") == 1 ]] ||
	fail "more than one deploy job"
ok "deploying the same graph twice gives one job ($job1, second answer duplicate: true)"

code=$(api GET "/workflows/$wid/status" "$KA")
expect 200 "$code" "status"
jq -e '.workflow_id and (.status | IN("deploying", "live", "error")) and has("reason")
	and has("url") and has("editor_url") and .version == 1 and (.updated_at | length > 0)' \
	"$tmp/body" >/dev/null || fail "status: $(body)"
wait_for 10 grep -qE "\"workflow_id\":$wid,.*\"status\":\"(deploying|live|error)\"" \
	"$tmp/events" || fail "/events did not show the deploy: $(cat "$tmp/events")"
ok "GET /status answers {status, reason, url, editor_url, version, updated_at}; the deploy was published"

# --- list, delete ------------------------------------------------------------
code=$(api GET /workflows "$KA")
expect 200 "$code" "list"
[[ $(jbody "[.workflows[].id] | sort == ([$gen_id, $wid] | sort)") == true ]] || fail "list: $(body)"
code=$(api DELETE "/workflows/$gen_id" "$KA")
expect 204 "$code" "DELETE"
code=$(api GET "/workflows/$gen_id" "$KA")
expect 404 "$code" "GET after DELETE"
code=$(api PATCH "/workflows/$wid" "$KA")
expect 405 "$code" "PATCH"
[[ $(hdr Allow) == *GET* && $(hdr Allow) == *PUT* ]] || fail "405 without Allow: $(hdr Allow)"
code=$(api GET /nothing "$KA")
expect 404 "$code" "unknown path"
ok "list, DELETE (204, then 404), 405 with Allow, 404 for an unknown path"

# --- the generate limit ------------------------------------------------------
code=$(api_json POST /workflows/generate "$KB" '{"prompt":"B first","deploy":false}')
expect 202 "$code" "B's first generation"
# The rest of B's hour is used up by jobs that never run (cancelled), ten
# minutes old: the next request must wait about fifty minutes.
psql_q "INSERT INTO jobs (kind, tenant_id, state, created_at, finished_at)
        SELECT 'workflow.generate', id, 'cancelled', now() - interval '10 minutes', now()
          FROM tenants, generate_series(1, $((LIMIT - 1))) WHERE slug = '$B'" >/dev/null
code=$(api_json POST /workflows/generate "$KB" '{"prompt":"one too many","deploy":false}')
expect 429 "$code" "generation $((LIMIT + 1)) within the hour"
[[ $(error_code) == rate_limited ]] || fail "429 body: $(body)"
ra=$(hdr Retry-After)
[[ $ra =~ ^[0-9]+$ ]] && ((ra >= 2900 && ra <= 3100)) || fail "Retry-After is '$ra', want about 3000"
[[ $(psql_q "SELECT count(*) FROM workflows w JOIN tenants t ON t.id = w.tenant_id WHERE t.slug = '$B'") == 1 ]] ||
	fail "a refused generation made a workflow"
code=$(api_json POST /workflows/generate "$KA" '{"prompt":"A is not limited by B","deploy":false}')
expect 202 "$code" "A's generation while B is limited"
ok "generation number $((LIMIT + 1)) of a tenant within an hour gets 429 with Retry-After $ra; other tenants are not affected"

# --- a revoked key -----------------------------------------------------------
kid=$(canopy apikey list --tenant "$A" | awk 'NR == 2 { print $1 }')
canopy apikey revoke "$kid" >"$tmp/revoke" || fail "canopy apikey revoke"
grep -q "revoked key $kid" "$tmp/revoke" || fail "revoke said: $(cat "$tmp/revoke")"
code=$(api GET /workflows "$KA")
expect 401 "$code" "a revoked key"
code=$(api GET /workflows "$KB")
expect 200 "$code" "B's key after A's was revoked"
ok "a revoked key gets 401 at once; other keys still work"
