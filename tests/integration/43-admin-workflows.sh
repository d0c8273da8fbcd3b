#!/usr/bin/env bash
# The admin's workflow screens (lib/admin_workflows.c) through nginx over
# verified TLS, against the fakes of OpenAI and n8n the test stack runs:
# a prompt in the new-workflow form becomes a graph shown as JSON and as
# an SVG diagram (the page carries its live-status script and the status
# route says generating meanwhile); a JSON edit that does not parse, or
# does not pass the graph checks, re-renders with 422, the text kept and
# each problem next to the editor with its JSON pointer, and saves
# nothing; a valid edit is a new version with an audit entry; a stale
# edit is refused; deploy reaches live and the history shows the
# deployment; a viewer sees no forms and has posts refused; another
# tenant's editor gets 404 for the workflow on every route; a post
# without or with a wrong CSRF token gets 403.  Every wait is bounded.
#
# Sign-in POSTs go out from addresses of their own (127.0.13.N).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
: "${CANOPY_FAKE_OPENAI_URL:?./dev test starts the OpenAI fake}"
: "${CANOPY_FAKE_N8N_URL:?./dev test starts the n8n fake}"

BASE="https://$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT"
A=wfa-a-$$
B=wfa-b-$$
ED=wfa-ed-$$@example.com
VW=wfa-vw-$$@example.com
EB=wfa-eb-$$@example.com
PW_ED='workflow editor staple 43'
PW_VW='workflow viewer staple 43'
PW_EB='workflow other staple 43'
HOOK=adm-lead-$$
tmp=$(mktemp -d)

