#include "admin_media.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_screen.h"
#include "audit.h"
#include "crypto.h"
#include "image.h"
#include "log.h"

typedef admin_ctx_t ctx_t;
typedef admin_tenant_t tenant_t;

#define MEDIA_PREFIX "/media/"

/* ------------------------------------------------------------ storage */

static int sys_fail(const char *what, const char *path)
{
	log_line_t *l = log_begin(LOG_ERROR, "media: cannot store a file");
	log_str(l, "step", what);
	log_str(l, "path", path);
	log_str(l, "error", strerror(errno));
	log_end(l);
	return ERR_INTERNAL;
}

static bool valid_ext(const char *ext)
{
	size_t n = ext ? strlen(ext) : 0;
	if (n == 0 || n > 4)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ext[i] < 'a' || ext[i] > 'z')
			return false;
	return true;
}

int admin_media_store(const char *dir, str_t data, const char *ext,
		      char name[ADMIN_MEDIA_NAME_SIZE])
{
	char hex[CRYPTO_SHA256_HEX_SIZE], path[PATH_MAX], tmp[PATH_MAX];
	if (!dir || !valid_ext(ext))
		return ERR_INVALID;
	crypto_sha256_hex(data.p, data.len, hex);
	snprintf(name, ADMIN_MEDIA_NAME_SIZE, "%s.%s", hex, ext);
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
	    snprintf(tmp, sizeof tmp, "%s/.upload-XXXXXX", dir) >= (int)sizeof tmp)
		return ERR_INVALID;

	/* The name is the content's hash: a file of that name and size is
	 * this content (it was renamed into place whole). */
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (size_t)st.st_size == data.len)
		return 0;

	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return sys_fail("create", tmp);
	const char *step = NULL;
	for (size_t done = 0; done < data.len && !step;) {
		ssize_t w = write(fd, data.p + done, data.len - done);
		if (w < 0 && errno != EINTR)
			step = "write";
		else if (w > 0)
			done += (size_t)w;
	}
	/* mkostemp made it 0600; nginx (another user) must read it. */
	if (!step && fchmod(fd, 0644) != 0)
		step = "chmod";
	if (!step && fsync(fd) != 0)
		step = "fsync";
	if (close(fd) != 0 && !step)
		step = "close";
	if (!step && rename(tmp, path) != 0)
		step = "rename";
	if (step) {
		int rc = sys_fail(step, tmp);
		unlink(tmp);
		return rc;
	}
	/* The rename itself survives a crash once the directory is synced. */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		int rc = sys_fail("fsync directory", dir);
		if (dfd >= 0)
			close(dfd);
		return rc;
	}
	close(dfd);
	return 0;
}

/* The file name in a logo URL of ours ("/media/<64 hex>.<ext>"), or NULL
 * (a URL set some other way: shown, never opened). */
static const char *media_name(const char *url)
{
	if (!url || strncmp(url, MEDIA_PREFIX, strlen(MEDIA_PREFIX)) != 0)
		return NULL;
	const char *name = url + strlen(MEDIA_PREFIX);
	for (int i = 0; i < 64; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		      (name[i] >= 'a' && name[i] <= 'f')))
			return NULL;
	return name[64] == '.' && valid_ext(name + 65) ? name : NULL;
}

/* What the stored logo is (type and size), read back from the media
 * directory; false when it cannot be read or judged. */
static bool stored_info(ctx_t *c, const char *name, image_info_t *info,
			size_t *bytes)
{
	const char *dir = admin_config(c)->media_dir;
	if (!dir)
		return false;
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		  st.st_size > 0 && (size_t)st.st_size <= ADMIN_MEDIA_MAX;
	char *data = ok ? arena_alloc(c->arena, (size_t)st.st_size) : NULL;
	size_t got = 0;
	while (ok && got < (size_t)st.st_size) {
		ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
		if (r <= 0 && !(r < 0 && errno == EINTR))
			ok = false;
		else if (r > 0)
			got += (size_t)r;
	}
	close(fd);
	if (!ok)
		return false;
	*bytes = got;
	return image_clean(NULL, (str_t){data, got}, 0, info, NULL, NULL) == 0;
}

/* ------------------------------------------------------------ screen */

