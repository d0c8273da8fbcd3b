#!/usr/bin/env bash
# The logo screen (lib/admin_media.c, lib/image.c, lib/multipart.c)
# through nginx over verified TLS: a real PNG (made here with python3's
# zlib) is stored by the hash of its cleaned bytes and served by nginx
# from /media/ with immutable caching, its tEXt chunk gone; JPEG and WebP
# lose their Exif; a text file named logo.png, a damaged PNG, an oversized
# file and an empty file input are refused with the message next to the
# field and nothing changed; viewers only look; another tenant's editor
# gets 404; no CSRF token is 403; changes are audited; removing the logo
# brings back the monogram.
#
# Every sign-in POST goes out from an address of its own (127.0.14.N), so
# nginx's per-IP limit on sign-in posts is never reached.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

BASE="https://$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT"
A=logo-a-$$
B=logo-b-$$
ED=logo-ed-$$@example.com
VW=logo-vw-$$@example.com
PW_ED='editor battery staple 44'
PW_VW='viewer battery staple 44'
tmp=$(mktemp -d)

cleanup() {
	psql_q "WITH t AS (DELETE FROM tenants WHERE slug IN ('$A', '$B') RETURNING theme_id)
		DELETE FROM themes WHERE id IN (SELECT theme_id FROM t)" >/dev/null 2>&1 || true
	drop_users "$ED" "$VW"
	rm -rf "$tmp"
}
trap cleanup EXIT

ADMIN_IP_NET=127.0.14
# shellcheck source=tests/integration/helpers/admin.sh
source "$(dirname "$0")/helpers/admin.sh"

# png OUT W H [TEXT]: a real RGB PNG made with zlib; with TEXT, a tEXt
# chunk "Comment" holding it sits between IHDR and IDAT.  The same
# arguments give the same bytes.
png() {
	python3 - "$@" <<'PY'
import struct, sys, zlib
out, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
text = sys.argv[4].encode() if len(sys.argv) > 4 else None
def chunk(kind, data):
    return (struct.pack('>I', len(data)) + kind + data +
            struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))
rows = b''.join(b'\0' + b''.join(bytes((x * 37 % 256, y * 53 % 256, 160))
                                 for x in range(w)) for y in range(h))
data = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
if text:
    data += chunk(b'tEXt', b'Comment\0' + text)
data += chunk(b'IDAT', zlib.compress(rows, 9)) + chunk(b'IEND', b'')
open(out, 'wb').write(data)
PY
}
# upload SLUG COOKIE CSRF FILE [TYPE [FILENAME]]: the logo form as a
# browser posts it (multipart/form-data).
upload() {
	local slug=$1 cookie=$2 csrf=$3 file=$4 type=${5:-image/png} name=${6:-logo.png}
	req POST "/admin/tenants/$slug/logo" "$cookie" -F "csrf=$csrf" \
		-F "logo=@$file;type=$type;filename=$name"
}
logo_url() { psql_q "SELECT coalesce(logo_url, '') FROM tenants WHERE slug = '$1'"; }
audits() { # SLUG ACTION: how many audit entries
	psql_q "SELECT count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
		WHERE t.slug = '$1' AND a.action = '$2'"
}
site() { echo "https://$1.$CANOPY_DOMAIN:$CANOPY_HTTPS_PORT/"; }
public_has() { # SLUG TEXT: the public page shows TEXT
	local body
	body=$(get "$(site "$1")" 2>/dev/null) || return 1
	grep -qF -- "$2" <<<"$body"
}
# media URL OUT: GET of a URL (nginx's /media/); status on stdout,
# headers in $tmp/mh.
media() {
	local code
	code=$(_curl "$1" -o "$2" -D "$tmp/mh" -w '%{http_code}' 2>/dev/null) || code=000
	echo "$code"
}
mhdr() {
	awk -v want="$(tr '[:upper:]' '[:lower:]' <<<"$1")" 'BEGIN { FS = ":" }
		{ sub(/\r$/, "") } tolower($1) == want { sub(/^[^:]*:[ \t]*/, ""); print; exit }' "$tmp/mh"
}
unchanged() { # SLUG URL N WHAT: the logo and the count of its audit entries are as before
	[[ $(logo_url "$1") == "$2" ]] || fail "$4 changed the logo: $(logo_url "$1")"
	[[ $(audits "$1" tenant.logo) == "$3" ]] || fail "$4 wrote an audit entry"
}

