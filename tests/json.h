/* json.h - a small, strict JSON reader for the tests (RFC 8259), to check the files forklore
 * writes for other programs: the lab graders' results.json, read by Gradescope and other
 * autograding platforms, which reject a file that is not exactly JSON.
 *
 * json_parse() builds a tree; anything that is not JSON (a trailing comma, a raw control
 * character in a string, a bad escape, text after the value) is an error with its offset.
 */
#ifndef FORKLORE_TEST_JSON_H
#define FORKLORE_TEST_JSON_H

#include <stddef.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
    enum json_type type;
    double number;      /* JSON_NUMBER; JSON_BOOL: 0 or 1 */
    char *string;       /* JSON_STRING, decoded to UTF-8 */
    char *key;          /* set on the members of an object */
    struct json *items; /* JSON_ARRAY and JSON_OBJECT: count entries */
    size_t count;
};

/* Parse all of text.  Returns the tree (free with json_free), or NULL with a reason in error. */
struct json *json_parse(const char *text, char *error, size_t error_size);
void json_free(struct json *value);

/* The member of an object with this key, or NULL (also when value is not an object). */
const struct json *json_get(const struct json *object, const char *key);

#endif
