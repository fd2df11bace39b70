/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* json_parse(): the tree it builds for every JSON type, the limits it enforces while reading, and the
 * messages it gives when a document is malformed or breaks a limit. */

#include "util/json.h"
#include "tests.h"

static const JsonLimits limits_default = {
        .max_depth = 32,
        .max_elements = 1024,
        .max_string = 65536,
        .max_values = 100000,
};

/* Parses text that must be valid; the caller frees the tree. */
static JsonValue *parse_ok_limits(const char *text, size_t size, const JsonLimits *limits) {
        JsonValue *v = NULL;
        char *error = NULL;
        int r;

        r = json_parse(text, size, limits, &v, &error);
        if (r < 0)
                fprintf(stderr, "unexpected failure %d on '%s': %s\n", r, text, strempty(error));
        CHECK(r == 0);
        CHECK(!error);
        CHECK(v);
        return v;
}

static JsonValue *parse_ok(const char *text) {
        return parse_ok_limits(text, strlen(text), &limits_default);
}

/* Parses text that must be rejected; returns the message, which the caller frees. */
static char *parse_fail_limits(const char *text, size_t size, const JsonLimits *limits) {
        JsonValue *sentinel = (JsonValue *) &limits_default, *v = sentinel;
        char *error = NULL;
        int r;

        r = json_parse(text, size, limits, &v, &error);
        CHECK(r == -EBADMSG);
        CHECK(v == sentinel);           /* *ret is written only on success */
        CHECK(error);
        return error;
}

static char *parse_fail(const char *text) {
        return parse_fail_limits(text, strlen(text), &limits_default);
}

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A string of n copies of open followed by middle and n copies of close. */
static char *nested(size_t n, const char *open, const char *middle, const char *close) {
        StrBuf b = {};

        for (size_t i = 0; i < n; i++)
                strbuf_puts(&b, open);
        strbuf_puts(&b, middle);
        for (size_t i = 0; i < n; i++)
                strbuf_puts(&b, close);
        CHECK(!b.oom);
        return strbuf_steal(&b);
}

static void test_type_names(void) {
        CHECK_STREQ(json_type_to_string(JSON_NULL), "null");
        CHECK_STREQ(json_type_to_string(JSON_BOOLEAN), "a boolean");
        CHECK_STREQ(json_type_to_string(JSON_NUMBER), "a number");
        CHECK_STREQ(json_type_to_string(JSON_STRING), "a string");
        CHECK_STREQ(json_type_to_string(JSON_ARRAY), "an array");
        CHECK_STREQ(json_type_to_string(JSON_OBJECT), "an object");
        CHECK_STREQ(json_type_to_string(_JSON_TYPE_MAX), "unknown");
}

static void test_scalars(void) {
        JsonValue *v;

        v = parse_ok("null");
        CHECK(v->type == JSON_NULL);
        json_value_free(v);

        v = parse_ok(" true ");
        CHECK(v->type == JSON_BOOLEAN);
        CHECK(v->boolean);
        json_value_free(v);

        v = parse_ok("false\n");
        CHECK(v->type == JSON_BOOLEAN);
        CHECK(!v->boolean);
        json_value_free(v);

        /* numbers keep their literal text: nothing is lost to a double or an overflow */
        static const char *const numbers[] = { "0", "-7", "3.25", "-1.5e3", "6E-2",
                                               "123456789012345678901234567890" };
        for (size_t i = 0; i < ELEMENTSOF(numbers); i++) {
                v = parse_ok(numbers[i]);
                CHECK(v->type == JSON_NUMBER);
                CHECK_STREQ(v->string, numbers[i]);
                json_value_free(v);
        }

        v = parse_ok("\"\"");
        CHECK(v->type == JSON_STRING);
        CHECK_STREQ(v->string, "");
        json_value_free(v);
}

