// SPDX-License-Identifier: MIT
/*
 * test_json.c - the strict JSON parser and writer (dm/json.c): valid
 * documents, every class of malformed input, nesting and size limits, huge
 * numbers, UTF-8 validation, truncation (-EAGAIN) and round trips.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tap.h"

static int parse(const char *s, struct json **out)
{
	return json_parse_all(s, strlen(s), out);
}

static int parse_rc(const char *s)
{
	struct json *j = NULL;
	int r = parse(s, &j);

	json_free(j);
	return r;
}

static void test_valid(void)
{
	struct json *j = NULL;
	int64_t i = 0;
	bool b = false;

	CHECK_EQ(parse(" {\"a\": [1, -2, 3.5, true, false, null, \"x\"], \"b\": {}} ", &j), 0);
	CHECK(j && j->type == JSON_OBJECT && j->len == 2);
	const struct json *a = json_get(j, "a");
	CHECK(a && a->type == JSON_ARRAY && a->len == 7);
	if (a && a->len == 7) {
		CHECK(a->v[0]->is_int && a->v[0]->i == 1);
		CHECK(a->v[1]->is_int && a->v[1]->i == -2);
		CHECK(!a->v[2]->is_int && a->v[2]->d == 3.5);
		CHECK(a->v[3]->type == JSON_BOOL && a->v[3]->b);
		CHECK(a->v[4]->type == JSON_BOOL && !a->v[4]->b);
		CHECK(a->v[5]->type == JSON_NULL);
		CHECK(a->v[6]->type == JSON_STRING && !strcmp(a->v[6]->s, "x"));
	}
	CHECK(json_get(j, "b") && json_get(j, "b")->type == JSON_OBJECT);
	CHECK(json_get(j, "c") == NULL);
	json_free(j);

	CHECK_EQ(parse("{\"n\": 9223372036854775807, \"m\": -9223372036854775808, \"t\": true}",
		       &j),
		 0);
	CHECK_EQ(json_get_int(j, "n", &i), 0);
	CHECK(i == INT64_MAX);
	CHECK_EQ(json_get_int(j, "m", &i), 0);
	CHECK(i == INT64_MIN);
	CHECK_EQ(json_get_bool(j, "t", &b), 0);
	CHECK(b);
	CHECK_EQ(json_get_int(j, "t", &i), (uint64_t)-EINVAL);
	CHECK_EQ(json_get_int(j, "zz", &i), (uint64_t)-ENOENT);
	json_free(j);

	/* Escapes, including a surrogate pair (U+1F600) and \u0000 inside a value. */
	CHECK_EQ(parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u0000z\"", &j), 0);
	CHECK(j && j->type == JSON_STRING);
	if (j) {
		static const char want[] = "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\0z";

		CHECK_EQ(j->len, sizeof(want) - 1);
		CHECK(!memcmp(j->s, want, sizeof(want) - 1));
	}
	json_free(j);

	/* Valid multi-byte UTF-8 passes through. */
	CHECK_EQ(parse_rc("\"\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf\""), 0);
	/* Numbers that are not int64 become doubles. */
	CHECK_EQ(parse("18446744073709551616", &j), 0);
	CHECK(j && !j->is_int && j->d > 1.8e19);
	json_free(j);
	CHECK_EQ(parse("1e300", &j), 0);
	CHECK(j && !j->is_int && j->d == 1e300);
	json_free(j);
	CHECK_EQ(parse_rc("-0"), 0);
	CHECK_EQ(parse_rc("0.5e-3"), 0);
	CHECK_EQ(parse_rc("[]"), 0);
	CHECK_EQ(parse_rc("\"\""), 0);
}

