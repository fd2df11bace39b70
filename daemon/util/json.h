/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A bounded JSON reader: yajl's event parser builds a small tree while depth, container sizes, string
 * lengths and the total number of values are enforced as the bytes arrive. It does no schema work. */

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

typedef enum JsonType {
        JSON_NULL,
        JSON_BOOLEAN,
        JSON_NUMBER,
        JSON_STRING,
        JSON_ARRAY,
        JSON_OBJECT,
        _JSON_TYPE_MAX,
} JsonType;

typedef struct JsonValue JsonValue;
struct JsonValue {
        JsonType type;
        union {
                bool boolean;
                char *string;                   /* JSON_STRING, and the literal text of a JSON_NUMBER */
                struct {
                        JsonValue **items;
                        size_t n;
                } array;
                struct {
                        char **keys;
                        JsonValue **values;
                        size_t n;
                } object;
        };
};

typedef struct JsonLimits {
        unsigned max_depth;             /* containers nested inside each other */
        size_t max_elements;            /* members of one object or items of one array */
        size_t max_string;              /* bytes in one string or member name */
        size_t max_values;              /* values in the whole document */
} JsonLimits;

#define JSON_DEPTH_HARD_MAX 64U

const char *json_type_to_string(JsonType t) _pure_;

/* Parses one JSON document. Returns 0 and the tree in *ret; -EBADMSG with a message naming the byte offset
 * or the member path in *ret_error when the text is not valid JSON or breaks a limit; -ENOMEM. */
int json_parse(const char *data, size_t size, const JsonLimits *limits, JsonValue **ret, char **ret_error);

JsonValue *json_value_free(JsonValue *v);
static inline void json_value_freep(JsonValue **v) {
        json_value_free(*v);
}

/* Returns the member called key, or NULL. */
const JsonValue *json_object_get(const JsonValue *v, const char *key) _pure_;

/* Where the member at path ("mapping.executable.format", "targets[1].machines[0]", as descriptor problems name
 * them) starts in data: its key for an object member, its value for an array item. Lines and columns count
 * from 1 (columns in bytes). Returns 0, -ENOENT when there is no such member before the text ends or breaks,
 * or -ENOMEM. */
int json_locate(const char *data, size_t size, const char *path, unsigned *ret_line, unsigned *ret_column);