static void test_string_escapes(void) {
        JsonValue *v;

        v = parse_ok("\"a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f\"");
        CHECK(v->type == JSON_STRING);
        CHECK_STREQ(v->string, "a\"b\\c/d\n\t\r\b\f");
        json_value_free(v);

        /* \u escapes come out as UTF-8, surrogate pairs as one four-byte character */
        v = parse_ok("\"caf\\u00e9 \\ud83d\\ude00\"");
        CHECK_STREQ(v->string, "caf\xc3\xa9 \xf0\x9f\x98\x80");
        json_value_free(v);

        /* raw UTF-8 passes through untouched */
        v = parse_ok("\"F\xc3\xbcr \xe2\x82\xac\"");
        CHECK_STREQ(v->string, "F\xc3\xbcr \xe2\x82\xac");
        json_value_free(v);
}

static void test_containers(void) {
        JsonValue *v;
        const JsonValue *m;

        v = parse_ok("[]");
        CHECK(v->type == JSON_ARRAY);
        CHECK(v->array.n == 0);
        json_value_free(v);

        v = parse_ok("{}");
        CHECK(v->type == JSON_OBJECT);
        CHECK(v->object.n == 0);
        CHECK(!json_object_get(v, "a"));
        json_value_free(v);

        v = parse_ok("[null, true, 1, \"s\", [2], {\"k\": false}]");
        CHECK(v->type == JSON_ARRAY);
        CHECK(v->array.n == 6);
        CHECK(v->array.items[0]->type == JSON_NULL);
        CHECK(v->array.items[1]->type == JSON_BOOLEAN && v->array.items[1]->boolean);
        CHECK(v->array.items[2]->type == JSON_NUMBER);
        CHECK_STREQ(v->array.items[2]->string, "1");
        CHECK(v->array.items[3]->type == JSON_STRING);
        CHECK_STREQ(v->array.items[3]->string, "s");
        CHECK(v->array.items[4]->type == JSON_ARRAY && v->array.items[4]->array.n == 1);
        CHECK_STREQ(v->array.items[4]->array.items[0]->string, "2");
        CHECK(v->array.items[5]->type == JSON_OBJECT && v->array.items[5]->object.n == 1);
        m = json_object_get(v->array.items[5], "k");
        CHECK(m && m->type == JSON_BOOLEAN && !m->boolean);
        /* json_object_get() is for objects only */
        CHECK(!json_object_get(v, "k"));
        CHECK(!json_object_get(NULL, "k"));
        json_value_free(v);

        /* members keep their order; growth past powers of two keeps every one */
        v = parse_ok("{\"a\": 1, \"b\": [1, 2, 3, 4, 5], \"c\": {\"d\": null}, \"e\": \"x\", \"f\": 6}");
        CHECK(v->type == JSON_OBJECT);
        CHECK(v->object.n == 5);
        CHECK_STREQ(v->object.keys[0], "a");
        CHECK_STREQ(v->object.keys[4], "f");
        m = json_object_get(v, "b");
        CHECK(m && m->type == JSON_ARRAY && m->array.n == 5);
        CHECK_STREQ(m->array.items[4]->string, "5");
        m = json_object_get(v, "c");
        CHECK(m && m->type == JSON_OBJECT);
        m = json_object_get(m, "d");
        CHECK(m && m->type == JSON_NULL);
        m = json_object_get(v, "f");
        CHECK(m && m->type == JSON_NUMBER);
        CHECK_STREQ(m->string, "6");
        CHECK(!json_object_get(v, "g"));
        json_value_free(v);

        CHECK(!json_value_free(NULL));
}

static void test_duplicate_member(void) {
        _cleanup_(freep) char *e1 = parse_fail("{\"a\": 1, \"b\": 2, \"a\": 3}");
        CHECK_STREQ(e1, "duplicate member 'a'");

        /* the same name in different objects is fine */
        JsonValue *v = parse_ok("{\"a\": {\"a\": 1}, \"b\": [{\"a\": 2}, {\"a\": 3}]}");
        json_value_free(v);
}