# fake BASE METHOD PATH [BODY]: a control call to a fake (loopback http).
fake() {
	local -a data=()
	(($# > 3)) && data=(--data-binary "$4")
	curl -sS --max-time 5 -X "$2" -H 'Content-Type: application/json' "${data[@]}" "$1$3"
}

cleanup() {
	fake "$CANOPY_FAKE_OPENAI_URL" POST /_fake/reset '{}' >/dev/null 2>&1 || true
	fake "$CANOPY_FAKE_N8N_URL" POST /_fake/mode '{"mode":"ok"}' >/dev/null 2>&1 || true
	psql_q "DELETE FROM tenants WHERE slug IN ('$A', '$B')" >/dev/null 2>&1 || true
	drop_users "$ED" "$VW" "$EB"
	rm -rf "$tmp"
}
trap cleanup EXIT

ADMIN_IP_NET=127.0.13
# shellcheck source=tests/integration/helpers/admin.sh
source "$(dirname "$0")/helpers/admin.sh"

sign_in() { # EMAIL PASSWORD: the session cookie, or the script fails
	local code
	code=$(login "$1" "$2")
	[[ $code == 303 && -s $tmp/cookie ]] || fail "sign-in of $1: $code"
	cookie
}
wf_q() { psql_q "SELECT $2 FROM workflows WHERE id = $1"; }
is_status() { [[ $(wf_q "$1" status) == "$2" ]]; }
wait_status() { # ID STATUS SECONDS
	wait_for "$3" is_status "$1" "$2" ||
		fail "workflow $1 is $(wf_q "$1" status) ($(wf_q "$1" "coalesce(status_reason, '')")), not $2, after $3 s"
}
audits() { # ACTION: entries of tenant A with that action
	psql_q "SELECT count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
		WHERE t.slug = '$A' AND a.action = '$1'"
}
versions() { psql_q "SELECT count(*) FROM workflow_versions WHERE workflow_id = $1"; }
# save ID COOKIE CSRF VERSION JSON [curl args...]: the editor's form
save() {
	local id=$1 who=$2 csrf=$3 v=$4 json=$5
	shift 5
	req POST "/admin/tenants/$A/workflows/$id" "$who" --data-urlencode "csrf=$csrf" \
		--data-urlencode "version=$v" --data-urlencode "json=$json" "$@"
}

# --- two tenants, an editor and a viewer of A, an editor of B -------------------
for s in "$A" "$B"; do
	psql_q "INSERT INTO tenants (slug, name) VALUES ('$s', 'Flows $s')" >/dev/null
done
for u in "$ED:$PW_ED:Flow Editor" "$VW:$PW_VW:Flow Viewer" "$EB:$PW_EB:Other Editor"; do
	IFS=: read -r email pw name <<<"$u"
	out=$(printf '%s\n' "$pw" | canopy user add --email "$email" --name "$name" \
		--password-stdin 2>&1) || fail "canopy user add $email: $out"
done
member() { # EMAIL SLUG ROLE
	local out
	out=$(canopy user member --email "$1" --tenant "$2" --role "$3" 2>&1) ||
		fail "canopy user member $1 $2 $3: $out"
}
member "$ED" "$A" editor
member "$VW" "$A" viewer
member "$EB" "$B" editor
ED_C=$(sign_in "$ED" "$PW_ED")
VW_C=$(sign_in "$VW" "$PW_VW")
EB_C=$(sign_in "$EB" "$PW_EB")
# The model answers the demo graph, its webhook on a path of our own,
# after one 503 that makes it wait: long enough to see "generating".
jq -c --arg p "$HOOK" '.triggers[0].config[0].value = $p' \
	"$CANOPY_SRC/tests/fakes/workflow_answer.json" >"$tmp/answer.json"
fake "$CANOPY_FAKE_OPENAI_URL" POST /_fake/reset '{}' >/dev/null
fake "$CANOPY_FAKE_OPENAI_URL" POST /_fake/answer "$(cat "$tmp/answer.json")" >/dev/null
ok "tenants $A and $B, an editor and a viewer of $A, an editor of $B"

# --- the list and the new-workflow form --------------------------------------------
code=$(req GET "/admin/tenants/$A" "$ED_C")
expect 200 "$code" "tenant overview"
has "href=\"/admin/tenants/$A/workflows\"" || fail "the overview does not link the workflows"
code=$(req GET "/admin/tenants/$A/workflows" "$ED_C")
expect 200 "$code" "workflow list"
has 'No workflows yet.' || fail "a new tenant's list is not empty"
has "action=\"/admin/tenants/$A/workflows\"" || fail "no new-workflow form for an editor"
CSRF=$(csrf_of)
[[ -n $CSRF ]] || fail "no CSRF token on the list"

code=$(req POST "/admin/tenants/$A/workflows" "$ED_C" --data-urlencode "name=No token" \
	--data-urlencode "prompt=Anything")
expect 403 "$code" "create without CSRF"
code=$(req POST "/admin/tenants/$A/workflows" "$ED_C" --data-urlencode "csrf=${CSRF}x" \
	--data-urlencode "prompt=Anything")
expect 403 "$code" "create with a wrong CSRF token"
code=$(req POST "/admin/tenants/$A/workflows" "$ED_C" --data-urlencode "csrf=$CSRF" \
	--data-urlencode "name=Kept <name> $$" --data-urlencode "prompt=   ")
expect 422 "$code" "create without a prompt"
has 'Describe what the workflow should do.' || fail "no message next to the prompt"
has "value=\"Kept &lt;name&gt; $$\"" || fail "the name typed was not kept"
[[ $(psql_q "SELECT count(*) FROM workflows w JOIN tenants t ON t.id = w.tenant_id WHERE t.slug = '$A'") == 0 ]] ||
	fail "a refused form created a workflow"
ok "the form: 403 without or with a wrong token, 422 with the input kept, nothing created"

fake "$CANOPY_FAKE_OPENAI_URL" POST /_fake/mode '{"mode":"503","retry_after":3,"count":1}' >/dev/null
code=$(req POST "/admin/tenants/$A/workflows" "$ED_C" --data-urlencode "csrf=$CSRF" \
	--data-urlencode "name=" \
	--data-urlencode "prompt=When the lead form is posted, tidy it and wait a minute if it has an email.")
expect 303 "$code" "create"
loc=$(hdr Location)
[[ $loc =~ ^/admin/tenants/$A/workflows/([0-9]+)\?notice=generating$ ]] || fail "create went to '$loc'"
ID=${BASH_REMATCH[1]}
[[ $(audits workflow.create) == 1 ]] || fail "no audit entry for the creation"
if is_status "$ID" generating; then
	code=$(req GET "$loc" "$ED_C")
	expect 200 "$code" "page while generating"
	has 'Generation started.' || fail "no notice after create"
	has "data-wf-status-url=\"/admin/tenants/$A/workflows/$ID/status\"" || fail "no status URL for the script"
	grep -qE '<script src="/assets/admin-workflow\.[0-9a-f]+\.js" defer>' "$tmp/body" ||
		fail "the live-status script is not loaded while generating"
	code=$(req GET "/admin/tenants/$A/workflows/$ID/status" "$ED_C")
	expect 200 "$code" "status route"
	[[ $(hdr Content-Type) == application/json* ]] || fail "status is $(hdr Content-Type)"
	jq -e '.status == "generating" and .busy == true' "$tmp/body" >/dev/null ||
		fail "status route while generating: $(cat "$tmp/body")"
	ok "while generating: notice, live-status script, status route says generating"
else
	echo "# the generation finished before the page was asked for; skipped the generating checks"
fi
wait_status "$ID" idle 30
ok "a prompt from the admin is generated (not deployed) into workflow $ID"

code=$(req GET "/admin/tenants/$A/workflows/$ID" "$ED_C")
expect 200 "$code" "workflow page"
has '<h1>Lead form follow-up</h1>' || fail "the page does not name the generated graph"
has '<svg xmlns="http://www.w3.org/2000/svg" class="wf-diagram"' || fail "no inline diagram"
has 'class="wf-item wf-item--trigger"' || fail "the diagram marks no trigger"
has '>has_email</text>' || fail "the diagram lacks a node"
has '>true</text>' || fail "the diagram does not label the if's branch"
has '<textarea id="wf-json" name="json"' || fail "no JSON editor for an editor"
has '&quot;fromNodeId&quot;: &quot;lead_form&quot;' || fail "the editor does not hold the graph"
has "When the lead form is posted" || fail "the prompt is not shown"
has 'Not deployed yet.' || fail "history should be empty"
grep -q 'admin-workflow\.' "$tmp/body" && fail "the live-status script is loaded on a settled page"
V=$(wf_q "$ID" version)
[[ $V == 1 ]] || fail "version is $V after generation"
CSRF=$(csrf_of)
code=$(req GET "/admin/tenants/$A/workflows/$ID/diagram.svg" "$ED_C")
expect 200 "$code" "diagram alone"
[[ $(hdr Content-Type) == image/svg+xml* ]] || fail "diagram is $(hdr Content-Type)"
grep -q '<title>Diagram of the workflow' "$tmp/body" || fail "the diagram has no title"
ok "the graph shows as JSON in the editor and as an SVG diagram (inline and alone)"

# --- edits: not JSON, not a valid graph, valid, the same, stale ---------------------
graph=$(psql_q "SELECT json::text FROM workflows WHERE id = $ID")
n_audit=$(audits workflow.update)
code=$(save "$ID" "$ED_C" "$CSRF" "$V" '{"name": "Broken", "nodes": [')
expect 422 "$code" "save of text that is not JSON"
has 'Nothing was saved: the text is not a workflow graph.' || fail "no alert for bad JSON"
has 'Not valid JSON at line 1' || fail "no parse position next to the editor"
has 'aria-invalid="true">{&quot;name&quot;: &quot;Broken&quot;, &quot;nodes&quot;: [</textarea>' ||
	fail "the text typed was not kept in the editor"
bad=$(jq -c '.edges[0].toNodeId = "nowhere" | .nodes[0].type = "teleport"' <<<"$graph")
code=$(save "$ID" "$ED_C" "$CSRF" "$V" "$bad")
expect 422 "$code" "save of an invalid graph"
has '<li><code>/edges/0' || fail "no problem at /edges/0: $(grep -o 'wf-problems.*' "$tmp/body" | head -c 600)"
has '<li><code>/nodes/0' || fail "no problem at /nodes/0"
has 'id="wf-json-errors"' || fail "the problems are not tied to the editor"
has '&quot;nowhere&quot;' || fail "the invalid graph typed was not kept"
[[ $(wf_q "$ID" version) == "$V" && $(versions "$ID") == 1 && $(audits workflow.update) == "$n_audit" ]] ||
	fail "a refused edit changed something"
ok "an edit that is not JSON or not a valid graph: 422, input kept, problems by JSON pointer, nothing saved"

edited=$(jq -c --arg n "Edited flow $$" '.name = $n' <<<"$graph")
code=$(save "$ID" "$ED_C" "$CSRF" "$V" "$edited")
expect 303 "$code" "valid save"
[[ $(hdr Location) == "/admin/tenants/$A/workflows/$ID?notice=saved" ]] || fail "save went to $(hdr Location)"
[[ $(wf_q "$ID" version) == 2 && $(wf_q "$ID" name) == "Edited flow $$" ]] || fail "the edit was not saved"
[[ $(psql_q "SELECT source FROM workflow_versions WHERE workflow_id = $ID AND version = 2") == admin ]] ||
	fail "version 2 is not recorded as the admin's"
audit=$(psql_q "SELECT a.user_id = u.id, a.object_id, a.diff->'/name'->>'old', a.diff->'/name'->>'new'
	FROM audit_log a JOIN users u ON u.email = '$ED' JOIN tenants t ON t.id = a.tenant_id
	WHERE t.slug = '$A' AND a.action = 'workflow.update' ORDER BY a.id DESC LIMIT 1")
[[ $audit == "t|$ID|Lead form follow-up|Edited flow $$" ]] || fail "audit of the edit: '$audit'"
code=$(req GET "/admin/tenants/$A/workflows/$ID?notice=saved" "$ED_C")
expect 200 "$code" "page after save"
has 'Saved as a new version.' || fail "no saved notice"
has 'Diagram of the workflow “Edited flow '"$$"'”' || fail "the diagram does not follow the edit"
ok "a valid edit is version 2 (source admin) with an audit entry of the change"

code=$(save "$ID" "$ED_C" "$CSRF" 2 "$edited")
expect 303 "$code" "saving the same graph"
[[ $(hdr Location) == *notice=unchanged ]] || fail "same graph went to $(hdr Location)"
[[ $(wf_q "$ID" version) == 2 ]] || fail "the same graph made a version"
code=$(save "$ID" "$ED_C" "$CSRF" 1 "$(jq -c '.description = "stale"' <<<"$edited")")
expect 409 "$code" "a stale edit"
has 'changed while you were editing' || fail "no message for a stale edit"
has '&quot;stale&quot;' || fail "the stale text was not kept"
[[ $(wf_q "$ID" version) == 2 ]] || fail "a stale edit was saved"
ok "the same graph saves nothing; an edit of an older version is refused with the text kept"

# --- deploy --------------------------------------------------------------------------
code=$(req POST "/admin/tenants/$A/workflows/$ID/deploy" "$ED_C")
expect 403 "$code" "deploy without CSRF"
code=$(req POST "/admin/tenants/$A/workflows/$ID/deploy" "$ED_C" --data-urlencode "csrf=bad$CSRF")
expect 403 "$code" "deploy with a wrong CSRF token"
[[ $(wf_q "$ID" status) == idle ]] || fail "a refused deploy changed the status"
code=$(req POST "/admin/tenants/$A/workflows/$ID/deploy" "$ED_C" --data-urlencode "csrf=$CSRF")
expect 303 "$code" "deploy"
[[ $(hdr Location) == "/admin/tenants/$A/workflows/$ID?notice=deploying" ]] || fail "deploy went to $(hdr Location)"
[[ $(audits workflow.deploy) == 1 ]] || fail "no audit entry for the deploy"
wait_status "$ID" live 30
code=$(req GET "/admin/tenants/$A/workflows/$ID" "$ED_C")
expect 200 "$code" "page after deploy"
has '<span class="badge badge--live" data-wf-badge>' || fail "the page does not say live"
has "/webhook/$A/$HOOK" || fail "the page does not show the run URL"
dep=$(psql_q "SELECT id FROM deployments WHERE workflow_id = $ID AND status = 'succeeded' ORDER BY id DESC LIMIT 1")
[[ -n $dep ]] || fail "no succeeded deployment row"
has "data-deployment-id=\"$dep\"" || fail "the history does not show deployment $dep"
has '>succeeded</span>' || fail "the history does not say succeeded"
code=$(req GET "/admin/tenants/$A/workflows/$ID/status" "$ED_C")
expect 200 "$code" "status route"
jq -e '.status == "live" and .busy == false and .version == 2' "$tmp/body" >/dev/null ||
	fail "status route after deploy: $(cat "$tmp/body")"
ok "deploy: 403 without a token, then live; history and status route show it"

code=$(req GET "/admin/tenants/$A" "$ED_C")
expect 200 "$code" "tenant overview"
has "<a href=\"/admin/tenants/$A/workflows/$ID\">Edited flow $$</a>" || fail "the overview does not link the workflow"
ok "the tenant overview links the workflow to its screen"

# --- the viewer --------------------------------------------------------------------------
code=$(req GET "/admin/tenants/$A/workflows/$ID" "$VW_C")
expect 200 "$code" "viewer's page"
has '<svg xmlns="http://www.w3.org/2000/svg"' || fail "the viewer sees no diagram"
has '<pre class="wf-json"><code>' || fail "the viewer sees no JSON"
has "data-deployment-id=\"$dep\"" || fail "the viewer sees no history"
has '<textarea' && fail "the viewer has an editor"
{ [[ $(grep -c '<form' "$tmp/body") == 1 ]] && has 'action="/admin/logout"'; } ||
	fail "the viewer's page has forms besides sign-out: $(grep -o '<form[^>]*>' "$tmp/body" | tr '\n' ' ')"
VCSRF=$(csrf_of)
code=$(req GET "/admin/tenants/$A/workflows" "$VW_C")
expect 200 "$code" "viewer's list"
has "action=\"/admin/tenants/$A/workflows\"" && fail "the viewer has the new-workflow form"
has "<a href=\"/admin/tenants/$A/workflows/$ID\">" || fail "the viewer's list does not link the workflow"
n_jobs=$(psql_q "SELECT count(*) FROM jobs WHERE tenant_id = (SELECT id FROM tenants WHERE slug = '$A')")
code=$(save "$ID" "$VW_C" "$VCSRF" 2 "$(jq -c '.name = "viewer"' <<<"$edited")")
expect 404 "$code" "viewer's save"
code=$(req POST "/admin/tenants/$A/workflows/$ID/deploy" "$VW_C" --data-urlencode "csrf=$VCSRF")
expect 404 "$code" "viewer's deploy"
code=$(req POST "/admin/tenants/$A/workflows/$ID/generate" "$VW_C" --data-urlencode "csrf=$VCSRF" \
	--data-urlencode "prompt=Something else")
expect 404 "$code" "viewer's generate"
code=$(req POST "/admin/tenants/$A/workflows" "$VW_C" --data-urlencode "csrf=$VCSRF" \
	--data-urlencode "prompt=Something else")
expect 404 "$code" "viewer's create"
[[ $(wf_q "$ID" version) == 2 && $(wf_q "$ID" name) == "Edited flow $$" ]] || fail "a viewer changed the workflow"
[[ $(psql_q "SELECT count(*) FROM jobs WHERE tenant_id = (SELECT id FROM tenants WHERE slug = '$A')") == "$n_jobs" ]] ||
	fail "a viewer's post enqueued a job"
ok "a viewer reads the diagram, JSON and history without forms; each post is refused (404), nothing changes"

# --- another tenant's editor ----------------------------------------------------------------
BCSRF=$(req GET "/admin/tenants/$B/workflows" "$EB_C" >/dev/null && csrf_of)
[[ -n $BCSRF ]] || fail "no CSRF token for the editor of $B"
for path in "/admin/tenants/$B/workflows/$ID" "/admin/tenants/$B/workflows/$ID/status" \
	"/admin/tenants/$B/workflows/$ID/diagram.svg" "/admin/tenants/$A/workflows/$ID" \
	"/admin/tenants/$A/workflows" "/admin/tenants/$A/workflows/$ID/status"; do
	code=$(req GET "$path" "$EB_C")
	expect 404 "$code" "GET $path by the editor of $B"
done
for path in "/admin/tenants/$B/workflows/$ID" "/admin/tenants/$A/workflows/$ID"; do
	code=$(req POST "$path" "$EB_C" --data-urlencode "csrf=$BCSRF" --data-urlencode "version=2" \
		--data-urlencode "json=$(jq -c '.name = "theirs"' <<<"$edited")")
	expect 404 "$code" "POST $path by the editor of $B"
	code=$(req POST "$path/deploy" "$EB_C" --data-urlencode "csrf=$BCSRF")
	expect 404 "$code" "POST $path/deploy by the editor of $B"
	code=$(req POST "$path/generate" "$EB_C" --data-urlencode "csrf=$BCSRF" --data-urlencode "prompt=x")
	expect 404 "$code" "POST $path/generate by the editor of $B"
done
code=$(req GET "/admin/tenants/$B/workflows/99999999999" "$EB_C")
expect 404 "$code" "a workflow id that does not exist"
[[ $(wf_q "$ID" name) == "Edited flow $$" && $(wf_q "$ID" version) == 2 ]] || fail "the editor of $B changed A's workflow"
ok "the editor of $B gets 404 for A's workflow on every route, under either tenant's address"

# --- generate again --------------------------------------------------------------------------
code=$(req POST "/admin/tenants/$A/workflows/$ID/generate" "$ED_C" --data-urlencode "csrf=$CSRF" \
	--data-urlencode "prompt=")
expect 422 "$code" "generate again without a prompt"
has 'Describe what the workflow should do.' || fail "no message next to the prompt"
code=$(req POST "/admin/tenants/$A/workflows/$ID/generate" "$ED_C" --data-urlencode "csrf=$CSRF" \
	--data-urlencode "prompt=Same lead form flow, generated again $$.")
expect 303 "$code" "generate again"
[[ $(audits workflow.generate) == 1 ]] || fail "no audit entry for generating again"
version_is() { [[ $(wf_q "$1" version) == "$2" ]]; }
wait_for 30 version_is "$ID" 3 ||
	fail "generating again made no version 3 (status $(wf_q "$ID" status))"
wait_status "$ID" idle 10
[[ $(wf_q "$ID" prompt) == "Same lead form flow, generated again $$." ]] || fail "the new prompt was not kept"
ok "generating again from a new prompt makes version 3, audited"