static void test_invalid(void)
{
	static const char *const bad[] = {
		"",
		"   ",
		"{",
		"[1,]",
		"{\"a\":1,}",
		"{\"a\" 1}",
		"{a:1}",
		"{'a':1}",
		"[1 2]",
		"01",
		"1.",
		".5",
		"+1",
		"1e",
		"0x10",
		"NaN",
		"Infinity",
		"-",
		"tru",
		"nul",
		"True",
		"\"\\x\"",
		"\"\\u12\"",
		"\"\\uzzzz\"",
		"\"a\nb\"",
		"\"\t\"",
		"[1] [2]",
		"{\"a\":1}x",
		"\"\\ud800\"",
		"\"\\udc00\"",
		"\"\\ud800\\u0041\"",
		"{\"a\":1,\"a\":2}",
		"{\"a\\u0000b\":1}",
		"// c\n1",
		"1e999999",
		"-1e400",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse_rc(bad[i]);

		if (r == 0)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(r != 0);
	}
	/* Huge number literals are refused by length, not parsed slowly. */
	char big[200];

	memset(big, '9', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(parse_rc(big), (uint64_t)-E2BIG);
}

static void test_utf8(void)
{
	static const char *const bad[] = {
		"\"\x80\"",		/* lone continuation */
		"\"\xc0\xaf\"",		/* overlong '/' */
		"\"\xc1\xbf\"",		/* overlong */
		"\"\xe0\x80\xaf\"",	/* overlong 3-byte */
		"\"\xed\xa0\x80\"",	/* UTF-16 surrogate encoded */
		"\"\xf0\x80\x80\xaf\"", /* overlong 4-byte */
		"\"\xf4\x90\x80\x80\"", /* above U+10FFFF */
		"\"\xf5\x80\x80\x80\"", /* invalid lead */
		"\"\xff\"",		/* invalid byte */
		"\"\xc3\"",		/* cut sequence before the quote */
		"\"\xe2\x82\"",		/* cut 3-byte */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(parse_rc(bad[i]) != 0);
}

static void test_depth(void)
{
	char *s = malloc(100000);
	struct json *j = NULL;
	int n;

	CHECK(s != NULL);
	if (!s)
		return;

	/* JSON_MAX_DEPTH nested arrays parse, one more does not. */
	for (n = 0; n < JSON_MAX_DEPTH; n++)
		s[n] = '[';
	for (n = 0; n < JSON_MAX_DEPTH; n++)
		s[JSON_MAX_DEPTH + n] = ']';
	s[2 * JSON_MAX_DEPTH] = '\0';
	CHECK_EQ(parse(s, &j), 0);
	json_free(j);
	s[0] = '\0';
	memset(s, '[', JSON_MAX_DEPTH + 1);
	memset(s + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
	s[2 * JSON_MAX_DEPTH + 2] = '\0';
	CHECK_EQ(parse_rc(s), (uint64_t)-E2BIG);

	/* 16000 levels of objects: refused without exhausting the stack. */
	memset(s, 0, 100000);
	for (n = 0; n < 16000; n++)
		memcpy(s + n * 5, "{\"a\":", 5);
	CHECK_EQ(parse_rc(s), (uint64_t)-E2BIG);

	/* Too many values in one document. */
	size_t o = 0;

	s[o++] = '[';
	for (n = 0; n < JSON_MAX_VALUES + 10 && o < 99990; n++) {
		s[o++] = '0';
		s[o++] = ',';
	}
	s[o++] = '0';
	s[o++] = ']';
	s[o] = '\0';
	CHECK_EQ(parse_rc(s), 0); /* fits: under the value limit */
	free(s);

	s = malloc(JSON_MAX_VALUES * 2 + 16);
	if (!s)
		return;
	o = 0;
	s[o++] = '[';
	for (n = 0; n < JSON_MAX_VALUES; n++) {
		s[o++] = '0';
		s[o++] = ',';
	}
	s[o++] = '0';
	s[o++] = ']';
	s[o] = '\0';
	CHECK_EQ(parse_rc(s), (uint64_t)-E2BIG);
	free(s);
}

static void test_truncated(void)
{
	static const char doc[] = "{\"execute\": \"send-key\", \"arguments\": {\"keys\": "
				  "[{\"type\": \"qcode\", \"data\": \"ctrl\"}], \"x\": -1.5e3, "
				  "\"u\": \"\\ud83d\\ude00\xc3\xa9\", \"t\": true, \"n\": null}}";
	struct json *j = NULL;
	size_t used = 0, n;
	int r;

	/* Every proper prefix is incomplete, never an error or a success. */
	for (n = 0; n < sizeof(doc) - 1; n++) {
		r = json_parse(doc, n, &j, &used);
		if (r != -EAGAIN)
			fprintf(stderr, "prefix %zu: %d\n", n, r);
		CHECK_EQ(r, (uint64_t)-EAGAIN);
		CHECK(j == NULL);
	}
	CHECK_EQ(json_parse(doc, sizeof(doc) - 1, &j, &used), 0);
	CHECK_EQ(used, sizeof(doc) - 1);
	json_free(j);

	/* Two values back to back: the first is consumed alone. */
	CHECK_EQ(json_parse("{} \r\n{\"a\":1}", 12, &j, &used), 0);
	CHECK_EQ(used, 2);
	json_free(j);
	/* Garbage after a prefix is an error, not a wait. */
	CHECK_EQ(json_parse("{\"a\" x", 6, &j, &used), (uint64_t)-EINVAL);
}

static void test_writer(void)
{
	struct json *o = json_new_object(), *arr = json_new_array(), *back = NULL;
	char *s;

	CHECK_EQ(json_object_set(o, "s", json_new_str("q\"b\\\n\x01\xc3\xa9")), 0);
	CHECK_EQ(json_object_set(o, "i", json_new_int(-42)), 0);
	CHECK_EQ(json_object_set(o, "b", json_new_bool(true)), 0);
	CHECK_EQ(json_array_add(arr, json_new_null()), 0);
	CHECK_EQ(json_array_add(arr, json_new_double(0.25)), 0);
	CHECK_EQ(json_object_set(o, "a", arr), 0);
	CHECK_EQ(json_object_set(o, "i", json_new_int(7)), 0); /* replaces */
	CHECK_EQ(json_object_set(o, "x", NULL), (uint64_t)-ENOMEM);
	s = json_to_string(o);
	CHECK(s != NULL);
	if (s) {
		CHECK(!strcmp(s, "{\"s\": \"q\\\"b\\\\\\n\\u0001\xc3\xa9\", \"i\": 7, \"b\": true, "
				 "\"a\": [null, 0.25]}"));
		CHECK_EQ(parse(s, &back), 0);
		CHECK(back && json_get_str(back, "s") &&
		      !strcmp(json_get_str(back, "s"), "q\"b\\\n\x01\xc3\xa9"));
	}
	free(s);
	json_free(back);
	json_free(o);

	/* Invalid UTF-8 in output strings becomes U+FFFD, so output always parses. */
	struct json_buf b = { 0 };

	json_buf_str(&b, "a\xff\xc3", 3);
	CHECK(b.p && !strcmp(b.p, "\"a\\ufffd\\ufffd\""));
	CHECK_EQ(parse_rc(b.p), 0);
	json_buf_free(&b);
}

/* Deterministic pseudo-random mutations of a valid document never crash. */
static void test_mutations(void)
{
	static const char doc[] = "{\"execute\": \"x\", \"arguments\": {\"a\": [1, 2.5e3, "
				  "\"\\u00e9\\ud83d\\ude00\", {\"b\": null}], \"c\": true}}";
	char buf[sizeof(doc)];
	uint32_t seed = 12345;
	unsigned i, ok = 0;

	for (i = 0; i < 20000; i++) {
		struct json *j = NULL;
		size_t used;

		memcpy(buf, doc, sizeof(doc));
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245 + 12345;
			buf[(seed >> 8) % (sizeof(doc) - 1)] = (char)(seed >> 20);
		}
		if (!json_parse(buf, sizeof(doc) - 1, &j, &used)) {
			char *s = json_to_string(j);
			struct json *k2 = NULL;

			/* Whatever was accepted serialises to something that parses again. */
			CHECK(s && !parse(s, &k2));
			json_free(k2);
			free(s);
			ok++;
		}
		json_free(j);
	}
	CHECK(ok > 0);
}

int main(void)
{
	test_valid();
	test_invalid();
	test_utf8();
	test_depth();
	test_truncated();
	test_writer();
	test_mutations();
	return tap_done();
}
