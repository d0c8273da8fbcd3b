#!/usr/bin/env bash
# The job queue with real canopy-deployer processes (spawn-fcgi, unix
# sockets under $CANOPY_RUN/jobs-test): health and metrics through nginx,
# exactly-once under three deployers, crash safety, a PostgreSQL restart,
# graceful drain, cancel, retry and dead jobs, and the CLI.
#
# The test deployers run the test kinds (record, fail) that the stack's
# own deployer does not claim, with a 3-second lease so rescues are quick.
# record jobs insert a row into jobs_test_runs each time they run.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

DIR=$CANOPY_RUN/jobs-test
LEASE=3
H="https://$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT"
mkdir -p "$DIR"
declare -A PID=()

cleanup() {
	local name
	for name in "${!PID[@]}"; do
		kill -KILL "${PID[$name]}" 2>/dev/null || true
	done
	psql_q "DELETE FROM jobs WHERE kind IN ('record', 'fail');
	        DROP TABLE IF EXISTS jobs_test_runs" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# --- helpers ------------------------------------------------------------------

# start NAME WORKERS [VAR=value...]: a test deployer on its own socket.
start() {
	local name=$1 workers=$2
	shift 2
	rm -f "$DIR/$name.sock"
	: >"$DIR/$name.log"
	# shellcheck disable=SC2016 # expanded by the spawned sh
	env CANOPY_DEPLOYER_TEST_KINDS=1 CANOPY_DEPLOYER_WORKERS="$workers" \
		CANOPY_JOB_LEASE_SECONDS=$LEASE CANOPY_JOB_POLL_MS=200 \
		CANOPY_DRAIN_SECONDS=10 LOG_LEVEL=info "$@" \
		spawn-fcgi -n -s "$DIR/$name.sock" -M 0600 -- \
		/bin/sh -c 'log=$1; shift; exec "$@" 2>>"$log"' sh "$DIR/$name.log" \
		"$CANOPY_BUILD/canopy-deployer" </dev/null >>"$DIR/$name.spawn.log" 2>&1 9>&- &
	PID[$name]=$!
	wait_for 10 grep -q '"deployer started"' "$DIR/$name.log" ||
		fail "deployer $name did not start: $(tail -n 5 "$DIR/$name.log")"
}

alive() { kill -0 "${PID[$1]}" 2>/dev/null; }
gone() { ! alive "$1"; }

# reap NAME SECONDS: the deployer must exit with 0 within SECONDS.
reap() {
	local name=$1 secs=$2 rc=0
	wait_for "$secs" gone "$name" || fail "deployer $name still running ${secs}s after SIGTERM"
	wait "${PID[$name]}" || rc=$?
	unset "PID[$name]"
	[[ $rc == 0 ]] || fail "deployer $name exited with $rc"
}

# stop NAME [SECONDS]: SIGTERM and reap.
stop() {
	kill -TERM "${PID[$1]}"
	reap "$1" "${2:-15}"
}

# q_is VALUE SQL: the query's single value is VALUE.
q_is() { [[ $(psql_q "$2") == "$1" ]]; }

# tagged TAG [AND ...]: the count of record/fail jobs with payload t = TAG.
tagged() { psql_q "SELECT count(*) FROM jobs WHERE payload->>'t' = '$1' ${2:-}"; }
tagged_is() { [[ $(tagged "$2" "${3:-}") == "$1" ]]; }
runs_of() {
	psql_q "SELECT count(*) FROM jobs_test_runs r JOIN jobs j ON j.id = r.job_id
	        WHERE j.payload->>'t' = '$1' ${2:-}"
}
runs_are() { [[ $(runs_of "$2" "${3:-}") == "$1" ]]; }
state_of() { psql_q "SELECT state FROM jobs WHERE id = $1"; }
state_is() { [[ $(state_of "$2") == "$1" ]]; }

enqueue() { # KIND PAYLOAD [canopy jobs enqueue options...]
	local kind=$1 payload=$2
	shift 2
	canopy jobs enqueue "$kind" --payload "$payload" "$@"
}

psql_q "SET client_min_messages = warning;
        CREATE TABLE IF NOT EXISTS jobs_test_runs (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          job_id bigint NOT NULL, attempt integer NOT NULL,
          worker text NOT NULL, pid integer NOT NULL,
          at timestamptz NOT NULL DEFAULT clock_timestamp());
        TRUNCATE jobs_test_runs" >/dev/null

# --- health and metrics through nginx (the stack's own deployer) -------------
health=$(get "$H/_deployer/healthz") || fail "healthz: $health"
for field in '"status":"ok"' '"state":"running"' '"workers":{"busy":' \
	'"jobs":{"available":' '"oldest_available_seconds":' '"last_error":'; do
	grep -qF "$field" <<<"$health" || fail "healthz lacks $field: $health"
done
python3 -c 'import json,sys; json.loads(sys.argv[1])' "$health" || fail "healthz is not JSON"
ok "healthz through nginx: state, workers, jobs per state, oldest job, last error"

id=$(enqueue noop '{}')
wait_for 10 state_is succeeded "$id" || fail "the stack's deployer did not run noop job $id"
metrics=$(get "$H/_deployer/metrics") || fail "metrics: $metrics"
grep -Eq '^canopy_jobs_succeeded_total\{kind="noop"\} [1-9]' <<<"$metrics" ||
	fail "metrics do not count the noop job: $(grep succeeded <<<"$metrics")"
for line in '# TYPE canopy_jobs_claimed_total counter' 'canopy_jobs_dead_total{kind="noop"}' \
	'canopy_jobs_failed_total{kind="sleep"}' '# TYPE canopy_job_run_seconds histogram' \
	'canopy_job_run_seconds_bucket{kind="noop",le="+Inf"}' 'canopy_job_run_seconds_count{kind="noop"}' \
	'canopy_jobs_queue_depth{state="available"}' 'canopy_jobs_oldest_available_seconds'; do
	grep -qF "$line" <<<"$metrics" || fail "metrics lack '$line'"
done
ok "metrics through nginx: counters by kind, run-time histogram, queue depth"
[[ $(status_of "$H/_deployer/nope") == 404 ]] || fail "/_deployer/nope is not 404"
ok "anything else under /_deployer/ is 404"

# --- exactly once: 3 deployers x 4 workers, 5,000 jobs -------------------------
start d1 4
start d2 4
start d3 4
enqueue record '{"t":"once","ms":1}' --count 5000 >/dev/null
wait_for 120 tagged_is 0 once "AND state IN ('available', 'running')" ||
	fail "jobs left: $(tagged once "AND state <> 'succeeded'")"
[[ $(tagged once "AND state = 'succeeded' AND attempts = 1") == 5000 ]] ||
	fail "not every job succeeded on its first attempt: $(psql_q "SELECT state, attempts, count(*)
	      FROM jobs WHERE payload->>'t' = 'once' GROUP BY 1, 2")"
runs_are 5000 once || fail "5000 jobs, $(runs_of once) recorded runs"
q_is 0 "SELECT count(*) FROM (SELECT job_id FROM jobs_test_runs r JOIN jobs j ON j.id = r.job_id
        WHERE j.payload->>'t' = 'once' GROUP BY job_id HAVING count(*) > 1) d" ||
	fail "some job ran twice"
