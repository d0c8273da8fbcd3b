/* mustache_json: renders Mustache templates from jansson values. */
#ifndef CANOPY_MUSTACHE_JSON_H
#define CANOPY_MUSTACHE_JSON_H

#include <jansson.h>

#include "mustache.h"

/* The data interface over json_t (numbers print as the spec expects:
 * integers without a decimal point, reals in their shortest form). */
extern const mustache_data_t mustache_json_data;

/* mustache_render() with a json_t context. */
int mustache_json_render(const mustache_set_t *set, const char *name,
			 const json_t *root, buf_t *out) WARN_UNUSED;

#endif