static void test_depth_limit(void) {
        _cleanup_(freep) char *ok = nested(32, "[", "1", "]");
        _cleanup_(freep) char *deep = nested(33, "[", "1", "]");
        _cleanup_(freep) char *obj_ok = nested(32, "{\"a\": ", "1", "}");
        _cleanup_(freep) char *obj_deep = nested(33, "{\"a\": ", "1", "}");
        _cleanup_(freep) char *e1 = NULL, *e2 = NULL;
        JsonValue *v;

        v = parse_ok(ok);
        json_value_free(v);
        v = parse_ok(obj_ok);
        json_value_free(v);

        e1 = parse_fail(deep);
        CHECK(endswith(e1, "nested deeper than 32 levels"));
        e2 = parse_fail(obj_deep);
        CHECK(endswith(e2, "nested deeper than 32 levels"));

        /* empty containers count as well */
        _cleanup_(freep) char *empty_deep = nested(33, "[", "", "]");
        _cleanup_(freep) char *e3 = parse_fail(empty_deep);
        CHECK(strstr(e3, "nested deeper than 32 levels"));

        /* a smaller limit is honoured exactly */
        JsonLimits l = limits_default;
        l.max_depth = 2;
        v = parse_ok_limits("[[1]]", 5, &l);
        json_value_free(v);
        _cleanup_(freep) char *e4 = parse_fail_limits("[[[1]]]", 7, &l);
        CHECK(strstr(e4, "nested deeper than 2 levels"));
}

/* 100,000 open brackets must be refused at the limit, without recursion or reading to the end. */
static void test_deep_nesting_rejected_quickly(void) {
        static const char *const opens[] = { "[", "{\"a\":" };

        for (size_t k = 0; k < ELEMENTSOF(opens); k++) {
                _cleanup_(freep) char *text = nested(100000, opens[k], "", "");
                uint64_t start = now_nsec();
                _cleanup_(freep) char *e = parse_fail(text);
                uint64_t elapsed = now_nsec() - start;

                CHECK(strstr(e, "nested deeper than 32 levels"));
                CHECK(elapsed < UINT64_C(2000000000));
        }
}

static void test_element_limit(void) {
        JsonLimits l = limits_default;
        JsonValue *v;

        l.max_elements = 3;
        v = parse_ok_limits("[1, 2, 3]", 9, &l);
        CHECK(v->array.n == 3);
        json_value_free(v);
        v = parse_ok_limits("{\"a\": 1, \"b\": 2, \"c\": 3}", 24, &l);
        CHECK(v->object.n == 3);
        json_value_free(v);

        _cleanup_(freep) char *e1 = parse_fail_limits("[1, 2, 3, 4]", 12, &l);
        CHECK_STREQ(e1, "[3]: array has more than 3 items");

        const char *o = "{\"a\": 1, \"b\": 2, \"c\": 3, \"d\": 4}";
        _cleanup_(freep) char *e2 = parse_fail_limits(o, strlen(o), &l);
        CHECK_STREQ(e2, "d: object has more than 3 members");

        /* a container value counts like any other */
        _cleanup_(freep) char *e3 = parse_fail_limits("[1, 2, 3, []]", 13, &l);
        CHECK(endswith(e3, "array has more than 3 items"));

        /* the limit is per container, not per document */
        const char *many = "[[1, 2, 3], [1, 2, 3], [1, 2, 3]]";
        v = parse_ok_limits(many, strlen(many), &l);
        CHECK(v->array.n == 3);
        json_value_free(v);

        /* the default the descriptor parser uses */
        StrBuf b = {};
        strbuf_puts(&b, "[0");
        for (int i = 1; i < 1024; i++)
                strbuf_printf(&b, ",%d", i);
        strbuf_puts(&b, "]");
        _cleanup_(freep) char *list = strbuf_steal(&b);
        v = parse_ok(list);
        CHECK(v->array.n == 1024);
        json_value_free(v);
        list[strlen(list) - 1] = 0;
        _cleanup_(freep) char *longer = strdup_printf("%s,1024]", list);
        _cleanup_(freep) char *e4 = parse_fail(longer);
        CHECK_STREQ(e4, "[1024]: array has more than 1024 items");
}

