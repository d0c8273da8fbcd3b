#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "schema.h"

#define WORKFLOW_SCHEMA TOP_SRCDIR "/schema/workflow.schema.json"

static json_t *parse(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
	ck_assert_msg(j != NULL, "bad test JSON: %s: %s", je.text, text);
	return j;
}

static schema_t *load(const char *text)
{
	json_t *doc = parse(text);
	char err[256] = "";
	schema_t *s = schema_load(doc, err, sizeof err);
	json_decref(doc);
	ck_assert_msg(s != NULL, "schema refused: %s", err);
	return s;
}

/* The load error for text, or NULL when it loads. */
static const char *load_error(const char *text)
{
	static char err[256];
	json_t *doc = parse(text);
	err[0] = '\0';
	schema_t *s = schema_load(doc, err, sizeof err);
	json_decref(doc);
	if (s) {
		schema_free(s);
		return NULL;
	}
	return err;
}

/* Validates; returns the error list (caller decrefs). */
static json_t *check(const schema_t *s, const char *instance)
{
	json_t *inst = parse(instance);
	json_t *errors = NULL;
	int rc = schema_validate(s, inst, &errors);
	json_decref(inst);
	ck_assert_ptr_nonnull(errors);
	ck_assert_int_eq(rc, json_array_size(errors) ? ERR_INVALID : 0);
	return errors;
}

static bool has_pointer(const json_t *errors, const char *ptr)
{
	size_t i;
	const json_t *e;
	json_array_foreach(errors, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "pointer")), ptr) == 0)
			return true;
	}
	return false;
}

static const char *message_at(const json_t *errors, const char *ptr)
{
	size_t i;
	const json_t *e;
	json_array_foreach(errors, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "pointer")), ptr) == 0)
			return json_string_value(json_object_get(e, "message"));
	}
	return "";
}

static void expect_valid(const schema_t *s, const char *instance)
{
	json_t *errors = check(s, instance);
	char *dump = json_dumps(errors, 0);
	ck_assert_msg(json_array_size(errors) == 0, "%s: unexpected %s", instance,
		      dump);
	free(dump);
	json_decref(errors);
}

static void expect_error(const schema_t *s, const char *instance,
			 const char *pointer)
{
	json_t *errors = check(s, instance);
	char *dump = json_dumps(errors, 0);
	ck_assert_msg(has_pointer(errors, pointer), "%s: want error at \"%s\", got %s",
		      instance, pointer, dump);
	free(dump);
	json_decref(errors);
}

START_TEST(type_names_and_arrays)
{
	schema_t *s = load("{\"type\":\"string\"}");
	expect_valid(s, "\"x\"");
	expect_error(s, "1", "");
	schema_free(s);

	s = load("{\"type\":[\"string\",\"null\"]}");
	expect_valid(s, "\"x\"");
	expect_valid(s, "null");
	json_t *e = check(s, "true");
	ck_assert_str_eq(message_at(e, ""), "expected null or string, got boolean");
	json_decref(e);
	schema_free(s);

	s = load("{\"type\":\"integer\"}");
	expect_valid(s, "3");
	expect_valid(s, "3.0");
	expect_error(s, "3.5", "");
	schema_free(s);

	s = load("{\"type\":\"number\"}");
	expect_valid(s, "3");
	expect_valid(s, "-2.5e3");
	expect_error(s, "\"3\"", "");
	schema_free(s);

	ck_assert_ptr_nonnull(load_error("{\"type\":\"float\"}"));
	ck_assert_ptr_nonnull(load_error("{\"type\":[]}"));
}
END_TEST

START_TEST(properties_required_additional)
{
	schema_t *s = load("{\"type\":\"object\","
			   "\"properties\":{\"a\":{\"type\":\"string\"},"
			   "\"b\":{\"type\":\"integer\"}},"
			   "\"required\":[\"a\",\"b\"],"
			   "\"additionalProperties\":false}");
	expect_valid(s, "{\"a\":\"x\",\"b\":1}");
	json_t *e = check(s, "{\"a\":1,\"c\":true}");
	ck_assert(has_pointer(e, "/a"));  /* wrong type */
	ck_assert(has_pointer(e, "/b"));  /* missing */
	ck_assert(has_pointer(e, "/c"));  /* not allowed */
	ck_assert_uint_eq(json_array_size(e), 3);
	ck_assert_str_eq(message_at(e, "/b"), "is required");
	json_decref(e);
	schema_free(s);

	/* additionalProperties as a schema; absent means anything goes. */
	s = load("{\"properties\":{\"a\":{}},"
		 "\"additionalProperties\":{\"type\":\"number\"}}");
	expect_valid(s, "{\"a\":\"x\",\"z\":2}");
	expect_error(s, "{\"z\":\"no\"}", "/z");
	schema_free(s);
	s = load("{\"properties\":{\"a\":{\"type\":\"string\"}}}");
	expect_valid(s, "{\"zz\":[1,2]}");
	expect_valid(s, "[1]"); /* no type: object keywords only apply to objects */
	schema_free(s);
}
END_TEST

