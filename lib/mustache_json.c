#include "mustache_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mustache_kind_t kind(const void *value)
{
	switch (json_typeof((const json_t *)value)) {
	case JSON_OBJECT: return MUSTACHE_MAP;
	case JSON_ARRAY: return MUSTACHE_LIST;
	case JSON_STRING: return MUSTACHE_STRING;
	case JSON_INTEGER:
	case JSON_REAL: return MUSTACHE_NUMBER;
	case JSON_TRUE:
	case JSON_FALSE: return MUSTACHE_BOOL;
	default: return MUSTACHE_NULL;
	}
}

static const void *get(const void *map, const char *key, size_t keylen)
{
#if JANSSON_VERSION_HEX >= 0x020e00
	return json_object_getn((const json_t *)map, key, keylen);
#else
	/* Before 2.14 keys must be NUL-terminated. */
	char small[128];
	if (keylen < sizeof small) {
		memcpy(small, key, keylen);
		small[keylen] = '\0';
		return json_object_get((const json_t *)map, small);
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)map, k, v)
	{
		if (strlen(k) == keylen && memcmp(k, key, keylen) == 0)
			return v;
	}
	return NULL;
#endif
}

static size_t list_len(const void *list)
{
	return json_array_size((const json_t *)list);
}

static const void *list_at(const void *list, size_t i)
{
	return json_array_get((const json_t *)list, i);
}

static bool truthy(const void *value)
{
	const json_t *j = value;
	switch (json_typeof(j)) {
	case JSON_TRUE: return true;
	case JSON_INTEGER: return json_integer_value(j) != 0;
	case JSON_REAL: return json_real_value(j) != 0.0;
	case JSON_STRING: return json_string_length(j) > 0;
	case JSON_OBJECT: return true;
	case JSON_ARRAY: return json_array_size(j) > 0;
	default: return false;
	}
}

/* The shortest %g form that reads back as the same double, so 1.21
 * prints as "1.21" rather than "1.2100000000000000". */
static int put_real(double v, buf_t *out)
{
	char tmp[40];
	int n = 0;
	for (int prec = 1; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
		if (n > 0 && (size_t)n < sizeof tmp && strtod(tmp, NULL) == v)
			break;
	}
	if (n <= 0 || (size_t)n >= sizeof tmp)
		return ERR_INTERNAL;
	return buf_append(out, tmp, (size_t)n);
}

static int append_text(const void *value, buf_t *out)
{
	const json_t *j = value;
	switch (json_typeof(j)) {
	case JSON_STRING:
		return buf_append(out, json_string_value(j),
				  json_string_length(j));
	case JSON_INTEGER:
		return buf_printf(out, "%" JSON_INTEGER_FORMAT,
				  json_integer_value(j));
	case JSON_REAL: return put_real(json_real_value(j), out);
	case JSON_TRUE: return buf_puts(out, "true");
	case JSON_FALSE: return buf_puts(out, "false");
	default: return 0;
	}
}

const mustache_data_t mustache_json_data = {
	.kind = kind,
	.get = get,
	.list_len = list_len,
	.list_at = list_at,
	.truthy = truthy,
	.append_text = append_text,
};

int mustache_json_render(const mustache_set_t *set, const char *name,
			 const json_t *root, buf_t *out)
{
	return mustache_render(set, name, &mustache_json_data, root, out);
}