q_is 0 "SELECT count(*) FROM jobs_test_runs r JOIN jobs j ON j.id = r.job_id
        WHERE j.payload->>'t' = 'once' AND r.worker <> j.locked_by" ||
	fail "a run was recorded by a worker other than the one that completed the job"
q_is 3 "SELECT count(DISTINCT pid) FROM jobs_test_runs r JOIN jobs j ON j.id = r.job_id
        WHERE j.payload->>'t' = 'once'" || fail "not all three deployers took part"
ok "exactly once: 3 deployers x 4 workers ran 5000 jobs, each once, none left"

for d in d1 d2 d3; do stop "$d"; done
for d in d1 d2 d3; do
	grep -q '"msg":"deployer stopped","clean":true' "$DIR/$d.log" || fail "$d did not stop cleanly"
done
ok "idle deployers stop cleanly on SIGTERM"

# --- crash safety: SIGKILL mid-job, another deployer finishes after the lease -
start victim 2
enqueue record '{"t":"crash","ms":4000}' --count 2 >/dev/null
wait_for 10 runs_are 2 crash || fail "the victim did not start both jobs"
victim_pid=${PID[victim]}
kill -KILL "$victim_pid"
wait "$victim_pid" 2>/dev/null || true
unset "PID[victim]"
tagged_is 2 crash "AND state = 'running'" || fail "the killed deployer's jobs are not running"
start rescuer 2
wait_for 20 tagged_is 2 crash "AND state = 'succeeded'" ||
	fail "crashed jobs not finished: $(psql_q "SELECT id, state, attempts, last_error FROM jobs WHERE payload->>'t' = 'crash'")"