static void test_string_limit(void) {
        JsonLimits l = limits_default;
        JsonValue *v;

        l.max_string = 8;
        v = parse_ok_limits("\"12345678\"", 10, &l);
        CHECK_STREQ(v->string, "12345678");
        json_value_free(v);

        _cleanup_(freep) char *e1 = parse_fail_limits("\"123456789\"", 11, &l);
        CHECK_STREQ(e1, "string longer than 8 bytes");

        /* bytes, not characters: four two-byte characters fit, five do not */
        const char *four = "[\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"]";
        v = parse_ok_limits(four, strlen(four), &l);
        json_value_free(v);
        const char *five = "[\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"]";
        _cleanup_(freep) char *e2 = parse_fail_limits(five, strlen(five), &l);
        CHECK_STREQ(e2, "[0]: string longer than 8 bytes");

        /* the limit applies after unescaping */
        const char *escaped = "\"\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\"";
        v = parse_ok_limits(escaped, strlen(escaped), &l);
        CHECK_STREQ(v->string, "AAAAAAAA");
        json_value_free(v);

        const char *key = "{\"abcdefghi\": 1}";
        _cleanup_(freep) char *e3 = parse_fail_limits(key, strlen(key), &l);
        CHECK_STREQ(e3, "member name longer than 8 bytes");

        _cleanup_(freep) char *e4 = parse_fail_limits("[1234567890]", 12, &l);
        CHECK_STREQ(e4, "[0]: number longer than 8 bytes");
}

static void test_value_limit(void) {
        JsonLimits l = limits_default;
        JsonValue *v;

        /* the array itself is a value: five in all */
        l.max_values = 5;
        v = parse_ok_limits("[1, 2, 3, 4]", 12, &l);
        json_value_free(v);
        _cleanup_(freep) char *e1 = parse_fail_limits("[1, 2, 3, 4, 5]", 15, &l);
        CHECK_STREQ(e1, "[4]: more than 5 values in the document");

        /* spread over several containers, each well below the element limit */
        const char *spread = "[[1, 2], [3]]";
        _cleanup_(freep) char *e2 = parse_fail_limits(spread, strlen(spread), &l);
        CHECK(endswith(e2, "more than 5 values in the document"));
}

static void test_nul_in_string(void) {
        _cleanup_(freep) char *e1 = parse_fail("\"a\\u0000b\"");
        CHECK_STREQ(e1, "string contains a NUL character (\\u0000)");

        _cleanup_(freep) char *e2 = parse_fail("{\"k\": [\"\\u0000\"]}");
        CHECK(endswith(e2, "string contains a NUL character (\\u0000)"));

        _cleanup_(freep) char *e3 = parse_fail("{\"k\\u0000\": 1}");
        CHECK_STREQ(e3, "member name contains a NUL character (\\u0000)");
}

static void test_truncated(void) {
        static const char *const texts[] = { "", "   ", "[", "[1,", "{\"a\"", "{\"a\":", "{\"a\": 1", "\"abc",
                                             "tru", "[1, 2" };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                _cleanup_(freep) char *e = parse_fail(texts[i]);
                CHECK(startswith(e, "invalid JSON at line 1, column "));
        }

        _cleanup_(freep) char *e = parse_fail("{\"a\": [1, 2");
        CHECK(startswith(e, "invalid JSON at line 1, column "));
        CHECK(endswith(e, ": premature EOF"));
}

static void test_invalid_utf8(void) {
        static const char *const texts[] = {
                "\"\xff\"",                     /* never valid */
                "\"\xc3\x28\"",                 /* lead byte without continuation */
                "\"abc\xe2\x82\"",              /* sequence cut short */
                "{\"k\xfc\": 1}",               /* Latin-1 in a member name */
        };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                _cleanup_(freep) char *e = parse_fail(texts[i]);
                CHECK(startswith(e, "invalid JSON at line 1, column "));
                CHECK(strstr(e, "UTF8"));
        }

        /* outside a string, a stray byte is just invalid */
        _cleanup_(freep) char *e = parse_fail("[1, \xff]");
        CHECK(startswith(e, "invalid JSON at line 1, column "));
}

static void test_trailing_garbage(void) {
        static const char *const texts[] = { "{} x", "[1] [2]", "{}{}", "1 2", "null,", "[1]]" };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                _cleanup_(freep) char *e = parse_fail(texts[i]);
                CHECK(startswith(e, "invalid JSON at line 1, column "));
                CHECK(endswith(e, "trailing garbage"));
        }

        /* trailing whitespace is not garbage */
        JsonValue *v = parse_ok("{}\n\n  \t");
        json_value_free(v);
}