START_TEST(enum_and_const)
{
	schema_t *s = load("{\"enum\":[\"red\",2,null,{\"k\":[1]}]}");
	expect_valid(s, "\"red\"");
	expect_valid(s, "2.0"); /* numbers compare by value */
	expect_valid(s, "null");
	expect_valid(s, "{\"k\":[1]}");
	expect_error(s, "\"blue\"", "");
	expect_error(s, "{\"k\":[2]}", "");
	schema_free(s);

	s = load("{\"const\":\"v1\"}");
	expect_valid(s, "\"v1\"");
	expect_error(s, "\"v2\"", "");
	schema_free(s);
	ck_assert_ptr_nonnull(load_error("{\"enum\":[]}"));
}
END_TEST

START_TEST(items_and_counts)
{
	schema_t *s = load("{\"type\":\"array\",\"items\":{\"type\":\"integer\"},"
			   "\"minItems\":1,\"maxItems\":3}");
	expect_valid(s, "[1,2,3]");
	expect_error(s, "[]", "");
	expect_error(s, "[1,2,3,4]", "");
	json_t *e = check(s, "[1,\"x\",3,\"y\"]");
	ck_assert(has_pointer(e, "/1"));
	ck_assert(has_pointer(e, "/3"));
	ck_assert(has_pointer(e, "")); /* maxItems */
	json_decref(e);
	schema_free(s);
	ck_assert_ptr_nonnull(load_error("{\"minItems\":-1}"));
	ck_assert_ptr_nonnull(load_error("{\"minItems\":3,\"maxItems\":1}"));
	ck_assert_ptr_nonnull(load_error("{\"items\":[{}]}")); /* tuples */
}
END_TEST

START_TEST(any_of_reports_the_fitting_branch)
{
	schema_t *s = load(
		"{\"anyOf\":[{\"type\":\"string\"},"
		"{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},"
		"\"required\":[\"n\"],\"additionalProperties\":false}]}");
	expect_valid(s, "\"x\"");
	expect_valid(s, "{\"n\":1}");
	/* Only the object branch fits an object: its errors come through. */
	json_t *e = check(s, "{\"n\":\"one\"}");
	ck_assert(has_pointer(e, "/n"));
	ck_assert_uint_eq(json_array_size(e), 1);
	json_decref(e);
	/* Nothing fits a number: one summary error. */
	e = check(s, "5");
	ck_assert_uint_eq(json_array_size(e), 1);
	ck_assert(strstr(message_at(e, ""), "none of the allowed") != NULL);
	json_decref(e);
	schema_free(s);
}
END_TEST

START_TEST(refs_and_recursion)
{
	/* A recursive tree: each node has a value and children. */
	schema_t *s = load(
		"{\"$ref\":\"#/$defs/tree\",\"$defs\":{\"tree\":{"
		"\"type\":\"object\",\"properties\":{"
		"\"v\":{\"type\":\"integer\"},"
		"\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/tree\"}}},"
		"\"required\":[\"v\",\"kids\"],\"additionalProperties\":false}}}");
	expect_valid(s, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[]},"
			"{\"v\":3,\"kids\":[{\"v\":4,\"kids\":[]}]}]}");
	expect_error(s, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":\"x\",\"kids\":[]}]}]}",
		     "/kids/0/kids/0/v");
	schema_free(s);

	/* Escaped ref tokens. */
	s = load("{\"$defs\":{\"a/b\":{\"type\":\"string\"},\"t~n\":{\"type\":\"integer\"}},"
		 "\"properties\":{\"x\":{\"$ref\":\"#/$defs/a~1b\"},"
		 "\"y\":{\"$ref\":\"#/$defs/t~0n\"}}}");
	expect_valid(s, "{\"x\":\"s\",\"y\":1}");
	expect_error(s, "{\"x\":1}", "/x");
	expect_error(s, "{\"y\":\"s\"}", "/y");
	schema_free(s);

	/* Percent-encoded fragment characters. */
	s = load("{\"$ref\":\"#/$defs/a%25b\",\"$defs\":{\"a%b\":{\"type\":\"string\"}}}");
	expect_valid(s, "\"s\"");
	expect_error(s, "1", "");
	schema_free(s);

	/* A ref to the root. */
	s = load("{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}");
	expect_valid(s, "[[],[[]]]");
	expect_error(s, "[[],[1]]", "/1/0");
	schema_free(s);
}
END_TEST