tagged_is 2 crash "AND attempts = 2 AND last_error LIKE 'lease expired%'" ||
	fail "attempts/last_error do not tell the story: $(psql_q "SELECT attempts, last_error FROM jobs WHERE payload->>'t' = 'crash'")"
runs_are 2 crash "AND r.attempt = 1 AND r.pid = $victim_pid" || fail "attempt 1 was not the victim's"
runs_are 2 crash "AND r.attempt = 2 AND r.pid = ${PID[rescuer]}" || fail "attempt 2 was not the rescuer's"
# rescued after the lease ran out, and not much later
q_is 2 "SELECT count(*) FROM (SELECT r.job_id, max(r.at) - min(r.at) AS gap
          FROM jobs_test_runs r JOIN jobs j ON j.id = r.job_id
         WHERE j.payload->>'t' = 'crash' GROUP BY r.job_id) g
        WHERE gap >= make_interval(secs => $LEASE - 0.1)
          AND gap < make_interval(secs => $LEASE + 5)" ||
	fail "rescue came too early or too late"
ok "crash safety: SIGKILLed deployer's jobs rescued after the lease, finished on attempt 2"

# --- PostgreSQL restart while jobs run -----------------------------------------
start second 4
enqueue record '{"t":"restart","ms":20}' --count 1000 >/dev/null
wait_for 20 q_is t "SELECT count(*) >= 100 FROM jobs WHERE payload->>'t' = 'restart'
                    AND state = 'succeeded'" || fail "jobs did not start"
pg_restart
ok "PostgreSQL restarted while jobs were running"
wait_for 90 tagged_is 0 restart "AND state <> 'succeeded'" ||
	fail "after the restart: $(psql_q "SELECT state, count(*) FROM jobs WHERE payload->>'t' = 'restart' GROUP BY 1")"
q_is 0 "SELECT count(*) FROM jobs j WHERE payload->>'t' = 'restart'
        AND NOT EXISTS (SELECT 1 FROM jobs_test_runs r WHERE r.job_id = j.id)" ||
	fail "a succeeded job has no recorded run"
q_is 0 "SELECT count(*) FROM jobs j WHERE payload->>'t' = 'restart'
        AND (SELECT count(*) FROM jobs_test_runs r WHERE r.job_id = j.id) > j.attempts" ||
	fail "more runs than attempts"
{ alive rescuer && alive second; } || fail "a deployer died with the database"
ok "after the restart the deployers reconnected and all 1000 jobs succeeded"
stop second

