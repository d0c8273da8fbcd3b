/* schema: a JSON Schema validator for the subset OpenAI's strict
 * structured-output mode uses, over jansson.
 *
 * A schema document is compiled once (schema_load) and then validates any
 * number of instances, from any number of threads (the compiled form is
 * read-only).  Implemented keywords:
 *
 *   type (a name or an array of names), properties, required,
 *   additionalProperties (false, true or a schema), enum, const, items,
 *   anyOf, $ref / $defs (JSON-pointer refs within the document, recursion
 *   allowed), minItems, maxItems, pattern, minimum, maximum,
 *   exclusiveMinimum, exclusiveMaximum, minLength, maxLength (in code
 *   points), and the annotations description, title, $schema, $id,
 *   $comment, default, examples.
 *
 * Any other keyword is an error at load time, never silently ignored, so a
 * schema can only say what this validator enforces.  So is a $ref that
 * does not resolve, or one that points outside the document.
 *
 * pattern: ECMA-262 patterns are translated to POSIX extended regular
 * expressions and compiled at load.  Supported: literals, ., ^, $, |,
 * groups ( ) and (?: ), quantifiers * + ? {n} {n,} {n,m}, bracket
 * expressions with ranges and negation, and the escapes \d \D \w \W \s \S
 * \t \n \r \f \v plus an escaped punctuation character.  Refused at load:
 * lookarounds, named groups, back-references, lazy quantifiers, \b, \B,
 * \uXXXX, \xHH, \p{...} and \D \W \S inside brackets.  Matching is by
 * bytes (ASCII classes), unanchored, as JSON Schema specifies; "." also
 * matches a newline.
 *
 * Validation reports every violation (up to SCHEMA_MAX_ERRORS) as
 * {"pointer": "<RFC 6901 pointer into the instance>", "message": "..."}.
 * Instances nested deeper than SCHEMA_MAX_DEPTH are refused at the first
 * level past the limit without descending further, so a hostile document
 * cannot exhaust the stack. */
#ifndef CANOPY_SCHEMA_H
#define CANOPY_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Errors reported by one validation; one more entry says how many were
 * left out when there are more. */
#define SCHEMA_MAX_ERRORS 100
/* Levels of arrays/objects an instance may nest within the schema. */
#define SCHEMA_MAX_DEPTH 64

typedef struct schema schema_t;

/* Compiles the schema document doc (which is copied: the caller keeps its
 * reference).  Returns a schema the caller owns (schema_free), or NULL
 * with one line in err naming the JSON pointer of the problem: an
 * unimplemented keyword, a malformed keyword value, an unresolvable $ref,
 * a pattern outside the supported dialect. */
schema_t *schema_load(const json_t *doc, char *err, size_t errlen);

/* schema_load of a JSON file. */
schema_t *schema_load_file(const char *path, char *err, size_t errlen);

void schema_free(schema_t *s);

/* The schema document as loaded (borrowed; lives as long as s), e.g. to
 * send it to OpenAI as the strict output format. */
const json_t *schema_document(const schema_t *s);

/* Validates instance against s.  Returns 0 when it conforms, ERR_INVALID
 * when it does not.  When errors_out is not NULL it receives a new array
 * (caller owns it, json_decref) of {"pointer","message"} objects, empty
 * when the instance conforms. */
int schema_validate(const schema_t *s, const json_t *instance,
		    json_t **errors_out) WARN_UNUSED;

/* Checks that doc obeys the rules of OpenAI strict mode (Structured
 * Outputs guide, "Supported schemas"): the root is an object schema (not
 * anyOf); every object schema declares properties, lists every one of
 * them in required and has additionalProperties false; only the keywords
 * strict mode supports are used (type, properties, required,
 * additionalProperties, enum, const, items, anyOf, $ref, $defs, minItems,
 * maxItems, pattern, format, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, multipleOf, description, title); no more than 10
 * levels of nested object/array schemas (a recursive $ref ends the
 * count); at most 5000 properties and 1000 enum values in all.  Returns 0,
 * or ERR_INVALID with the first problem and its pointer in err. */
int schema_strict_check(const json_t *doc, char *err, size_t errlen)
	WARN_UNUSED;

/* Appends "/" and the RFC 6901 escape of a reference token (~ as ~0,
 * / as ~1) to the pointer being built in b.  Returns 0 or the buffer's
 * error (ERR_TOO_LARGE).  For modules that report their own errors
 * alongside schema errors. */
int schema_pointer_push(buf_t *b, const char *token, size_t len);

#endif
