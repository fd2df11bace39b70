/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <yajl/yajl_parse.h>

#include "json.h"

typedef struct Frame {
        JsonValue *container;
        char *key;                      /* object member waiting for its value */
} Frame;

typedef struct Builder {
        const JsonLimits *limits;
        JsonValue *root;
        Frame stack[JSON_DEPTH_HARD_MAX + 1];
        unsigned depth;
        size_t n_values;
        char *error;
        bool oom;
} Builder;

const char *json_type_to_string(JsonType t) {
        static const char *const table[_JSON_TYPE_MAX] = {
                [JSON_NULL] = "null",
                [JSON_BOOLEAN] = "a boolean",
                [JSON_NUMBER] = "a number",
                [JSON_STRING] = "a string",
                [JSON_ARRAY] = "an array",
                [JSON_OBJECT] = "an object",
        };
        return t >= 0 && t < _JSON_TYPE_MAX ? table[t] : "unknown";
}

JsonValue *json_value_free(JsonValue *v) {
        if (!v)
                return NULL;

        switch (v->type) {
        case JSON_STRING:
        case JSON_NUMBER:
                free(v->string);
                break;
        case JSON_ARRAY:
                for (size_t i = 0; i < v->array.n; i++)
                        json_value_free(v->array.items[i]);
                free(v->array.items);
                break;
        case JSON_OBJECT:
                for (size_t i = 0; i < v->object.n; i++) {
                        free(v->object.keys[i]);
                        json_value_free(v->object.values[i]);
                }
                free(v->object.keys);
                free(v->object.values);
                break;
        default:
                break;
        }
        free(v);
        return NULL;
}

const JsonValue *json_object_get(const JsonValue *v, const char *key) {
        if (!v || v->type != JSON_OBJECT)
                return NULL;
        for (size_t i = 0; i < v->object.n; i++)
                if (streq(v->object.keys[i], key))
                        return v->object.values[i];
        return NULL;
}

/* The member path of the value being added, e.g. "targets[0].machines[2]", for limit messages: enclosing
 * containers are named by their last member (the one being filled), the innermost by the next slot. */
static char *builder_path(const Builder *b) {
        StrBuf p = {};

        for (unsigned i = 0; i < b->depth; i++) {
                const JsonValue *c = b->stack[i].container;
                bool top = i + 1 == b->depth;

                if (c->type == JSON_ARRAY) {
                        if (top || c->array.n > 0)
                                strbuf_printf(&p, "[%zu]", top ? c->array.n : c->array.n - 1);
                } else {
                        const char *key = top ? b->stack[i].key : c->object.n > 0 ? c->object.keys[c->object.n - 1]
                                                                                  : NULL;
                        if (key)
                                strbuf_printf(&p, "%s%s", p.len > 0 ? "." : "", key);
                }
        }
        return strbuf_steal(&p);
}

static int builder_fail(Builder *b, const char *fmt, ...) _printf_(2, 3);
static int builder_fail(Builder *b, const char *fmt, ...) {
        _cleanup_(freep) char *path = builder_path(b), *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        free(b->error);
        if (!path || !msg)
                b->error = NULL, b->oom = true;
        else
                b->error = isempty(path) ? TAKE_PTR(msg) : strdup_printf("%s: %s", path, msg);
        return 0;               /* tells yajl to stop */
}

static int array_append(JsonValue *a, JsonValue *v) {
        JsonValue **n;

        if ((a->array.n & (a->array.n - 1)) == 0) {     /* grow at powers of two */
                n = realloc(a->array.items, sizeof(JsonValue *) * (a->array.n ? a->array.n * 2 : 1));
                if (!n)
                        return -ENOMEM;
                a->array.items = n;
        }
        a->array.items[a->array.n++] = v;
        return 0;
}

static int object_append(JsonValue *o, char *key, JsonValue *v) {
        if ((o->object.n & (o->object.n - 1)) == 0) {
                size_t want = o->object.n ? o->object.n * 2 : 1;
                char **k = realloc(o->object.keys, sizeof(char *) * want);
                if (!k)
                        return -ENOMEM;
                o->object.keys = k;
                JsonValue **n = realloc(o->object.values, sizeof(JsonValue *) * want);
                if (!n)
                        return -ENOMEM;
                o->object.values = n;
        }
        o->object.keys[o->object.n] = key;
        o->object.values[o->object.n++] = v;
        return 0;
}

