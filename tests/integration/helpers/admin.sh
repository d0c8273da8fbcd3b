# Helpers of the admin tests (40-admin.sh, 41-admin-site.sh,
# 42-admin-team.sh): requests through nginx with a session cookie, form
# posts, sign-in from fresh source addresses.  The caller sets BASE (the
# platform origin), tmp (a scratch directory) and ADMIN_IP_NET (e.g.
# 127.0.10: each script signs in from addresses of its own, so nginx's
# per-address sign-in limit of one never touches another's).
# shellcheck shell=bash

# req METHOD PATH COOKIE [curl args...]: the HTTP status ("000": no
# answer); body in $tmp/body, headers in $tmp/h.
req() {
	local method=$1 path=$2 cookie=$3
	shift 3
	local -a c=()
	[[ -n $cookie ]] && c=(-H "Cookie: canopy_session=$cookie")
	local code
	code=$(_curl "$BASE$path" -X "$method" "${c[@]}" -o "$tmp/body" -D "$tmp/h" \
		-w '%{http_code}' "$@" 2>/dev/null) || code=000
	echo "$code"
}
hdr() { # NAME: a header of the last answer
	awk -v want="$(tr '[:upper:]' '[:lower:]' <<<"$1")" 'BEGIN { FS = ":" }
		{ sub(/\r$/, "") } tolower($1) == want { sub(/^[^:]*:[ \t]*/, ""); print; exit }' "$tmp/h"
}
# expect STATUS GOT WHAT: the status of the last answer, which (as every
# admin answer, nginx's 429 included) must be no-store.
expect() {
	[[ $2 == "$1" ]] || fail "$3: status $2, want $1: $(head -c 600 "$tmp/body")"
	[[ $(hdr Cache-Control) == no-store ]] ||
		fail "$3: Cache-Control is '$(hdr Cache-Control)', want no-store"
}
has() { grep -qF -- "$1" "$tmp/body"; }
csrf_of() { # the CSRF token in the last page
	grep -o 'name="csrf" value="[^"]*"' "$tmp/body" | head -n 1 | sed 's/.*value="//; s/"$//'
}
# A source address not used before.  The count lives in a file: callers
# run in command substitutions, whose variables die with them.
next_ip() {
	local n
	n=$(($(cat "$tmp/ip_n" 2>/dev/null || echo 0) + 1))
	((n < 250)) || fail "out of source addresses"
	echo "$n" >"$tmp/ip_n"
	echo "${ADMIN_IP_NET:?}.$n"
}
# post_form PATH COOKIE DATA [curl args...]: a form POST.
post_form() {
	local path=$1 cookie=$2 data=$3
	shift 3
	req POST "$path" "$cookie" -H 'Content-Type: application/x-www-form-urlencoded' \
		--data-raw "$data" "$@"
}
uri() { jq -rn --arg v "$1" '$v|@uri'; }
# login EMAIL PASSWORD: status of a sign-in from a fresh address; the
# session cookie (if any) in $tmp/cookie.
login() {
	: >"$tmp/cookie"
	local code
	code=$(post_form /admin/login "" "email=$(uri "$1")&password=$(uri "$2")" \
		--interface "$(next_ip)")
	hdr Set-Cookie | sed -n 's/^canopy_session=\([^;]*\);.*/\1/p' >"$tmp/cookie"
	echo "$code"
}
cookie() { cat "$tmp/cookie"; }
