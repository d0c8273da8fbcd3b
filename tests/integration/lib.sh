# shellcheck shell=bash
# Helpers for the integration tests; each tests/integration/NN-name.sh
# sources this file.  ./dev test runs every script with bash against its
# own stack and exports: CANOPY_SRC, CANOPY_BUILD, CANOPY_RUN, DATABASE_URL,
# PGHOST, PGPORT, PGDATABASE, PGUSER, CANOPY_DOMAIN, CANOPY_HTTPS_PORT,
# CANOPY_NCHAN_PORT, CANOPY_CA (the local CA's certificate), CANOPY_PGBIN
# and CANOPY_LOGS.
#
# Output is TAP-like: "ok - ..." per check; the first "not ok - ..." ends
# the script with status 1.

: "${CANOPY_CA:?run the integration tests with ./dev test}"
: "${CANOPY_PGBIN:=/usr/lib/postgresql/15/bin}"

ok() { printf 'ok - %s\n' "$*"; }

fail() {
	printf 'not ok - %s\n' "$*"
	exit 1
}

# check DESC CMD...: ok or fail by the command's exit status.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}

# wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds; fails
# (returns 1) after SECONDS.  Bounded in tries as well as in time.
wait_for() {
	local secs=$1 i deadline
	shift
	deadline=$((SECONDS + secs))
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		((SECONDS < deadline)) || break
		sleep 0.1
	done
	"$@"
}

# curl verifying the certificate against the local CA, never -k.
# Names under CANOPY_DOMAIN are pinned to the loopback listener with
# --resolve: curl resolves *.localhost to loopback by itself, but the
# system resolver does not, and CANOPY_DOMAIN may be another name.
_curl() {
	local url=$1 hostport
	shift
	hostport=${url#*://}
	hostport=${hostport%%/*}
	local -a pin=()
	if [[ $hostport == *:* ]]; then
		case ${hostport%:*} in
		"$CANOPY_DOMAIN" | *."$CANOPY_DOMAIN") pin=(--resolve "$hostport:127.0.0.1") ;;
		esac
	fi
	curl -sS --max-time 20 --cacert "$CANOPY_CA" "${pin[@]}" "$@" "$url"
}

# get URL [curl args...]: the body on stdout.  Fails (curl's status 22)
# on an HTTP error status, but still writes the body (to -o if given).
get() {
	local url=$1
	shift
	_curl "$url" --fail-with-body "$@"
}

# status_of URL [curl args...]: the HTTP status code ("000" when there
# was no answer).  Always succeeds.
status_of() {
	local url=$1 code
	shift
	code=$(_curl "$url" -o /dev/null -w '%{http_code}' "$@" 2>/dev/null) || true
	printf '%s\n' "${code:-000}"
}

# header_of URL NAME [curl args...]: the value of the first response
# header NAME (case-insensitive), empty if absent.  Always succeeds.
header_of() {
	local url=$1 name=$2
	shift 2
	{ _curl "$url" -o /dev/null -D - "$@" 2>/dev/null || true; } |
		awk -v want="$(tr '[:upper:]' '[:lower:]' <<<"$name")" '
			BEGIN { FS = ":" }
			{ sub(/\r$/, "") }
			tolower($1) == want {
				sub(/^[^:]*:[ \t]*/, ""); print; exit
			}'
}

# psql_q SQL: runs SQL on the test database; unaligned, tuples only.
psql_q() {
	"$CANOPY_PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c "$1"
}

# The CLI as built for this run.
canopy() { "$CANOPY_BUILD/canopy" "$@"; }

# drop_users EMAIL...: removes the people a script made (for its cleanup:
# never fails).  The addresses are the script's own, made of safe
# characters.
drop_users() {
	local list
	list=$(printf "'%s'," "$@")
	psql_q "DELETE FROM users WHERE email IN (${list%,})" >/dev/null 2>&1 || true
}

# pg_restart: restarts the test stack's PostgreSQL (fast shutdown) and
# waits until it accepts connections again.
pg_restart() {
	(cd / && runuser -u postgres -- "$CANOPY_PGBIN/pg_ctl" -D "$CANOPY_RUN/pg/data" \
		-l "$CANOPY_LOGS/postgresql.log" -m fast -w -t 60 restart) >/dev/null ||
		fail "pg_ctl restart failed"
	wait_for 30 "$CANOPY_PGBIN/pg_isready" -q -h "$PGHOST" -p "$PGPORT" ||
		fail "PostgreSQL does not accept connections after a restart"
}

# server_spki: the base64 SHA-256 of the stack's server certificate's public
# key, for chromium's --ignore-certificate-errors-spki-list: the browser
# then trusts exactly our certificate, and nothing else it cannot verify.
server_spki() {
	local cert="${CANOPY_RUN:?}/tls/server.crt"
	[[ -r $cert ]] || fail "no server certificate at $cert"
	openssl x509 -in "$cert" -noout -pubkey | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | base64
}