/* Attaches a new value to the container on top of the stack (or makes it the root). Takes ownership of v. */
static int builder_add(Builder *b, JsonValue *v) {
        if (!v) {
                b->oom = true;
                return 0;
        }
        if (++b->n_values > b->limits->max_values) {
                json_value_free(v);
                return builder_fail(b, "more than %zu values in the document", b->limits->max_values);
        }
        if (b->depth == 0) {
                b->root = v;
                return 1;
        }

        Frame *top = &b->stack[b->depth - 1];
        JsonValue *c = top->container;
        size_t n = c->type == JSON_ARRAY ? c->array.n : c->object.n;
        int r;

        if (n >= b->limits->max_elements) {
                json_value_free(v);
                return builder_fail(b, "%s more than %zu %s", c->type == JSON_ARRAY ? "array has" : "object has",
                                    b->limits->max_elements, c->type == JSON_ARRAY ? "items" : "members");
        }
        if (c->type == JSON_ARRAY)
                r = array_append(c, v);
        else {
                r = object_append(c, top->key, v);
                if (r >= 0)
                        top->key = NULL;
        }
        if (r < 0) {
                json_value_free(v);
                b->oom = true;
                return 0;
        }
        return 1;
}

static JsonValue *value_new(JsonType type) {
        JsonValue *v = calloc(1, sizeof(JsonValue));
        if (v)
                v->type = type;
        return v;
}

static JsonValue *value_new_string(JsonType type, const unsigned char *s, size_t len) {
        JsonValue *v = value_new(type);

        if (!v)
                return NULL;
        v->string = strndup((const char *) s, len);
        if (!v->string)
                return json_value_free(v);
        return v;
}

static int check_string(Builder *b, const unsigned char *s, size_t len, const char *what) {
        if (len > b->limits->max_string)
                return builder_fail(b, "%s longer than %zu bytes", what, b->limits->max_string);
        if (memchr(s, 0, len))
                return builder_fail(b, "%s contains a NUL character (\\u0000)", what);
        /* yajl lets overlong forms, surrogates and code points past U+10FFFF through; D-Bus does not */
        if (!utf8_is_valid_n((const char *) s, len))
                return builder_fail(b, "%s is not valid UTF-8 (overlong form, surrogate or noncharacter)", what);
        return 1;
}

static int on_null(void *ctx) {
        return builder_add(ctx, value_new(JSON_NULL));
}

static int on_boolean(void *ctx, int value) {
        JsonValue *v = value_new(JSON_BOOLEAN);

        if (v)
                v->boolean = value;
        return builder_add(ctx, v);
}

static int on_number(void *ctx, const char *s, size_t len) {
        if (!check_string(ctx, (const unsigned char *) s, len, "number"))
                return 0;
        return builder_add(ctx, value_new_string(JSON_NUMBER, (const unsigned char *) s, len));
}

static int on_string(void *ctx, const unsigned char *s, size_t len) {
        if (!check_string(ctx, s, len, "string"))
                return 0;
        return builder_add(ctx, value_new_string(JSON_STRING, s, len));
}

static int on_map_key(void *ctx, const unsigned char *s, size_t len) {
        Builder *b = ctx;
        Frame *top = &b->stack[b->depth - 1];
        char *key;

        if (!check_string(b, s, len, "member name"))
                return 0;
        key = strndup((const char *) s, len);
        if (!key) {
                b->oom = true;
                return 0;
        }
        if (json_object_get(top->container, key)) {
                _cleanup_(freep) char *k = key;
                return builder_fail(b, "duplicate member '%s'", k);
        }
        free(top->key);
        top->key = key;
        return 1;
}

