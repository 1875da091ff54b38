/* json.c - see json.h.  A recursive-descent reader that follows RFC 8259's grammar exactly. */
#define _GNU_SOURCE
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reader {
    const char *text;
    size_t at;
    char *error;
    size_t error_size;
    int failed;
};

static void fail(struct reader *r, const char *what)
{
    if (!r->failed)
        snprintf(r->error, r->error_size, "%s at byte %zu", what, r->at);
    r->failed = 1;
}

static void skip_space(struct reader *r)
{
    while (strchr(" \t\r\n", r->text[r->at]) && r->text[r->at])
        r->at++;
}

static int literal(struct reader *r, const char *word)
{
    size_t len = strlen(word);
    if (strncmp(r->text + r->at, word, len) != 0)
        return 0;
    r->at += len;
    return 1;
}

/* Append one code point as UTF-8. */
static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int hex4(struct reader *r, unsigned long *value)
{
    *value = 0;
    for (int i = 0; i < 4; i++) {
        char c = r->text[r->at++];
        int digit = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
        if (digit < 0) {
            fail(r, "bad \\u escape");
            return 0;
        }
        *value = *value * 16 + (unsigned long)digit;
    }
    return 1;
}

static char *read_string(struct reader *r)
{
    r->at++; /* the opening quote */
    size_t start = r->at;
    /* Decoded text is never longer than its source. */
    char *out = malloc(strlen(r->text + start) + 1);
    size_t len = 0;
    if (!out) {
        fail(r, "out of memory");
        return NULL;
    }
    for (;;) {
        unsigned char c = (unsigned char)r->text[r->at];
        if (c == '\0') {
            fail(r, "unterminated string");
            break;
        }
        if (c < 0x20) {
            fail(r, "raw control character in a string");
            break;
        }
        r->at++;
        if (c == '"') {
            out[len] = '\0';
            return out;
        }
        if (c != '\\') {
            out[len++] = (char)c;
            continue;
        }
        char e = r->text[r->at++];
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *hit = e ? strchr(from, e) : NULL;
        if (hit) {
            out[len++] = to[hit - from];
        } else if (e == 'u') {
            unsigned long cp;
            if (!hex4(r, &cp))
                break;
            if (cp >= 0xd800 && cp < 0xdc00 && literal(r, "\\u")) { /* a surrogate pair */
                unsigned long low;
                if (!hex4(r, &low))
                    break;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            }
            len += put_utf8(out + len, cp);
        } else {
            fail(r, "bad escape in a string");
            break;
        }
    }
    free(out);
    return NULL;
}

static int read_number(struct reader *r, double *value)
{
    size_t start = r->at;
    if (r->text[r->at] == '-')
        r->at++;
    if (r->text[r->at] == '0') {
        r->at++;
    } else if (r->text[r->at] >= '1' && r->text[r->at] <= '9') {
        while (r->text[r->at] >= '0' && r->text[r->at] <= '9')
            r->at++;
    } else {
        fail(r, "bad number");
        return 0;
    }
    if (r->text[r->at] == '.') {
        r->at++;
        if (!(r->text[r->at] >= '0' && r->text[r->at] <= '9')) {
            fail(r, "bad fraction");
            return 0;
        }
        while (r->text[r->at] >= '0' && r->text[r->at] <= '9')
            r->at++;
    }
    if (r->text[r->at] == 'e' || r->text[r->at] == 'E') {
        r->at++;
        if (r->text[r->at] == '+' || r->text[r->at] == '-')
            r->at++;
        if (!(r->text[r->at] >= '0' && r->text[r->at] <= '9')) {
            fail(r, "bad exponent");
            return 0;
        }
        while (r->text[r->at] >= '0' && r->text[r->at] <= '9')
            r->at++;
    }
    *value = strtod(r->text + start, NULL);
    return 1;
}

static int read_value(struct reader *r, struct json *v, int depth);

static int add_item(struct reader *r, struct json *parent, int depth, char *key)
{
    struct json *grown = realloc(parent->items, (parent->count + 1) * sizeof *grown);
    if (!grown) {
        free(key);
        fail(r, "out of memory");
        return 0;
    }
    parent->items = grown;
    struct json *item = &parent->items[parent->count++];
    memset(item, 0, sizeof *item);
    item->key = key;
    return read_value(r, item, depth + 1);
}

static int read_container(struct reader *r, struct json *v, int depth, char close)
{
    r->at++;
    skip_space(r);
    if (r->text[r->at] == close) {
        r->at++;
        return 1;
    }
    for (;;) {
        char *key = NULL;
        if (v->type == JSON_OBJECT) {
            skip_space(r);
            if (r->text[r->at] != '"') {
                fail(r, "expected a member name");
                return 0;
            }
            if (!(key = read_string(r)))
                return 0;
            skip_space(r);
            if (r->text[r->at++] != ':') {
                free(key);
                fail(r, "expected ':'");
                return 0;
            }
        }
        if (!add_item(r, v, depth, key))
            return 0;
        skip_space(r);
        char c = r->text[r->at++];
        if (c == close)
            return 1;
        if (c != ',') {
            fail(r, "expected ',' or the end of the container");
            return 0;
        }
    }
}

static int read_value(struct reader *r, struct json *v, int depth)
{
    if (depth > 64) {
        fail(r, "nested too deeply");
        return 0;
    }
    skip_space(r);
    char c = r->text[r->at];
    if (c == '{' || c == '[') {
        v->type = c == '{' ? JSON_OBJECT : JSON_ARRAY;
        return read_container(r, v, depth, c == '{' ? '}' : ']');
    }
    if (c == '"') {
        v->type = JSON_STRING;
        return (v->string = read_string(r)) != NULL;
    }
    if (literal(r, "true") || literal(r, "false")) {
        v->type = JSON_BOOL;
        v->number = r->text[r->at - 2] == 'u'; /* "tr[u]e" against "fal[s]e" */
        return 1;
    }
    if (literal(r, "null")) {
        v->type = JSON_NULL;
        return 1;
    }
    v->type = JSON_NUMBER;
    return read_number(r, &v->number);
}

static void free_inside(struct json *v)
{
    for (size_t i = 0; i < v->count; i++)
        free_inside(&v->items[i]);
    free(v->items);
    free(v->string);
    free(v->key);
}

void json_free(struct json *value)
{
    if (!value)
        return;
    free_inside(value);
    free(value);
}

struct json *json_parse(const char *text, char *error, size_t error_size)
{
    struct reader r = {text, 0, error, error_size, 0};
    struct json *root = calloc(1, sizeof *root);
    if (!root) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    if (read_value(&r, root, 0)) {
        skip_space(&r);
        if (text[r.at] != '\0')
            fail(&r, "text after the value");
    }
    if (r.failed) {
        json_free(root);
        return NULL;
    }
    return root;
}

const struct json *json_get(const struct json *object, const char *key)
{
    if (!object || object->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < object->count; i++)
        if (strcmp(object->items[i].key, key) == 0)
            return &object->items[i];
    return NULL;
}
