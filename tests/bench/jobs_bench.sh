#!/usr/bin/env bash
# The job queue benchmark, in one run on one database:
#   1. throughput: one canopy-deployer with 4 workers drains 20,000 noop jobs
#   2. idle latency: 200 single jobs enqueued 10-40 ms apart; enqueue -> start
#
# Times come from the database clock: a job's created_at (clock_timestamp()
# at insert, before its commit and NOTIFY) and started_at (the claim), and
# finished_at (its report).  Throughput is jobs / (last finish - first start).
#
# Needs DATABASE_URL (migrated) and psql; CANOPY_BUILD names the build
# directory (default: ./build).  Run it against a database where no other
# deployer claims noop jobs, or their work mixes into the numbers.
set -euo pipefail

: "${DATABASE_URL:?DATABASE_URL must name a migrated database}"
BUILD=${CANOPY_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
DEPLOYER="$BUILD/canopy-deployer"
[[ -x "$DEPLOYER" ]] || { echo "no $DEPLOYER (set CANOPY_BUILD)" >&2; exit 1; }
JOBS=${BENCH_JOBS:-20000}
WORKERS=${BENCH_WORKERS:-4}
SINGLES=${BENCH_SINGLES:-200}
LOG=$(mktemp)
pid=

q() { psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

cleanup() {
	[[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[[ -n "${first_id:-}" ]] && q "DELETE FROM jobs WHERE id >= $first_id" >/dev/null
	rm -f "$LOG"
}
trap cleanup EXIT

start_deployer() {
	CANOPY_DEPLOYER_WORKERS=$WORKERS "$DEPLOYER" </dev/null 2>"$LOG" &
	pid=$!
}

# Waits (at most $2 s) until no job from id $1 on is pending or running.
wait_drained() {
	local from=$1 limit=$2 start=$SECONDS
	while (( SECONDS - start < limit )); do
		[[ $(q "SELECT count(*) FROM jobs WHERE id >= $from
		        AND state IN ('available', 'running')") == 0 ]] && return 0
		sleep 0.05
	done
	echo "jobs not drained after ${limit}s" >&2
	exit 1
}

first_id=$(q "SELECT COALESCE(max(id), 0) + 1 FROM jobs")

# --- throughput --------------------------------------------------------------
q "INSERT INTO jobs (kind) SELECT 'noop' FROM generate_series(1, $JOBS)" >/dev/null
q "ANALYZE jobs" >/dev/null
start_deployer
wait_drained "$first_id" 120
read -r n secs < <(q "SELECT count(*), extract(epoch FROM max(finished_at) - min(started_at))
                      FROM jobs WHERE id >= $first_id AND state = 'succeeded'" | tr '|' ' ')
[[ $n == "$JOBS" ]] || { echo "only $n of $JOBS jobs succeeded" >&2; exit 1; }
awk -v n="$n" -v s="$secs" -v w="$WORKERS" \
	'BEGIN { printf "throughput: %d noop jobs, %d workers: %.0f jobs/s (%.3f s)\n", n, w, n / s, s }'

# --- idle latency ------------------------------------------------------------
sleep 1 # let the workers go idle
single_from=$(q "SELECT COALESCE(max(id), 0) + 1 FROM jobs")
q "DO \$\$
   BEGIN
     FOR i IN 1..$SINGLES LOOP
       INSERT INTO jobs (kind, created_at) VALUES ('noop', clock_timestamp());
       COMMIT;
       PERFORM pg_sleep(0.010 + random() * 0.030);
     END LOOP;
   END \$\$" >/dev/null
wait_drained "$single_from" 30
q "SELECT count(*),
          round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY l))::numeric, 2),
          round((1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY l))::numeric, 2),
          round((1000 * max(l))::numeric, 2)
     FROM (SELECT extract(epoch FROM started_at - created_at) AS l
             FROM jobs WHERE id >= $single_from AND state = 'succeeded') s" |
	awk -F'|' '{ printf "idle latency (enqueue -> start), %d single jobs: p50 %s ms, p99 %s ms, max %s ms\n", $1, $2, $3, $4 }'
