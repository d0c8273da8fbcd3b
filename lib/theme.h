/* theme: a tenant's colours, gradient, fonts and corner radius, checked
 * strictly and turned into CSS custom properties.
 *
 * Every theme value ends up inside a <style> element, so nothing is ever
 * copied through: each value is parsed into numbers or matched against an
 * allowlist, and the CSS is written back out from what was parsed.
 *
 * Theme JSON:
 *
 *   {
 *     "name": "Indigo",                         optional, 1..80 chars, not CSS
 *     "colors": {                               required, all six
 *       "primary":    "#4338ca",  buttons, links, labels, icons
 *       "on_primary": "#ffffff",  text on primary and on the gradient
 *       "background": "#ffffff",  the page
 *       "surface":    "#f5f7fb",  cards and bands
 *       "text":       "#0f172a",  body text and headings
 *       "muted":      "#475569"   secondary text
 *     },
 *     "gradients": {                            required
 *       "primary": "linear-gradient(135deg, #4338ca 0%, #7c3aed 100%)"
 *     },
 *     "font": {"family": "Inter", "heading": "Georgia"},  optional
 *     "rounded": "lg"                           optional
 *   }
 *
 * - Colours: "#rgb" or "#rrggbb" only (any case).
 * - gradients.primary: linear-gradient(<0..360>deg, <colour> <0..100>%, ...)
 *   with 2 to 4 stops whose positions never decrease.
 * - font.family / font.heading: one of theme_font_names (case-insensitive),
 *   each mapped to a system font stack; no web fonts are ever loaded.
 *   Defaults: family "system-ui", heading = family.
 * - rounded: none | sm | md | lg | xl | full (default "lg").
 * - Unknown keys are refused (they are almost always typos).
 *
 * Contrast (WCAG 2.1 AA, at least 4.5:1, measured with the relative
 * luminance formula): text and muted on background and on surface; primary
 * on background and on surface (it is used for links and labels); on_primary
 * on primary (buttons) and on every gradient stop (hero and CTA text).
 *
 * CSS declarations written by theme_css() (the caller wraps them in
 * ":root{...}"):
 *   --color-primary:#..;--color-on-primary:#..;--color-background:#..;
 *   --color-surface:#..;--color-text:#..;--color-muted:#..;
 *   --color-primary-soft:#..;--color-border:#..;--color-primary-rgb:R G B;
 *   --color-on-primary-rgb:R G B;--color-text-rgb:R G B;
 *   --color-shade-rgb:0 0 0 (or 255 255 255 when on_primary is dark);
 *   --gradient-primary:linear-gradient(..);--font-family:..;--font-heading:..;
 *   --radius:..;--radius-control:..;
 * (primary-soft is primary blended 12% over background, border is text
 * blended 12% over background: computed here so the stylesheet needs no
 * color-mix(); shade is the one colour decoration may lay over the
 * gradient, chosen to move it away from on_primary.) */
#ifndef CANOPY_THEME_H
#define CANOPY_THEME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* WCAG AA minimum contrast for normal-size text. */
#define THEME_MIN_CONTRAST 4.5

/* The accepted font names, NULL-terminated (for forms and messages). */
extern const char *const theme_font_names[];

/* Parses "#rgb" or "#rrggbb" (exactly, no spaces) into 0xRRGGBB.
 * Returns 0, or ERR_INVALID with *rgb untouched. */
int theme_parse_color(const char *s, size_t len, uint32_t *rgb) WARN_UNUSED;

/* WCAG relative luminance of 0xRRGGBB, 0 (black) .. 1 (white). */
double theme_luminance(uint32_t rgb);

/* WCAG contrast ratio of two colours, 1 .. 21 (order does not matter). */
double theme_contrast(uint32_t a, uint32_t b);

/* Checks a theme.  Returns 0 when it is valid, else ERR_INVALID.  When
 * problems_out is not NULL it receives a new JSON array (the caller owns
 * it; empty when valid) of {"field": "colors.muted", "message": "..."},
 * one entry for every problem found, not just the first. */
int theme_check(const json_t *theme, json_t **problems_out) WARN_UNUSED;

/* Appends the custom property declarations ("--color-primary:#4338ca;
 * ...;--radius-control:10px;", no braces) of a theme that passed
 * theme_check() to out; the caller puts them inside ":root{...}".
 * Everything written is re-serialized from parsed values.  Returns 0,
 * ERR_INVALID when a value does not parse (nothing is written then; check
 * first), or ERR_TOO_LARGE from out (nothing is left written). */
int theme_css(const json_t *theme, buf_t *out) WARN_UNUSED;

/* Writes the canonical "#rrggbb" of colors.primary (for <meta
 * name="theme-color">) into out.  Returns 0 or ERR_INVALID. */
int theme_primary_hex(const json_t *theme, char out[8]) WARN_UNUSED;

/* A new copy of the built-in default theme (indigo on white), used when a
 * tenant has none.  It passes theme_check().  The caller owns it. */
json_t *theme_default_new(void);

#endif