# --- tenants, people -------------------------------------------------------------
PAGE='{"hero":{"headline":"Logo test","primary_cta":{"label":"Go","href":"#cta"}},
 "features":{"title":"Things","items":[{"icon":"bolt","title":"One","body":"Body."}]},
 "cta":{"headline":"Join","button":{"label":"Go","href":"#top"}}}'
THEME='{"colors":{"primary":"#4338ca","on_primary":"#ffffff","background":"#ffffff","surface":"#f5f7fb","text":"#0f172a","muted":"#475569"},"gradients":{"primary":"linear-gradient(135deg, #4338ca 0%, #7c3aed 100%)"}}'
for s in "$A" "$B"; do
	psql_q "WITH th AS (INSERT INTO themes (json) VALUES ('$THEME'::jsonb) RETURNING id),
		t AS (INSERT INTO tenants (slug, name, theme_id) SELECT '$s', 'Logo $s', id FROM th RETURNING id)
		INSERT INTO pages (tenant_id, json, is_published) SELECT id, '$PAGE'::jsonb, true FROM t" >/dev/null
done
printf '%s\n' "$PW_ED" | canopy user add --email "$ED" --name "Logo Editor" \
	--password-stdin >/dev/null 2>&1 || fail "canopy user add (editor)"
printf '%s\n' "$PW_VW" | canopy user add --email "$VW" --name "Logo Viewer" \
	--password-stdin >/dev/null 2>&1 || fail "canopy user add (viewer)"
canopy user member --email "$ED" --tenant "$A" --role editor >/dev/null 2>&1 || fail "member editor"
canopy user member --email "$VW" --tenant "$A" --role viewer >/dev/null 2>&1 || fail "member viewer"
wait_for 5 public_has "$A" "Logo test" || fail "tenant $A's page is not public"
public_has "$A" 'class="brand__mark"' || fail "without a logo the page does not show the monogram"
ok "two published tenants without logos, an editor and a viewer of $A"

code=$(login "$ED" "$PW_ED")
[[ $code == 303 ]] || fail "editor sign-in: $code"
ED_C=$(cookie)
code=$(login "$VW" "$PW_VW")
[[ $code == 303 ]] || fail "viewer sign-in: $code"
VW_C=$(cookie)

# --- the form ---------------------------------------------------------------------
code=$(req GET "/admin/tenants/$A/theme" "$ED_C")
expect 200 "$code" "theme editor"
has "href=\"/admin/tenants/$A/logo\"" || fail "the site tabs do not link the logo screen"
code=$(req GET "/admin/tenants/$A/logo" "$ED_C")
expect 200 "$code" "logo screen"
{ has 'enctype="multipart/form-data"' && has 'type="file" accept="image/png,image/jpeg,image/webp"'; } ||
	fail "no upload form"
has 'None yet' || fail "the screen does not say there is no logo"
CSRF=$(csrf_of)
[[ -n $CSRF ]] || fail "no CSRF token on the logo screen"
ok "the logo screen: linked from the site tabs, a multipart upload form"

# --- a PNG with a tEXt chunk ------------------------------------------------------
png "$tmp/tagged.png" 48 24 "secret-comment-$$"
png "$tmp/clean.png" 48 24
grep -qa "secret-comment-$$" "$tmp/tagged.png" || fail "the fixture lacks its tEXt chunk"
code=$(upload "$A" "$ED_C" "$CSRF" "$tmp/tagged.png")
expect 303 "$code" "PNG upload"
[[ $(hdr Location) == "/admin/tenants/$A/logo?notice=saved" ]] || fail "upload goes to $(hdr Location)"
hash=$(sha256sum "$tmp/clean.png" | cut -d' ' -f1)
URL=/media/$hash.png
[[ $(logo_url "$A") == "$URL" ]] ||
	fail "logo_url is '$(logo_url "$A")', want $URL (the hash of the PNG without tEXt)"
ok "PNG upload: 303, logo_url is /media/<sha256 of the cleaned bytes>.png"

code=$(media "$BASE$URL" "$tmp/served.png")
[[ $code == 200 ]] || fail "GET $URL: $code"
cmp -s "$tmp/served.png" "$tmp/clean.png" || fail "the served PNG is not the upload without its tEXt chunk"
grep -qa "secret-comment" "$tmp/served.png" && fail "the served PNG still holds the tEXt chunk"
[[ $(mhdr Cache-Control) == "public, max-age=31536000, immutable" ]] ||
	fail "media Cache-Control: '$(mhdr Cache-Control)'"