static void test_comments_rejected(void) {
        static const char *const texts[] = { "[1, /* two */ 2]", "// note\n[]", "{\"a\": 1 // one\n}",
                                             "[] # shell" };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                _cleanup_(freep) char *e = parse_fail(texts[i]);
                CHECK(startswith(e, "invalid JSON at line "));
        }

        _cleanup_(freep) char *e = parse_fail("[1, /* two */ 2]");
        CHECK_STREQ(e, "invalid JSON at line 1, column 5 (byte 4): "
                    "probable comment found in input text, comments are not enabled");
}

static void test_other_syntax_errors(void) {
        static const char *const texts[] = {
                "[1, 2,]",              /* trailing comma */
                "{\"a\": 1,}",
                "{'a': 1}",             /* single quotes */
                "{a: 1}",               /* bare member name */
                "[01]",                 /* leading zero */
                "[NaN]",
                "[\"tab\there\"]",      /* control character in a string */
                "\xef\xbb\xbf{}",       /* byte order mark */
        };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                _cleanup_(freep) char *e = parse_fail(texts[i]);
                CHECK(startswith(e, "invalid JSON at line "));
        }
}

/* Syntax errors name line, column and byte offset; lines are counted from 1. */
static void test_error_position(void) {
        const char *text = "{\n  \"a\": [\n    1,\n    tru\n  ]\n}\n";
        _cleanup_(freep) char *e = parse_fail(text);

        CHECK(startswith(e, "invalid JSON at line 4, column "));
        CHECK(strstr(e, "(byte "));

        /* columns restart at each line; yajl names the byte just past a bad token, or the bad byte itself */
        _cleanup_(freep) char *e2 = parse_fail("[1,\n@]");
        CHECK(startswith(e2, "invalid JSON at line 2, column "));
        CHECK(endswith(e2, ": invalid char in json text"));
        CHECK(strstr(e2, "column 1 (byte 4)") || strstr(e2, "column 2 (byte 5)"));
}

/* Limit errors name the member path of the value being added. */
static void test_error_path_top_level(void) {
        JsonLimits l = limits_default;

        l.max_elements = 2;
        const char *text = "{\"machines\": [\"a\", \"b\"], \"features\": 1, \"tags\": []}";
        _cleanup_(freep) char *e = parse_fail_limits(text, strlen(text), &l);
        CHECK_STREQ(e, "tags: object has more than 2 members");
}

/* Known bugs below: these run last so that they do not hide the checks above. */

/* The path must name the enclosing members and the index of each enclosing item, e.g.
 * "targets[0].machines[2]". */
static void test_error_path_nested(void) {
        JsonLimits l = limits_default;

        l.max_elements = 2;
        const char *text = "{\"targets\": [{\"machines\": [\"a\", \"b\", \"c\"]}]}";
        _cleanup_(freep) char *e1 = parse_fail_limits(text, strlen(text), &l);
        CHECK_STREQ(e1, "targets[0].machines[2]: array has more than 2 items");

        _cleanup_(freep) char *e2 = parse_fail("{\"mapping\": {\"device\": 1, \"device\": 2}}");
        CHECK_STREQ(e2, "mapping: duplicate member 'device'");

        l = limits_default;
        l.max_depth = 3;
        _cleanup_(freep) char *e3 = parse_fail_limits("[[[[1]]]]", 9, &l);
        CHECK_STREQ(e3, "[0][0][0]: nested deeper than 3 levels");
}

/* A document cut short is reported where it ends, not at its first byte. */
static void test_truncated_position(void) {
        _cleanup_(freep) char *e1 = parse_fail("[1, 2");
        CHECK_STREQ(e1, "invalid JSON at line 1, column 6 (byte 5): premature EOF");

        _cleanup_(freep) char *e2 = parse_fail("{\n  \"a\": [\n    1,\n");
        CHECK(startswith(e2, "invalid JSON at line 4, column 1 "));
}

/* A limit above JSON_DEPTH_HARD_MAX is capped, and the message must give the limit that applied. */
static void test_depth_hard_max_message(void) {
        JsonLimits l = limits_default;
        l.max_depth = 100;

        _cleanup_(freep) char *ok = nested(JSON_DEPTH_HARD_MAX, "[", "", "]");
        _cleanup_(freep) char *deep = nested(JSON_DEPTH_HARD_MAX + 1, "[", "", "]");
        JsonValue *v = parse_ok_limits(ok, strlen(ok), &l);
        json_value_free(v);
        _cleanup_(freep) char *e = parse_fail_limits(deep, strlen(deep), &l);
        CHECK(endswith(e, "nested deeper than 64 levels"));
}