# --- cancel, failures, retry (CLI) ---------------------------------------------
id=$(enqueue record '{"t":"cancel","ms":60000}')
wait_for 10 runs_are 1 cancel || fail "job $id did not start"
canopy jobs cancel "$id" | grep -q 'told to stop' || fail "cancel of a running job"
wait_for 5 state_is cancelled "$id" || fail "running job $id not cancelled: $(state_of "$id")"
pending=$(enqueue record '{"t":"cancel"}' --delay-ms 600000)
canopy jobs cancel "$pending" | grep -q cancelled || fail "cancel of a pending job"
state_is cancelled "$pending" || fail "pending job not cancelled"
canopy jobs cancel "$pending" >/dev/null 2>&1 && fail "cancelling a cancelled job succeeded"
ok "cancel: a pending job at once, a running one stops within seconds"

id=$(enqueue fail '{"t":"fail","retryable":false,"message":"no such builder"}')
wait_for 10 state_is dead "$id" || fail "non-retryable failure: $(state_of "$id")"
q_is "1|no such builder" "SELECT attempts || '|' || last_error FROM jobs WHERE id = $id" ||
	fail "non-retryable failure was retried or lost its error"
id=$(enqueue fail '{"t":"fail","retryable":true,"message":"upstream 503"}' --max-attempts 2)
wait_for 15 state_is dead "$id" || fail "retryable failure did not end dead: $(state_of "$id")"
q_is 2 "SELECT attempts FROM jobs WHERE id = $id" || fail "retryable failure: want 2 attempts"
canopy jobs show "$id" | grep -q 'upstream 503' || fail "canopy jobs show lacks the error"
canopy jobs retry "$id" >/dev/null || fail "canopy jobs retry"
wait_for 15 q_is "dead|3" "SELECT state || '|' || attempts FROM jobs WHERE id = $id" ||
	fail "retried job: $(psql_q "SELECT state, attempts FROM jobs WHERE id = $id")"
canopy jobs list --state dead --kind fail | grep -q "^$id " || fail "canopy jobs list"
canopy jobs stats | grep -Eq '^dead +[1-9]' || fail "canopy jobs stats"
ok "failures: non-retryable dead at once, retryable dead after max_attempts, retry runs again"
stop rescuer

# --- graceful drain --------------------------------------------------------------
start drain 2 CANOPY_DRAIN_SECONDS=8
enqueue record '{"t":"drain","ms":1500}' --count 2 >/dev/null
wait_for 10 runs_are 2 drain || fail "drain jobs did not start"
kill -TERM "${PID[drain]}"
late=$(enqueue record '{"t":"late"}')
reap drain 8
tagged_is 2 drain "AND state = 'succeeded' AND attempts = 1" || fail "running jobs did not finish during the drain"
state_is available "$late" || fail "a draining deployer claimed job $late"
ok "SIGTERM: no new claims, running jobs finish within the drain deadline"

start slow 1 CANOPY_DRAIN_SECONDS=1
wait_for 10 state_is succeeded "$late" || fail "job $late not run"
id=$(enqueue record '{"t":"deadline","ms":600000}')
wait_for 10 runs_are 1 deadline || fail "job $id did not start"
t0=$SECONDS
stop slow 8
((SECONDS - t0 <= 5)) || fail "drain took $((SECONDS - t0)) s with a 1 s deadline"
q_is "available|1|" "SELECT state || '|' || attempts || '|' || COALESCE(locked_until::text, '')
                    FROM jobs WHERE id = $id" ||
	fail "job past the deadline not released: $(psql_q "SELECT state, attempts, locked_until FROM jobs WHERE id = $id")"
grep -q 'interrupted' <<<"$(psql_q "SELECT last_error FROM jobs WHERE id = $id")" ||
	fail "released job's last_error does not say it was interrupted"
start next 1
wait_for 5 runs_are 2 deadline || fail "released job not taken at once by another deployer"
canopy jobs cancel "$id" >/dev/null
wait_for 5 state_is cancelled "$id" || fail "job $id not cancelled"
ok "past the drain deadline a job is stopped and released, and runs again elsewhere at once"
stop next