[[ $(mhdr Content-Type) == image/png ]] || fail "media Content-Type: '$(mhdr Content-Type)'"
[[ $(mhdr X-Content-Type-Options) == nosniff ]] || fail "media lacks nosniff"
code=$(media "$(site "$A")${URL#/}" "$tmp/served2.png")
[[ $code == 200 ]] && cmp -s "$tmp/served2.png" "$tmp/clean.png" ||
	fail "the logo is not served on the tenant's own host: $code"
f=$CANOPY_RUN/media/$hash.png
[[ -f $f && $(stat -c %a "$f") == 644 ]] || fail "no file $f with mode 644"
ls -a "$CANOPY_RUN/media" | grep -q '^\.upload-' && fail "a temporary file was left in the media directory"
# Only content-hash names are served from /media/.
echo "not for the public" >"$CANOPY_RUN/media/.upload-test$$"
for p in "/media/.upload-test$$" /media/ "/media/$hash.PNG" "/media/$hash.png.txt"; do
	code=$(media "$BASE$p" "$tmp/other")
	[[ $code == 404 ]] || fail "GET $p: $code, want 404"
done
rm -f "$CANOPY_RUN/media/.upload-test$$"
ok "nginx serves the cleaned bytes (identical, tEXt gone) with immutable caching, image/png and nosniff; other names under /media/ are 404"

wait_for 5 public_has "$A" "<img class=\"brand__logo\" src=\"$URL\"" ||
	fail "the tenant page does not show the logo"