/* What D-Bus accepts, and so what a descriptor string may hold: yajl alone lets more through. */
static void test_strict_utf8(void) {
        static const char *const bad[] = {
                "\xc0\xaf",                   /* overlong '/' */
                "\xed\xa0\x80",              /* a surrogate */
                "\xf4\x90\x80\x80",         /* past U+10FFFF */
                "\xef\xbf\xbe",              /* U+FFFE */
                "\xe9t\xe9",                  /* Latin-1 */
                "\xe2\x82",                   /* cut short */
        };
        JsonValue *v = NULL;
        char *error = NULL;

        CHECK(utf8_is_valid("plain ascii") && utf8_is_valid("\xc3\xa9t\xc3\xa9 \xf0\x9f\x94\xa5"));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(freep) char *doc = strdup_printf("[\"%s\"]", bad[i]);

                CHECK(!utf8_is_valid(bad[i]));
                CHECK(json_parse(doc, strlen(doc), &limits_default, &v, &error) == -EBADMSG);
                CHECK(error);
                free(error);
                error = NULL;
        }
        _cleanup_(freep) char *shown = utf8_escape_invalid("caf\xe9.json");
        CHECK_STREQ(shown, "caf\\xe9.json");
        _cleanup_(freep) char *text = utf8_escape_text("a\n<0>b\t\xc3\xa9\xc3");
        CHECK_STREQ(text, "a\\x0a<0>b\\x09\xc3\xa9\\xc3");
}

static void test_locate(void) {
        static const char text[] =
                "{\n"
                "  \"a\": { \"b\": [ 1, \"two\", {\"c\": null} ] },\n"
                "  \"esc\\\"aped\": true, \"d\": [[], [false]]\n"
                "}";
        unsigned line = 0, column = 0;

        CHECK(json_locate(text, strlen(text), "a", &line, &column) == 0 && line == 2 && column == 3);
        CHECK(json_locate(text, strlen(text), "a.b", &line, &column) == 0 && line == 2 && column == 10);
        CHECK(json_locate(text, strlen(text), "a.b[0]", &line, &column) == 0 && line == 2 && column == 17);
        CHECK(json_locate(text, strlen(text), "a.b[1]", &line, &column) == 0 && line == 2 && column == 20);
        CHECK(json_locate(text, strlen(text), "a.b[2]", &line, &column) == 0 && line == 2 && column == 27);
        CHECK(json_locate(text, strlen(text), "a.b[2].c", &line, &column) == 0 && line == 2 && column == 28);
        CHECK(json_locate(text, strlen(text), "d[1][0]", &line, &column) == 0 && line == 3 && column == 33);
        CHECK(json_locate(text, strlen(text), "a.b[3]", &line, &column) == -ENOENT);
        CHECK(json_locate(text, strlen(text), "", &line, &column) == -ENOENT);
        /* a broken text is searched up to where it breaks */
        CHECK(json_locate("{\"x\": 1, \"y\"", 13, "y", &line, &column) == 0 && column == 10);
        CHECK(json_locate("{\"x\": ]", 8, "z", &line, &column) == -ENOENT);
}

int main(void) {
        RUN(test_locate);
        RUN(test_strict_utf8);
        RUN(test_type_names);
        RUN(test_scalars);
        RUN(test_string_escapes);
        RUN(test_containers);
        RUN(test_duplicate_member);
        RUN(test_depth_limit);
        RUN(test_deep_nesting_rejected_quickly);
        RUN(test_element_limit);
        RUN(test_string_limit);
        RUN(test_value_limit);
        RUN(test_nul_in_string);
        RUN(test_truncated);
        RUN(test_invalid_utf8);
        RUN(test_trailing_garbage);
        RUN(test_comments_rejected);
        RUN(test_other_syntax_errors);
        RUN(test_error_position);
        RUN(test_error_path_top_level);

        /* known bugs */
        RUN(test_error_path_nested);
        RUN(test_truncated_position);
        RUN(test_depth_hard_max_message);
        return 0;
}
