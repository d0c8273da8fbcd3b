#include "assets.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "log.h"

#define ASSETS_MAX 128
#define ASSET_FILE_MAX (8 << 20)
#define HASH_HEX 16

struct asset {
	char *file; /* "site.css" */
	char *url;  /* "/assets/site.<hash>.css" */
};

struct assets {
	struct asset items[ASSETS_MAX];
	int count;
};

/* Same rule as nginx's location: [a-z0-9-]+ "." ext. */
static bool servable_name(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (!dot || dot == name || strlen(dot + 1) == 0 || strlen(dot + 1) > 5)
		return false;
	for (const char *p = name; p < dot; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-'))
			return false;
	return true;
}

static int hash_file(const char *path, char hex[HASH_HEX + 1])
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return ERR_NOT_FOUND;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx) {
		fclose(f);
		return ERR_INTERNAL;
	}
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	unsigned char chunk[16384];
	size_t n, total = 0;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && total <= ASSET_FILE_MAX) {
		EVP_DigestUpdate(ctx, chunk, n);
		total += n;
	}
	fclose(f);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (total > ASSET_FILE_MAX)
		return ERR_TOO_LARGE;
	for (int i = 0; i < HASH_HEX / 2; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

assets_t *assets_load(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		log_error("static directory %s cannot be read", dir);
		return NULL;
	}
	assets_t *a = xcalloc(1, sizeof *a);
	struct dirent *e;
	while ((e = readdir(d)) && a->count < ASSETS_MAX) {
		if (!servable_name(e->d_name))
			continue;
		char path[4096], hex[HASH_HEX + 1];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (hash_file(path, hex) != 0) {
			log_warn("static file %s skipped", path);
			continue;
		}
		const char *dot = strrchr(e->d_name, '.');
		size_t url_len = strlen(e->d_name) + HASH_HEX + 16;
		char *url = xmalloc(url_len);
		snprintf(url, url_len, "/assets/%.*s.%s%s",
			 (int)(dot - e->d_name), e->d_name, hex, dot);
		a->items[a->count].file = xstrdup(e->d_name);
		a->items[a->count].url = url;
		a->count++;
	}
	closedir(d);
	return a;
}

void assets_free(assets_t *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->count; i++) {
		free(a->items[i].file);
		free(a->items[i].url);
	}
	free(a);
}

const char *assets_url(const assets_t *a, const char *file)
{
	for (int i = 0; i < a->count; i++)
		if (strcmp(a->items[i].file, file) == 0)
			return a->items[i].url;
	return NULL;
}