public_has "$A" "og:image\" content=\"$(site "$A")${URL#/}\"" || fail "the page's og:image is not the logo"
public_has "$B" "$URL" && fail "$B's page shows $A's logo"
[[ $(audits "$A" tenant.logo) == 1 ]] || fail "no audit entry of the upload"
audit=$(psql_q "SELECT a.diff->'/logo_url'->>'new', a.request_id IS NOT NULL FROM audit_log a
	JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = '$A' AND a.action = 'tenant.logo'")
[[ $audit == "$URL|t" ]] || fail "audit entry of the upload: '$audit'"
code=$(req GET "/admin/tenants/$A/logo?notice=saved" "$ED_C")
expect 200 "$code" "logo screen after the upload"
{ has "src=\"$URL\"" && has 'PNG, 48 × 24 pixels' && has 'Saved.'; } ||
	fail "the screen does not show the new logo with its size"
ok "the tenant page shows the logo (img and og:image); audited with the new URL; the screen shows PNG, 48 × 24"

code=$(upload "$A" "$ED_C" "$CSRF" "$tmp/tagged.png" image/png other-name.png)
expect 303 "$code" "the same PNG again"
unchanged "$A" "$URL" 1 "the same upload again"
ok "the same content again: the same file and URL, no new audit entry"

# --- refused uploads ------------------------------------------------------------------
printf 'This is not a PNG, only text named logo.png.\n' >"$tmp/fake.png"
code=$(upload "$A" "$ED_C" "$CSRF" "$tmp/fake.png" image/png logo.png)
expect 422 "$code" "a text file named logo.png"
has 'id="f-logo-error">This file is not a PNG, JPEG or WebP image.' ||
	fail "no message next to the field for the text file"
has 'aria-invalid="true"' || fail "the file input is not marked invalid"
unchanged "$A" "$URL" 1 "the text file"
ok "a text file named logo.png sent as image/png: 422, the message next to the field, nothing changed"

# One bit flipped inside the IDAT chunk's data (IHDR ends at byte 33).
python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[45] ^= 1
open(sys.argv[2], "wb").write(d)' "$tmp/clean.png" "$tmp/badcrc.png"
code=$(upload "$A" "$ED_C" "$CSRF" "$tmp/badcrc.png")
expect 422 "$code" "a PNG with a bad CRC"
has 'checksum (CRC) is wrong' || fail "the damaged PNG is not explained"
unchanged "$A" "$URL" 1 "the damaged PNG"
{ printf '\x89PNG\r\n\x1a\n'; head -c 1100000 /dev/urandom; } >"$tmp/big.png"
code=$(upload "$A" "$ED_C" "$CSRF" "$tmp/big.png")
expect 413 "$code" "a file over 1 MiB"
has 'larger than 1 MiB' || fail "the oversized file is not explained"
unchanged "$A" "$URL" 1 "the oversized file"
png "$tmp/huge.png" 4097 1
code=$(upload "$A" "$ED_C" "$CSRF" "$tmp/huge.png")
expect 422 "$code" "a PNG 4097 pixels wide"
has 'larger than 4096 × 4096 pixels' || fail "the too-wide image is not explained"
# A file input left empty, as browsers send it: filename "", no bytes.
printf -- '--XyZ\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n%s\r\n--XyZ\r\nContent-Disposition: form-data; name="logo"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--XyZ--\r\n' \
	"$CSRF" >"$tmp/empty-form"
code=$(req POST "/admin/tenants/$A/logo" "$ED_C" -H 'Content-Type: multipart/form-data; boundary=XyZ' \
	--data-binary "@$tmp/empty-form")
expect 422 "$code" "no file chosen"
has 'Choose an image file' || fail "an empty file input is not explained"
unchanged "$A" "$URL" 1 "refused uploads"
ok "a damaged PNG, a file over 1 MiB, a PNG 4097 pixels wide, no file: refused with their messages, nothing changed"

# --- JPEG and WebP lose their Exif -----------------------------------------------
# Made with ImageMagick and exiftool (Artist "Secret Artist", a GPS
# position): 8x8 pixels of #4338ca.
base64 -d >"$tmp/exif.jpg" <<'B64'
/9j/4AAQSkZJRgABAQAAAQABAAD/4QDKRXhpZgAATU0AKgAAAAgABwESAAMAAAABAAEAAAEaAAUAAAABAAAAYgEbAAUAAAABAAAAagEoAAMAAAABAAEAAAE7AAIAAAAOAAAAcgITAAMAAAABAAEAAIglAAQAAAABAAAAgAAAAAAAAAABAAAAAQAAAAEAAAABU2VjcmV0IEFydGlzdAAAAwAAAAEAAAAEAgMAAAABAAIAAAACTgAAAAACAAUAAAADAAAAqgAAAAAAAAAwAAAAAQAAAAYAAAABAAAAAAAAAAH/2wBDAAUDBAQEAwUEBAQFBQUGBwwIBwcHBw8LCwkMEQ8SEhEPERETFhwXExQaFRERGCEYGh0dHx8fExciJCIeJBweHx7/2wBDAQUFBQcGBw4ICA4eFBEUHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh7/wAARCAAIAAgDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAf/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFQEBAQAAAAAAAAAAAAAAAAAABAf/xAAUEQEAAAAAAAAAAAAAAAAAAAAA/9oADAMBAAIRAxEAPwCWALkK/9k=
B64
base64 -d >"$tmp/exif.webp" <<'B64'
UklGRsAAAABXRUJQVlA4WAoAAAAIAAAABwAABwAAVlA4ICoAAABwAQCdASoIAAgAAgA0JaACdAFAAAD+8Oj3/1Bn/+rQ//5aH7CfJ+iMAABFWElGcAAAAE1NACoAAAAQRXhpZk1ldGEABQEaAAUAAAABAAAAUgEbAAUAAAABAAAAWgEoAAMAAAABAAIAAAE7AAIAAAAOAAAAYgITAAMAAAABAAEAAAAAAAAAAABIAAAAAQAAAEgAAAABU2VjcmV0IEFydGlzdAA=
B64
n=1
for kind in jpg:image/jpeg webp:image/webp; do
	ext=${kind%%:*} mime=${kind#*:}
	grep -qa "Secret Artist" "$tmp/exif.$ext" || fail "the $ext fixture lacks its Exif"
	# Declared as PNG on purpose: the type comes from the bytes.
	code=$(upload "$A" "$ED_C" "$CSRF" "$tmp/exif.$ext" image/png "logo.png")
	expect 303 "$code" "$ext upload"
	url=$(logo_url "$A")
	[[ $url =~ ^/media/[0-9a-f]{64}\.$ext$ ]] || fail "the $ext logo's URL: $url"
	code=$(media "$BASE$url" "$tmp/served.$ext")
	[[ $code == 200 ]] || fail "GET $url: $code"
	[[ $(mhdr Content-Type) == "$mime" ]] || fail "$ext Content-Type: '$(mhdr Content-Type)'"
	grep -qa "Secret Artist" "$tmp/served.$ext" && fail "the served $ext still holds the Exif"
	[[ $(sha256sum "$tmp/served.$ext" | cut -d' ' -f1) == "$(basename "$url" ".$ext")" ]] ||
		fail "the $ext file's name is not the hash of its bytes"
	n=$((n + 1))
	[[ $(audits "$A" tenant.logo) == "$n" ]] || fail "the $ext upload is not audited"
done
ok "a JPEG and a WebP (declared image/png): stored as .jpg and .webp by their bytes, served as image/jpeg and image/webp without Exif"
URL=$(logo_url "$A")

# --- CSRF, roles, other tenants ---------------------------------------------------
code=$(req POST "/admin/tenants/$A/logo" "$ED_C" -F "logo=@$tmp/clean.png;type=image/png")
expect 403 "$code" "upload without a CSRF token"
code=$(upload "$A" "$ED_C" "${CSRF:0:20}AAAA${CSRF:24}" "$tmp/clean.png")
expect 403 "$code" "upload with a wrong CSRF token"
code=$(req POST "/admin/tenants/$A/logo/remove" "$ED_C" -F "logo=@$tmp/clean.png")
expect 403 "$code" "remove without a CSRF token"
unchanged "$A" "$URL" "$n" "posts without a CSRF token"
ok "uploads and removal without or with a wrong CSRF token: 403, nothing changed"

code=$(req GET "/admin/tenants/$A/logo" "$VW_C")
expect 200 "$code" "viewer's logo screen"
has "src=\"$URL\"" || fail "the viewer does not see the logo"
has 'needs the editor role' || fail "the viewer is not told why there is no form"
{ has 'type="file"' || has '/logo/remove"'; } && fail "the viewer is offered the upload or remove form"
VW_CSRF=$(csrf_of)
code=$(upload "$A" "$VW_C" "$VW_CSRF" "$tmp/clean.png")
expect 404 "$code" "viewer uploads"
code=$(post_form "/admin/tenants/$A/logo/remove" "$VW_C" "csrf=$VW_CSRF")
expect 404 "$code" "viewer removes"
unchanged "$A" "$URL" "$n" "the viewer"
ok "a viewer sees the logo without forms; upload and remove are 404 for a viewer"

code=$(req GET "/admin/tenants/$B/logo" "$ED_C")
expect 404 "$code" "editor of $A: $B's logo screen"
code=$(upload "$B" "$ED_C" "$CSRF" "$tmp/clean.png")
expect 404 "$code" "editor of $A: upload to $B"
code=$(post_form "/admin/tenants/$B/logo/remove" "$ED_C" "csrf=$CSRF")
expect 404 "$code" "editor of $A: remove $B's logo"
code=$(req GET "/admin/tenants/nope-$$/logo" "$ED_C")
expect 404 "$code" "a tenant that does not exist"
[[ -z $(logo_url "$B") ]] || fail "$B got a logo"
ok "another tenant's logo screen, upload and removal: 404, $B unchanged"

# --- bodies the admin cannot read ---------------------------------------------------
code=$(req POST "/admin/tenants/$A/logo" "$ED_C" -H 'Content-Type: multipart/form-data; boundary=x' \
	--data-binary $'--x\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nabc')
expect 400 "$code" "a truncated multipart body"
code=$(req POST "/admin/tenants/$A/logo" "$ED_C" -H 'Content-Type: multipart/form-data' \
	--data-binary $'--x--\r\n')
expect 400 "$code" "a multipart body without a boundary"
head -c 70000 /dev/zero >"$tmp/70k"
code=$(req POST "/admin/tenants/$A/logo/remove" "$ED_C" -F "csrf=$CSRF" -F "logo=@$tmp/70k")
expect 413 "$code" "a 70 KB multipart post to a route that takes no file"
unchanged "$A" "$URL" "$n" "unreadable bodies"
ok "a truncated multipart body or one without a boundary: 400; a big multipart body elsewhere: 413"

# --- removal (a multipart form works for a plain route too) --------------------------
code=$(req POST "/admin/tenants/$A/logo/remove" "$ED_C" -F "csrf=$CSRF")
expect 303 "$code" "remove (multipart)"
[[ $(hdr Location) == "/admin/tenants/$A/logo?notice=removed" ]] || fail "remove goes to $(hdr Location)"
[[ -z $(logo_url "$A") ]] || fail "logo_url after removal: $(logo_url "$A")"
[[ $(audits "$A" tenant.logo_remove) == 1 ]] || fail "the removal is not audited"
wait_for 5 public_has "$A" 'class="brand__mark"' || fail "the page does not show the monogram again"
public_has "$A" "/media/" && fail "the page still refers to a logo"
code=$(post_form "/admin/tenants/$A/logo/remove" "$ED_C" "csrf=$CSRF")
expect 303 "$code" "remove again"
[[ $(audits "$A" tenant.logo_remove) == 1 ]] || fail "removing no logo wrote an audit entry"
ok "remove: 303, logo_url cleared, audited once, the page shows the monogram again"