static const db_stmt_t q_logo = {
	"admin_media_logo",
	"SELECT logo_url FROM tenants WHERE id = $1::bigint",
	1};

static const db_stmt_t q_logo_lock = {
	"admin_media_logo_lock",
	"SELECT logo_url FROM tenants WHERE id = $1::bigint FOR UPDATE",
	1};

static const db_stmt_t q_logo_set = {
	"admin_media_logo_set",
	"UPDATE tenants SET logo_url = $2 WHERE id = $1::bigint",
	2};

/* The tenant of the path, if the person may do action in it. */
static int tenant_for(ctx_t *c, tenant_t *t, auth_action_t action)
{
	int rc = admin_load_tenant(c, t);
	if (rc)
		return rc;
	return auth_can(t->role, action) ? 0 : ERR_NOT_FOUND;
}

/* The current logo URL (NULL: none); locked for the transaction when
 * lock is set. */
static int load_logo(ctx_t *c, const tenant_t *t, bool lock, const char **url)
{
	const char *p[] = {db_param_ll(c->arena, t->id)};
	PGresult *r;
	int rc = db_exec(c->db, c->arena, lock ? &q_logo_lock : &q_logo, p, &r);
	if (rc)
		return rc;
	if (db_rows(r) != 1)
		return ERR_NOT_FOUND;
	*url = db_value(r, 0, 0);
	return 0;
}

static const char *size_text(arena_t *a, size_t bytes)
{
	if (bytes < 1024)
		return arena_printf(a, "%zu bytes", bytes);
	return arena_printf(a, "%.1f KiB", (double)bytes / 1024.0);
}

static json_t *logo_view(ctx_t *c, const char *url)
{
	if (!url || !*url)
		return NULL;
	json_t *v = json_pack("{s:s}", "url", url);
	const char *name = media_name(url);
	image_info_t info;
	size_t bytes;
	if (name && stored_info(c, name, &info, &bytes)) {
		json_object_set_new(v, "kind", json_string(image_name(info.type)));
		json_object_set_new(v, "width", json_integer(info.width));
		json_object_set_new(v, "height", json_integer(info.height));
		json_object_set_new(v, "size",
				    json_string(size_text(c->arena, bytes)));
	}
	return v;
}

static int render_logo(ctx_t *c, int status, const tenant_t *t,
		       const char *url, const char *error, const char *notice)
{
	json_t *view = json_pack(
		"{s:{s:s, s:s, s:s}, s:b, s:b, s:i}", "tenant", "slug", t->slug,
		"name", t->name, "url", admin_site_url(c, t->slug), "can_edit",
		auth_can(t->role, AUTH_EDIT), "enabled",
		admin_config(c)->media_dir != NULL, "max_side",
		ADMIN_MEDIA_SIDE_MAX);
	json_t *logo = logo_view(c, url);
	if (logo)
		json_object_set_new(view, "logo", logo);
	if (error)
		json_object_set_new(view, "error", json_string(error));
	if (notice)
		json_object_set_new(view, "notice", json_string(notice));
	return admin_render(c, status, "admin/logo", view);
}

static int h_logo(http_request_t *req, http_response_t *resp, void *app)
{
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	const char *url;
	int rc = tenant_for(c, &t, AUTH_READ);
	if (rc || (rc = load_logo(c, &t, false, &url)))
		return rc;
	str_t n = http_query(req, "notice");
	const char *notice =
		str_eq_c(n, "saved")     ? "Saved. The site shows the new logo now."
		: str_eq_c(n, "removed") ? "Removed. The site shows the first "
					   "letter of its name instead."
					 : NULL;
	return render_logo(c, 200, &t, url, NULL, notice);
}

/* Points the tenant's logo at url (NULL: none) with its audit entry, in
 * one transaction; nothing is written when it is already so. */