START_TEST(unresolvable_and_external_refs_fail_at_load)
{
	const char *err = load_error("{\"$ref\":\"#/$defs/missing\"}");
	ck_assert_ptr_nonnull(err);
	ck_assert(strstr(err, "does not resolve") != NULL);
	ck_assert_ptr_nonnull(load_error("{\"$ref\":\"other.json#/x\"}"));
	ck_assert_ptr_nonnull(load_error("{\"$ref\":\"#/$defs/a/9\",\"$defs\":{\"a\":[]}}"));
	/* Even in a $defs entry that nothing references. */
	err = load_error("{\"$defs\":{\"unused\":{\"$ref\":\"#/nowhere\"}}}");
	ck_assert_ptr_nonnull(err);
	ck_assert(strstr(err, "/$defs/unused") != NULL);
}
END_TEST

START_TEST(unknown_keywords_fail_at_load)
{
	static const char *const bad[] = {
		"{\"oneOf\":[{}]}",
		"{\"allOf\":[{}]}",
		"{\"not\":{}}",
		"{\"if\":{},\"then\":{}}",
		"{\"format\":\"email\"}",
		"{\"uniqueItems\":true}",
		"{\"patternProperties\":{}}",
		"{\"properties\":{\"a\":{\"multipleOf\":2}}}",
		"{\"$defs\":{\"x\":{\"prefixItems\":[]}}}",
		"{\"type\":\"strin\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *err = load_error(bad[i]);
		ck_assert_msg(err != NULL, "accepted %s", bad[i]);
	}
	const char *err = load_error("{\"properties\":{\"a\":{\"oneOf\":[]}}}");
	ck_assert(strstr(err, "\"oneOf\"") != NULL);
	ck_assert(strstr(err, "/properties/a") != NULL);
	/* Annotations are fine. */
	ck_assert_ptr_null(load_error("{\"$schema\":\"x\",\"$id\":\"y\",\"title\":\"t\","
				      "\"description\":\"d\",\"default\":1,"
				      "\"$comment\":\"c\",\"examples\":[1]}"));
	ck_assert_ptr_null(load_error("true"));
}
END_TEST

START_TEST(patterns)
{
	static const struct {
		const char *pattern, *input;
		bool match;
	} cases[] = {
		{"^[a-z][a-z0-9_-]{0,62}$", "send-mail_2", true},
		{"^[a-z][a-z0-9_-]{0,62}$", "Send", false},
		{"^[a-z][a-z0-9_-]{0,62}$", "a.b", false},
		{"b", "abc", true}, /* unanchored search */
		{"^\\d{3}-\\d{4}$", "555-1234", true},
		{"^\\d{3}-\\d{4}$", "555-12a4", false},
		{"^\\w+@\\w+\\.com$", "me@x.com", true},
		{"^\\S+$", "a b", false},
		{"^[^\\s]+$", "ab", true},
		{"^(?:ab)+$", "abab", true},
		{"^(?:ab)+$", "aba", false},
		{"^a|b$", "xb", true},
		{"^[\\]\\-^]+$", "]-^", true},
		{"^[\\]\\-^]+$", "a", false},
		{"^[-a]$", "-", true},
		{"^[\\[]$", "[", true},
		{"^[\\^]$", "^", true},
		{"^[^^]$", "a", true},
		{"^[^^]$", "^", false},
		{"^a{2}\\.b$", "aa.b", true},
		{"^a{2}\\.b$", "aaxb", false},
		{"^x{,2}$", "x{,2}", true}, /* not a quantifier: literal */
		{"^\\/path\\?$", "/path?", true},
		{"^[\\w.]+$", "a.b_c", true},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		json_t *doc = json_pack("{s:s}", "pattern", cases[i].pattern);
		char err[256] = "";
		schema_t *s = schema_load(doc, err, sizeof err);
		json_decref(doc);
		ck_assert_msg(s != NULL, "%s: %s", cases[i].pattern, err);
		json_t *inst = json_string(cases[i].input);
		json_t *errors = NULL;
		int rc = schema_validate(s, inst, &errors);
		ck_assert_msg((rc == 0) == cases[i].match, "%s on \"%s\": want %s",
			      cases[i].pattern, cases[i].input,
			      cases[i].match ? "match" : "no match");
		json_decref(errors);
		json_decref(inst);
		schema_free(s);
	}
	/* Non-strings are not checked by pattern. */
	schema_t *s = load("{\"pattern\":\"^a$\"}");
	expect_valid(s, "5");
	schema_free(s);
	/* A NUL inside the string is matched, not a terminator. */
	s = load("{\"pattern\":\"^[a-z]+$\"}");
	json_t *nul = json_stringn("ab\0cd", 5);
	json_t *errors = NULL;
	ck_assert_int_eq(schema_validate(s, nul, &errors), ERR_INVALID);
	json_decref(errors);
	json_decref(nul);
	schema_free(s);
}
END_TEST

