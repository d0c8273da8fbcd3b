/* page: a tenant landing page's content, checked and given its defaults.
 *
 * Page JSON (lengths are in characters; every string must be valid UTF-8
 * without control characters other than tab and newline; unknown keys are
 * refused because they are almost always typos):
 *
 *   {
 *     "seo": {                                   optional
 *       "title": "...",          1..120, default: hero.headline
 *       "description": "..."     0..300, default: hero.subheadline or ""
 *     },
 *     "hero": {                                  required
 *       "eyebrow": "...",        optional, 1..60 (small label above)
 *       "headline": "...",       required, 1..120
 *       "subheadline": "...",    optional, 1..300
 *       "primary_cta": LINK,     required
 *       "secondary_cta": LINK    optional or null
 *     },
 *     "features": {                              required
 *       "eyebrow": "...",        optional, 1..60, default "Features"
 *       "title": "...",          required, 1..120
 *       "subtitle": "...",       optional, 1..300
 *       "items": [               1..12 of
 *         {"icon": ICON, "title": "..." (1..80), "body": "..." (1..400)}
 *       ]
 *     },
 *     "status": {                                optional
 *       "eyebrow": "...",        optional, 1..60, default "Live status"
 *       "title": "...",          1..120, default "Our automations"
 *       "subtitle": "..."        1..300, default below
 *     },
 *     "cta": {                                   required
 *       "headline": "...",       required, 1..120
 *       "body": "...",           optional, 1..300
 *       "button": LINK           required
 *     },
 *     "footer": {"tagline": "..."}              optional, 1..200
 *   }
 *
 *   LINK = {"label": "..." (1..40), "href": HREF}
 *   HREF = https://host..., http://host..., mailto:..., tel:..., /path
 *          (not //host) or #anchor; at most 2048 bytes, no spaces, quotes,
 *          angle brackets, backslashes or control characters.
 *   ICON = one of page_icons.
 *
 * The rendered page has the anchors #top (hero), #features, #status and
 * #cta, so "#cta" is a good href for a hero button.
 *
 * Problems are reported like theme_check(): a JSON array of
 * {"field": "features.items[2].icon", "message": "..."}, every one found. */
#ifndef CANOPY_PAGE_H
#define CANOPY_PAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* The icon names accepted in features.items[].icon, NULL-terminated.  Each
 * has a template partials/icons/<name>.mustache. */
extern const char *const page_icons[];

/* Whether name is one of page_icons. */
bool page_icon_known(const char *name);

/* Whether href (len bytes) is an allowed link target (see HREF above). */
bool page_href_ok(const char *href, size_t len);

/* Checks a page.  Returns 0 when valid, else ERR_INVALID.  When
 * problems_out is not NULL it receives a new JSON array the caller owns
 * (empty when valid) with every problem found. */
int page_check(const json_t *page, json_t **problems_out) WARN_UNUSED;

/* A new deep copy of a page that passed page_check(), with the defaults
 * above filled in and these fields added for the templates:
 *   features.items[i].icon_partial  "partials/icons/<icon>"
 *   features.items[i].index         1-based position
 *   features.columns                1, 2 or 3 (cards per row on wide
 *                                   screens: 2 for 2 or 4 items)
 *   features.count                  number of items
 *   hero.secondary_cta              null when absent
 * The caller owns the result (json_decref).  Never NULL. */
json_t *page_defaults_new(const json_t *page);

#endif