static int set_logo(ctx_t *c, const tenant_t *t, const char *url,
		    const char *action)
{
	const char *before;
	int rc = db_begin(c->db);
	if (rc || (rc = load_logo(c, t, true, &before)))
		goto out;
	if ((!before && !url) || (before && url && strcmp(before, url) == 0)) {
		db_rollback(c->db);
		return 0;
	}
	const char *p[] = {db_param_ll(c->arena, t->id), url};
	json_t *old = json_pack("{s:s?}", "logo_url", before);
	json_t *new = json_pack("{s:s?}", "logo_url", url);
	if (!(rc = db_exec(c->db, c->arena, &q_logo_set, p, NULL)))
		rc = audit_write(c->db, c->arena, t->id, c->session.user.id,
				 action, "tenant", db_param_ll(c->arena, t->id),
				 old, new);
	json_decref(old);
	json_decref(new);
	if (rc || (rc = db_commit(c->db)))
		goto out;
	return 0;
out:
	db_rollback(c->db);
	return rc;
}

static int h_logo_upload(http_request_t *req, http_response_t *resp,
			 void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	const char *current;
	int rc = tenant_for(c, &t, AUTH_EDIT);
	if (rc || (rc = load_logo(c, &t, false, &current)))
		return rc;
	const char *dir = admin_config(c)->media_dir;
	if (!dir)
		return render_logo(c, 503, &t, current,
				   "Uploads are not set up on this server "
				   "(CANOPY_MEDIA_DIR).",
				   NULL);
	const multipart_part_t *f = admin_file(c, "logo");
	if (!f || f->data.len == 0)
		return render_logo(c, 422, &t, current,
				   "Choose an image file: PNG, JPEG or WebP.",
				   NULL);
	if (f->data.len > ADMIN_MEDIA_MAX)
		return render_logo(c, 413, &t, current,
				   "This file is larger than 1 MiB. Please "
				   "choose a smaller image.",
				   NULL);
	image_info_t info;
	str_t clean;
	const char *why = NULL;
	rc = image_clean(c->arena, f->data, ADMIN_MEDIA_SIDE_MAX, &info, &clean,
			 &why);
	if (rc == ERR_TOO_LARGE)
		why = "This image is larger than 4096 × 4096 pixels. Please "
		      "choose a smaller one.";
	if (rc == ERR_MEDIA_TYPE || rc == ERR_INVALID || rc == ERR_TOO_LARGE) {
		log_line_t *l = log_begin(LOG_INFO, "logo refused");
		log_str(l, "tenant", t.slug);
		log_str(l, "why", why);
		log_int(l, "bytes", (long long)f->data.len);
		log_end(l);
		return render_logo(c, 422, &t, current, why, NULL);
	}
	if (rc)
		return rc;
	char name[ADMIN_MEDIA_NAME_SIZE];
	if ((rc = admin_media_store(dir, clean, image_ext(info.type), name)))
		return rc == ERR_INVALID ? ERR_INTERNAL : rc;
	const char *url = arena_printf(c->arena, MEDIA_PREFIX "%s", name);
	if ((rc = set_logo(c, &t, url, "tenant.logo")))
		return rc;
	log_line_t *l = log_begin(LOG_INFO, "logo stored");
	log_str(l, "tenant", t.slug);
	log_str(l, "url", url);
	log_int(l, "bytes_in", (long long)f->data.len);
	log_int(l, "bytes_out", (long long)clean.len);
	log_end(l);
	return admin_redirect(c, arena_printf(c->arena,
					      "/admin/tenants/%s/logo?notice=saved",
					      t.slug));
}

static int h_logo_remove(http_request_t *req, http_response_t *resp,
			 void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = tenant_for(c, &t, AUTH_EDIT);
	if (rc || (rc = set_logo(c, &t, NULL, "tenant.logo_remove")))
		return rc;
	return admin_redirect(c, arena_printf(c->arena,
					      "/admin/tenants/%s/logo?notice=removed",
					      t.slug));
}

/* "upload.*": admin.c reads a multipart body of up to ADMIN_UPLOAD_MAX
 * bytes for this route only. */
static const router_route_t routes[] = {
	{"GET", "/admin/tenants/{slug}/logo", ROUTER_PLATFORM, h_logo,
	 "admin.logo"},
	{"POST", "/admin/tenants/{slug}/logo", ROUTER_PLATFORM, h_logo_upload,
	 "upload.logo"},
	{"POST", "/admin/tenants/{slug}/logo/remove", ROUTER_PLATFORM,
	 h_logo_remove, "admin.logo_remove"},
};

const router_route_t *admin_media_routes(size_t *n)
{
	*n = sizeof routes / sizeof routes[0];
	return routes;
}