START_TEST(unsupported_patterns_fail_at_load)
{
	static const char *const bad[] = {
		"^(?=a)", "^(?!a)", "(?<n>a)", "(a)\\1", "a+?", "a*?", "a{1,2}?",
		"\\bword", "\\u0041", "\\x41", "\\p{L}", "[\\D]", "[]", "[abc",
		"[z-a]", "[é]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		json_t *doc = json_pack("{s:s}", "pattern", bad[i]);
		char err[256] = "";
		schema_t *s = schema_load(doc, err, sizeof err);
		json_decref(doc);
		ck_assert_msg(s == NULL, "accepted pattern %s", bad[i]);
		ck_assert(strstr(err, "pattern") != NULL);
	}
}
END_TEST

START_TEST(numbers_and_lengths)
{
	schema_t *s = load("{\"minimum\":1,\"maximum\":10}");
	expect_valid(s, "1");
	expect_valid(s, "10");
	expect_error(s, "0.5", "");
	expect_error(s, "11", "");
	schema_free(s);
	s = load("{\"exclusiveMinimum\":0,\"exclusiveMaximum\":1}");
	expect_valid(s, "0.5");
	expect_error(s, "0", "");
	expect_error(s, "1", "");
	schema_free(s);
	/* Lengths count code points, not bytes. */
	s = load("{\"minLength\":2,\"maxLength\":3}");
	expect_valid(s, "\"\xc3\xa9\xc3\xa9\xc3\xa9\""); /* 3 characters, 6 bytes */
	expect_error(s, "\"\xc3\xa9\"", "");
	expect_error(s, "\"abcd\"", "");
	schema_free(s);
}
END_TEST

START_TEST(pointers_are_escaped)
{
	schema_t *s = load("{\"additionalProperties\":{\"type\":\"string\"}}");
	json_t *e = check(s, "{\"a/b\":1,\"m~n\":2,\"~/\":3,\"ok\":\"x\"}");
	ck_assert(has_pointer(e, "/a~1b"));
	ck_assert(has_pointer(e, "/m~0n"));
	ck_assert(has_pointer(e, "/~0~1"));
	ck_assert_uint_eq(json_array_size(e), 3);
	json_decref(e);
	schema_free(s);

	buf_t b;
	buf_init(&b, NULL, 64);
	ck_assert_int_eq(schema_pointer_push(&b, "x/~y", 4), 0);
	ck_assert_str_eq(buf_cstr(&b), "/x~1~0y");
	buf_free(&b);
}
END_TEST

/* Builds [[[...0...]]] n levels deep; the caller frees with free_deep so
 * that no recursive json_decref runs n frames deep. */
static json_t **build_deep(size_t n)
{
	json_t **levels = malloc(n * sizeof *levels);
	ck_assert_ptr_nonnull(levels);
	for (size_t i = 0; i < n; i++)
		levels[i] = json_array();
	for (size_t i = 0; i + 1 < n; i++)
		json_array_append(levels[i], levels[i + 1]); /* keeps our ref */
	json_array_append_new(levels[n - 1], json_integer(0));
	return levels;
}

