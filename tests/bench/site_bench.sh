#!/usr/bin/env bash
# Tenant pages vs. nginx static, measured with wrk over HTTPS in one run.
#
#   ./dev bench            (starts a stack with the rate limit lifted)
#
# Prints requests/s, p50 and p99 latency for
#   1. tenant pages rendered by the responders, the Host rotating over the
#      1000 seeded tenants (tenant-1 ... tenant-1000), and
#   2. nginx serving a static file of the same size,
# their ratio, and the resident memory of each responder process.
# Environment from the runner: CANOPY_DOMAIN, CANOPY_HTTPS_PORT, CANOPY_RUN,
# CANOPY_CA; BENCH_SECONDS (10), BENCH_CONNECTIONS (64), BENCH_THREADS (2).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"

seconds=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}
port=$CANOPY_HTTPS_PORT
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A wrk script that rotates the Host header over the seeded tenants; the
# path is the same for every request.  wrk connects to 127.0.0.1 (names
# under .localhost need not resolve on every machine); nginx routes by the
# Host header.
rotating_script() {
	cat >"$tmp/rotate.lua" <<LUA
local i = 0
request = function()
  i = (i % 1000) + 1
  return wrk.format("GET", "$1", {["Host"] = "tenant-" .. i .. ".$CANOPY_DOMAIN:$port"})
end
LUA
	echo "$tmp/rotate.lua"
}

# Runs wrk and prints "req/s p50_ms p99_ms non2xx".
measure() {
	local path=$1 out
	out=$(wrk -t"$threads" -c"$conns" -d"${seconds}s" --latency \
		-s "$(rotating_script "$path")" "https://127.0.0.1:$port$path")
	awk '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/Requests\/sec/ { rps = $2 }
		/^ +50%/ { p50 = ms($2) }
		/^ +99%/ { p99 = ms($2) }
		/Non-2xx/ { bad = $NF }
		END { printf "%.0f %.2f %.2f %d\n", rps, p50, p99, bad + 0 }' <<<"$out"
}

# The static twin: one rendered tenant page, served by nginx from /media/.
mkdir -p "$CANOPY_RUN/media"
get "https://tenant-1.$CANOPY_DOMAIN:$port/" -o "$CANOPY_RUN/media/bench-page.html"
size=$(stat -c %s "$CANOPY_RUN/media/bench-page.html")
chmod a+r "$CANOPY_RUN/media/bench-page.html"

# Warm every tenant into every responder's cache before measuring.
wrk -t1 -c8 -d2s -s "$(rotating_script /)" "https://127.0.0.1:$port/" >/dev/null

read -r page_rps page_p50 page_p99 page_bad < <(measure /)
read -r static_rps static_p50 static_p99 static_bad < <(measure /media/bench-page.html)

rss=""
for pid in $(cat "$CANOPY_RUN/responder.pid"); do
	rss+="$(($(awk '/^VmRSS/ {print $2}' "/proc/$pid/status") / 1024)) MB "
done

printf '\nCanopy site benchmark: wrk -t%s -c%s -d%ss over TLS, Host rotating over 1000 tenants, %s-byte page\n' \
	"$threads" "$conns" "$seconds" "$size"
printf '%-34s %10s %9s %9s %8s\n' "" "req/s" "p50 ms" "p99 ms" "non-2xx"
printf '%-34s %10s %9s %9s %8s\n' "tenant pages (responders)" "$page_rps" "$page_p50" "$page_p99" "$page_bad"
printf '%-34s %10s %9s %9s %8s\n' "same-size static file (nginx)" "$static_rps" "$static_p50" "$static_p99" "$static_bad"
printf 'ratio pages/static: %s\n' "$(awk -v a="$page_rps" -v b="$static_rps" 'BEGIN { printf "%.2f", a / b }')"
printf 'responder RSS: %s(%s processes)\n' "$rss" "$(wc -w <"$CANOPY_RUN/responder.pid")"
