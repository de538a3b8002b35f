/* SPDX-License-Identifier: MIT */
/*
 * json.h - a small strict JSON (RFC 8259) parser and writer for the QMP
 * monitor and the hvmctl toolstack.
 *
 * The parser accepts exactly one value per call, checks UTF-8, rejects
 * duplicate object keys, lone surrogates, control characters in strings,
 * leading zeros and numbers that overflow a double, and bounds nesting depth
 * and the number of values, so hostile input costs bounded memory and time.
 * It depends on libc only (hvmctl links it without the dm core).
 */
#ifndef DM_JSON_H
#define DM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64
#define JSON_MAX_VALUES 65536 /* values in one document */
#define JSON_MAX_NUMBER_LEN 64

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json {
	enum json_type type;
	bool b;		 /* JSON_BOOL */
	bool is_int;	 /* JSON_NUMBER that fits in int64 without fraction/exponent */
	int64_t i;	 /* JSON_NUMBER when is_int */
	double d;	 /* JSON_NUMBER always */
	char *s;	 /* JSON_STRING, NUL-terminated (may contain \0 escapes) */
	size_t len;	 /* JSON_STRING bytes; ARRAY/OBJECT element count */
	size_t cap;	 /* ARRAY/OBJECT allocated slots */
	struct json **v; /* ARRAY/OBJECT elements */
	char **k;	 /* OBJECT keys */
};

/*
 * Parse the first value in buf[0, len), skipping whitespace before it.
 * On success stores the value in *out and the bytes consumed (including
 * leading whitespace) in *used (may be NULL) and returns 0.  Returns
 * -EAGAIN when the input ends inside a value (a stream needs more bytes),
 * -EINVAL for malformed input, -E2BIG past the depth/value limits, -ENOMEM.
 * A number that ends exactly at buf+len counts as complete.
 */
int json_parse(const char *buf, size_t len, struct json **out, size_t *used);
/* Parse a whole document: like json_parse but only whitespace may follow. */
int json_parse_all(const char *buf, size_t len, struct json **out);
void json_free(struct json *j);

/* Constructors: NULL when out of memory. */
struct json *json_new_null(void);
struct json *json_new_bool(bool b);
struct json *json_new_int(int64_t i);
struct json *json_new_double(double d);
struct json *json_new_str(const char *s);
struct json *json_new_strn(const char *s, size_t len);
struct json *json_new_array(void);
struct json *json_new_object(void);
/*
 * Append / set (replacing an existing key).  Take ownership of val, which
 * may be NULL (then -ENOMEM is returned, so constructor failures propagate).
 * On failure val is freed.
 */
int json_array_add(struct json *arr, struct json *val);
int json_object_set(struct json *obj, const char *key, struct json *val);

/* Lookups; NULL when absent or of another type. */
const struct json *json_get(const struct json *obj, const char *key);
const char *json_get_str(const struct json *obj, const char *key);
/* 0, -ENOENT when absent, -EINVAL when not an integer. */
int json_get_int(const struct json *obj, const char *key, int64_t *out);
/* 0, -ENOENT when absent, -EINVAL when not a boolean. */
int json_get_bool(const struct json *obj, const char *key, bool *out);

/* Growable output buffer; `oom` is sticky. */
struct json_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

void json_buf_free(struct json_buf *b);
void json_buf_put(struct json_buf *b, const char *s, size_t n);
void json_buf_puts(struct json_buf *b, const char *s);
/* Append a quoted, escaped JSON string (bytes as given; invalid UTF-8 escaped as U+FFFD). */
void json_buf_str(struct json_buf *b, const char *s, size_t n);
/* Append the compact serialisation of j. */
void json_write(struct json_buf *b, const struct json *j);
/* Serialise to a malloc'd NUL-terminated string, NULL when out of memory. */
char *json_to_string(const struct json *j);

#endif /* DM_JSON_H */