static void free_deep(json_t **levels, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_array_clear(levels[i]); /* drops only the child's extra ref */
		json_decref(levels[i]);
	}
	free(levels);
}

START_TEST(deep_nesting_is_refused_without_crashing)
{
	schema_t *s = load(
		"{\"$ref\":\"#/$defs/v\",\"$defs\":{\"v\":{\"anyOf\":["
		"{\"type\":\"integer\"},"
		"{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/v\"}}]}}}");
	size_t n = 100000;
	json_t **deep = build_deep(n);
	json_t *errors = NULL;
	ck_assert_int_eq(schema_validate(s, deep[0], &errors), ERR_INVALID);
	ck_assert_uint_eq(json_array_size(errors), 1);
	const char *ptr = json_string_value(
		json_object_get(json_array_get(errors, 0), "pointer"));
	ck_assert_uint_eq(strlen(ptr), 2 * SCHEMA_MAX_DEPTH);
	ck_assert(strstr(json_string_value(json_object_get(
				 json_array_get(errors, 0), "message")),
			 "deeper") != NULL);
	json_decref(errors);
	free_deep(deep, n);

	/* Within the limit the same schema accepts it. */
	deep = build_deep(SCHEMA_MAX_DEPTH);
	ck_assert_int_eq(schema_validate(s, deep[0], NULL), 0);
	free_deep(deep, SCHEMA_MAX_DEPTH);
	schema_free(s);

	/* 10 MB of nesting as text never becomes a document: jansson stops
	 * at its own depth limit. */
	size_t half = 5u << 20;
	char *text = malloc(2 * half + 1);
	memset(text, '[', half);
	memset(text + half, ']', half);
	text[2 * half] = '\0';
	json_error_t je;
	ck_assert_ptr_null(json_loads(text, 0, &je));
	free(text);
}
END_TEST

START_TEST(ref_cycles_are_bounded)
{
	schema_t *s = load("{\"$ref\":\"#/$defs/a\",\"$defs\":{"
			   "\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"anyOf\":[{\"$ref\":\"#/$defs/a\"}]}}}");
	json_t *errors = NULL;
	ck_assert_int_eq(schema_validate(s, json_null(), &errors), ERR_INVALID);
	ck_assert_uint_ge(json_array_size(errors), 1);
	json_decref(errors);
	schema_free(s);
}
END_TEST

START_TEST(errors_are_capped)
{
	schema_t *s = load("{\"items\":{\"type\":\"string\"}}");
	json_t *arr = json_array();
	for (int i = 0; i < 5000; i++)
		json_array_append_new(arr, json_integer(i));
	json_t *errors = NULL;
	ck_assert_int_eq(schema_validate(s, arr, &errors), ERR_INVALID);
	ck_assert_uint_eq(json_array_size(errors), SCHEMA_MAX_ERRORS + 1);
	const json_t *last = json_array_get(errors, SCHEMA_MAX_ERRORS);
	ck_assert(strstr(json_string_value(json_object_get(last, "message")),
			 "limit") != NULL);
	json_decref(errors);
	json_decref(arr);
	schema_free(s);
}
END_TEST

static const char *strict_error(const char *text)
{
	static char err[256];
	json_t *doc = parse(text);
	err[0] = '\0';
	int rc = schema_strict_check(doc, err, sizeof err);
	json_decref(doc);
	return rc ? err : NULL;
}

START_TEST(workflow_schema_is_strict_and_loads)
{
	json_error_t je;
	json_t *doc = json_load_file(WORKFLOW_SCHEMA, 0, &je);
	ck_assert_msg(doc != NULL, "%s", je.text);
	char err[256] = "";
	ck_assert_msg(schema_strict_check(doc, err, sizeof err) == 0, "%s", err);
	json_decref(doc);
	schema_t *s = schema_load_file(WORKFLOW_SCHEMA, err, sizeof err);
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert(json_is_object(schema_document(s)));
	schema_free(s);
}
END_TEST