static int start_container(Builder *b, JsonType type) {
        JsonValue *v;

        if (b->depth >= b->limits->max_depth || b->depth >= JSON_DEPTH_HARD_MAX)
                return builder_fail(b, "nested deeper than %u levels",
                                    b->limits->max_depth < JSON_DEPTH_HARD_MAX ? b->limits->max_depth
                                                                               : JSON_DEPTH_HARD_MAX);

        v = value_new(type);
        if (!builder_add(b, v))
                return 0;
        b->stack[b->depth++] = (Frame) { .container = v };
        return 1;
}

static int end_container(void *ctx) {
        Builder *b = ctx;

        b->depth--;
        free(b->stack[b->depth].key);
        b->stack[b->depth].key = NULL;
        return 1;
}

static int on_start_map(void *ctx) {
        return start_container(ctx, JSON_OBJECT);
}

static int on_start_array(void *ctx) {
        return start_container(ctx, JSON_ARRAY);
}

static const yajl_callbacks callbacks = {
        .yajl_null = on_null,
        .yajl_boolean = on_boolean,
        .yajl_number = on_number,
        .yajl_string = on_string,
        .yajl_start_map = on_start_map,
        .yajl_map_key = on_map_key,
        .yajl_end_map = end_container,
        .yajl_start_array = on_start_array,
        .yajl_end_array = end_container,
};

/* yajl's own message, without its "parse error: " prefix and trailing newline, plus line and column. */
static char *syntax_error(yajl_handle h, const char *data, size_t size, bool at_end) {
        _cleanup_(freep) char *msg = NULL;
        unsigned char *e;
        size_t offset, line = 1, col = 1;

        /* after yajl_complete_parse() the count covers only what that call saw: the error is at the end */
        offset = at_end ? size : yajl_get_bytes_consumed(h);
        if (offset > size)
                offset = size;
        for (size_t i = 0; i < offset; i++)
                if (data[i] == '\n')
                        line++, col = 1;
                else
                        col++;

        e = yajl_get_error(h, 0, NULL, 0);
        if (!e)
                return NULL;
        msg = strdup((const char *) e);
        yajl_free_error(h, e);
        if (!msg)
                return NULL;

        char *m = msg;
        const char *colon = strstr(m, "error: ");
        if (colon)
                m = (char *) colon + strlen("error: ");
        m[strcspn(m, "\n")] = 0;
        if (m[0] && m[strlen(m) - 1] == '.')
                m[strlen(m) - 1] = 0;

        return strdup_printf("invalid JSON at line %zu, column %zu (byte %zu): %s", line, col, offset, m);
}

int json_parse(const char *data, size_t size, const JsonLimits *limits, JsonValue **ret, char **ret_error) {
        Builder b = { .limits = limits };
        yajl_handle h;
        bool at_end = false;
        yajl_status s;
        int r = 0;

        h = yajl_alloc(&callbacks, NULL, &b);
        if (!h)
                return -ENOMEM;

        s = yajl_parse(h, (const unsigned char *) data, size);
        if (s == yajl_status_ok) {
                s = yajl_complete_parse(h);
                at_end = true;
        }

        if (b.oom)
                r = -ENOMEM;
        else if (s == yajl_status_client_canceled) {
                *ret_error = TAKE_PTR(b.error);
                r = -EBADMSG;
        } else if (s != yajl_status_ok) {
                *ret_error = syntax_error(h, data, size, at_end);
                r = *ret_error ? -EBADMSG : -ENOMEM;
        }
        yajl_free(h);

        for (unsigned i = 0; i < b.depth; i++)
                free(b.stack[i].key);
        free(b.error);

        if (r < 0) {
                json_value_free(b.root);
                return r;
        }
        *ret = b.root;
        return 0;
}

/* ---- where a member is ------------------------------------------------------------------------------------ */

typedef struct Locator {
        yajl_handle handle;
        const char *data;
        const char *want;
        StrBuf path;
        struct {
                bool array;
                size_t index, base;
        } stack[JSON_DEPTH_HARD_MAX];
        unsigned depth;
        size_t found;           /* offset + 1, 0 while not found */
} Locator;