START_TEST(strict_check_refuses_what_openai_refuses)
{
	const char *ok = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":[\"string\",\"null\"]}},"
			 "\"required\":[\"a\"],\"additionalProperties\":false}";
	ck_assert_ptr_null(strict_error(ok));
	/* root must be an object, not anyOf */
	ck_assert_ptr_nonnull(strict_error("{\"anyOf\":[{\"type\":\"object\",\"properties\":{},"
					   "\"required\":[],\"additionalProperties\":false}]}"));
	/* an optional property */
	ck_assert_ptr_nonnull(strict_error("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},"
					   "\"required\":[],\"additionalProperties\":false}"));
	/* additionalProperties missing deeper down */
	const char *err = strict_error(
		"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"object\",\"properties\":{},"
		"\"required\":[]}},\"required\":[\"a\"],\"additionalProperties\":false}");
	ck_assert_ptr_nonnull(err);
	ck_assert(strstr(err, "/properties/a") != NULL);
	/* unsupported keywords */
	ck_assert_ptr_nonnull(strict_error("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"minLength\":1}},"
					   "\"required\":[\"a\"],\"additionalProperties\":false}"));
	ck_assert_ptr_nonnull(strict_error("{\"type\":\"object\",\"properties\":{\"a\":{\"oneOf\":[]}},"
					   "\"required\":[\"a\"],\"additionalProperties\":false}"));
	/* lookaround in a pattern */
	ck_assert_ptr_nonnull(strict_error("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"pattern\":\"(?=x)\"}},"
					   "\"required\":[\"a\"],\"additionalProperties\":false}"));
	/* an object without properties */
	ck_assert_ptr_nonnull(strict_error("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"object\"}},"
					   "\"required\":[\"a\"],\"additionalProperties\":false}"));
	/* an unresolvable ref */
	ck_assert_ptr_nonnull(strict_error("{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/x\"}},"
					   "\"required\":[\"a\"],\"additionalProperties\":false}"));

	/* 10 nested objects pass, 11 do not; recursion through $ref is fine. */
	for (int levels = 10; levels <= 11; levels++) {
		char text[4096] = "";
		size_t used = 0;
		for (int i = 0; i < levels - 1; i++)
			used += (size_t)snprintf(text + used, sizeof text - used,
				"{\"type\":\"object\",\"additionalProperties\":false,"
				"\"required\":[\"n\"],\"properties\":{\"n\":");
		used += (size_t)snprintf(text + used, sizeof text - used,
			"{\"type\":\"object\",\"additionalProperties\":false,"
			"\"required\":[],\"properties\":{}}");
		for (int i = 0; i < levels - 1; i++)
			used += (size_t)snprintf(text + used, sizeof text - used, "}}");
		const char *why = strict_error(text);
		if (levels == 10)
			ck_assert_msg(why == NULL, "%s", why);
		else
			ck_assert(why != NULL && strstr(why, "nesting") != NULL);
	}
	ck_assert_ptr_null(strict_error(
		"{\"type\":\"object\",\"properties\":{\"t\":{\"$ref\":\"#/$defs/t\"}},"
		"\"required\":[\"t\"],\"additionalProperties\":false,\"$defs\":{\"t\":{"
		"\"type\":\"object\",\"properties\":{\"kids\":{\"type\":\"array\","
		"\"items\":{\"$ref\":\"#/$defs/t\"}}},\"required\":[\"kids\"],"
		"\"additionalProperties\":false}}}"));
}
END_TEST

static Suite *schema_suite(void)
{
	Suite *s = suite_create("schema");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, type_names_and_arrays);
	tcase_add_test(tc, properties_required_additional);
	tcase_add_test(tc, enum_and_const);
	tcase_add_test(tc, items_and_counts);
	tcase_add_test(tc, any_of_reports_the_fitting_branch);
	tcase_add_test(tc, refs_and_recursion);
	tcase_add_test(tc, unresolvable_and_external_refs_fail_at_load);
	tcase_add_test(tc, unknown_keywords_fail_at_load);
	tcase_add_test(tc, patterns);
	tcase_add_test(tc, unsupported_patterns_fail_at_load);
	tcase_add_test(tc, numbers_and_lengths);
	tcase_add_test(tc, pointers_are_escaped);
	tcase_add_test(tc, deep_nesting_is_refused_without_crashing);
	tcase_add_test(tc, ref_cycles_are_bounded);
	tcase_add_test(tc, errors_are_capped);
	tcase_add_test(tc, workflow_schema_is_strict_and_loads);
	tcase_add_test(tc, strict_check_refuses_what_openai_refuses);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(schema_suite)