/* The start of the token that ends just before offset: a string's opening quote, a bracket, a literal. */
static size_t token_start(const char *data, size_t offset) {
        size_t p = offset;

        while (p > 0 && strchr(" \t\r\n,:]}", data[p - 1]))
                p--;
        if (p == 0)
                return 0;
        if (data[p - 1] == '"') {
                for (p -= 1; p > 0; p--) {
                        size_t slashes = 0;
                        if (data[p - 1] != '"')
                                continue;
                        while (p - 1 > slashes && data[p - 2 - slashes] == '\\')
                                slashes++;
                        if (slashes % 2 == 0)
                                return p - 1;
                }
                return 0;
        }
        if (data[p - 1] == '{' || data[p - 1] == '[')
                return p - 1;
        while (p > 0 && !strchr(" \t\r\n,:[{", data[p - 1]))
                p--;
        return p;
}

static int locate_check(Locator *l) {
        if (!l->path.buf || !streq(l->path.buf, l->want))
                return 1;
        l->found = token_start(l->data, yajl_get_bytes_consumed(l->handle)) + 1;
        return 0;       /* found: stop parsing */
}

static void locate_truncate(Locator *l, size_t n) {
        if (l->path.buf && l->path.len > n) {
                l->path.len = n;
                l->path.buf[n] = 0;
        }
}

/* A value starts: in an array it is the next item. */
static int locate_value(Locator *l) {
        if (l->depth == 0 || !l->stack[l->depth - 1].array)
                return 1;
        locate_truncate(l, l->stack[l->depth - 1].base);
        strbuf_printf(&l->path, "[%zu]", l->stack[l->depth - 1].index++);
        return locate_check(l);
}

static int locate_scalar(void *ctx) {
        return locate_value(ctx);
}
static int locate_boolean(void *ctx, int b) {
        return locate_value(ctx);
}
static int locate_number(void *ctx, const char *s, size_t n) {
        return locate_value(ctx);
}
static int locate_string(void *ctx, const unsigned char *s, size_t n) {
        return locate_value(ctx);
}

static int locate_key(void *ctx, const unsigned char *s, size_t n) {
        Locator *l = ctx;
        size_t base = l->stack[l->depth - 1].base;

        locate_truncate(l, base);
        if (base > 0)
                strbuf_puts(&l->path, ".");
        strbuf_append(&l->path, (const char *) s, n);
        return locate_check(l);
}

static int locate_start(Locator *l, bool array) {
        if (locate_value(l) == 0)
                return 0;
        if (l->depth >= JSON_DEPTH_HARD_MAX)
                return 0;
        l->stack[l->depth++] = (typeof(l->stack[0])) { .array = array, .base = l->path.buf ? l->path.len : 0 };
        return 1;
}

static int locate_start_map(void *ctx) {
        return locate_start(ctx, false);
}
static int locate_start_array(void *ctx) {
        return locate_start(ctx, true);
}
static int locate_end(void *ctx) {
        Locator *l = ctx;
        l->depth--;
        return 1;
}

int json_locate(const char *data, size_t size, const char *path, unsigned *ret_line, unsigned *ret_column) {
        static const yajl_callbacks locate_callbacks = {
                .yajl_null = locate_scalar,
                .yajl_boolean = locate_boolean,
                .yajl_number = locate_number,
                .yajl_string = locate_string,
                .yajl_start_map = locate_start_map,
                .yajl_map_key = locate_key,
                .yajl_end_map = locate_end,
                .yajl_start_array = locate_start_array,
                .yajl_end_array = locate_end,
        };
        Locator l = { .data = data, .want = path };
        unsigned line = 1, column = 1;

        if (isempty(path))
                return -ENOENT;
        l.handle = yajl_alloc(&locate_callbacks, NULL, &l);
        if (!l.handle)
                return -ENOMEM;
        strbuf_puts(&l.path, "");
        (void) yajl_parse(l.handle, (const unsigned char *) data, size);
        yajl_free(l.handle);
        strbuf_done(&l.path);
        if (l.found == 0 || l.found - 1 > size)
                return -ENOENT;
        for (size_t i = 0; i < l.found - 1; i++)
                if (data[i] == '\n')
                        line++, column = 1;
                else
                        column++;
        *ret_line = line;
        *ret_column = column;
        return 0;
}
