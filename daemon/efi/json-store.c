/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* QEMU's uefi-vars JSON store (qapi/uefi.json: UefiVarStore), read through the bounded JSON reader into the
 * same variable list as an edk2 store. */

#include <inttypes.h>
#include <stdio.h>

#include "util/json.h"
#include "variables.h"

#define JSON_STORE_VERSION "2"

static const JsonLimits json_store_limits = {
        .max_depth = 4,                                 /* store, list, variable, and one more to name */
        .max_elements = EFI_VARIABLES_MAX,
        .max_string = 2 * EFI_JSON_DATA_MAX,            /* hex: two characters a byte */
        .max_values = 16 * EFI_VARIABLES_MAX,
};

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes hex text into at most max bytes at out. Returns the number of bytes, or -EINVAL. */
static ssize_t hex_decode(const char *s, uint8_t *out, size_t max) {
        size_t len = strlen(s);

        if (len % 2 != 0 || len / 2 > max)
                return -EINVAL;
        for (size_t i = 0; i < len / 2; i++) {
                int hi = unhex(s[2 * i]), lo = unhex(s[2 * i + 1]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[i] = (uint8_t) (hi << 4 | lo);
        }
        return (ssize_t) (len / 2);
}

static const char *member_string(const JsonValue *o, const char *key) {
        const JsonValue *v = json_object_get(o, key);

        return v && v->type == JSON_STRING ? v->string : NULL;
}

/* A JSON number that is a whole number from 0 to max, in decimal. */
static bool parse_uint(const JsonValue *v, uint64_t max, uint64_t *ret) {
        uint64_t x = 0;

        if (!v || v->type != JSON_NUMBER || !v->string[0])
                return false;
        for (const char *p = v->string; *p; p++) {
                if (*p < '0' || *p > '9' || x > (max - (uint64_t) (*p - '0')) / 10)
                        return false;
                x = x * 10 + (uint64_t) (*p - '0');
        }
        *ret = x;
        return true;
}

/* A name an edk2 store could hold too: text, and at most EFI_VARIABLE_NAME_MAX bytes in UTF-16 with its NUL,
 * so that a store moves between the two formats without losing a variable. */
static bool name_is_text(const char *s) {
        size_t n = strlen(s), utf16 = 2;

        if (n == 0 || n > EFI_VARIABLE_NAME_MAX || !utf8_is_valid_n(s, n))
                return false;
        for (size_t i = 0; i < n; i++) {
                uint8_t c = (uint8_t) s[i];

                if (c < 0x20 || c == 0x7f)
                        return false;
                if ((c & 0xc0) != 0x80)                 /* a character starts: a surrogate pair from 4 bytes */
                        utf16 += c >= 0xf0 ? 4 : 2;
        }
        return utf16 <= EFI_VARIABLE_NAME_MAX;
}

/* Reads the data, time and digest members into v. Returns 0, -EINVAL naming the member in *ret_member, or
 * -ENOMEM. */
static int parse_bytes(const JsonValue *o, EfiVariable *v, const char **ret_member) {
        const char *data = member_string(o, "data"), *time = member_string(o, "time"),
                   *digest = member_string(o, "digest");
        ssize_t k;

        *ret_member = "data";
        if (!data || strlen(data) / 2 > EFI_JSON_DATA_MAX)
                return -EINVAL;
        if (strlen(data) > 0) {
                v->data = malloc(strlen(data) / 2);
                if (!v->data)
                        return -ENOMEM;
        }
        k = hex_decode(data, v->data, EFI_JSON_DATA_MAX);
        if (k < 0)
                return -EINVAL;
        v->size = (size_t) k;
        *ret_member = "time";
        if (json_object_get(o, "time") && (!time || hex_decode(time, v->timestamp, sizeof(v->timestamp)) !=
                                                            (ssize_t) sizeof(v->timestamp)))
                return -EINVAL;
        *ret_member = "digest";
        if (json_object_get(o, "digest")) {
                k = digest ? hex_decode(digest, v->digest, sizeof(v->digest)) : -EINVAL;
                if (k < 0)
                        return -EINVAL;
                v->digest_size = (size_t) k;
        }
        return 0;
}

/* One item of "variables". Returns 1 when kept, 0 when left out (with a problem), or -ENOMEM. */
static int parse_variable(const JsonValue *o, size_t index, EfiProblems *problems, EfiVariable *ret) {
        _cleanup_(efi_variable_done) EfiVariable v = { .offset = index, .state = EFI_VARIABLE_ADDED };
        const char *name, *member = NULL;
        uint64_t attr;
        int r;

        if (o->type != JSON_OBJECT) {
                efi_problems_add(problems, "variables[%zu]: not an object, skipped", index);
                return 0;
        }
        name = member_string(o, "name");
        if (!name || !name_is_text(name))
                member = "name";
        else if (efi_guid_from_string(member_string(o, "guid"), &v.guid) < 0)
                member = "guid";
        else if (!parse_uint(json_object_get(o, "attr"), UINT32_MAX, &attr))
                member = "attr";
        else {
                r = parse_bytes(o, &v, &member);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0)
                        member = NULL;
        }
        if (member) {
                efi_problems_add(problems, "variables[%zu].%s: missing or not valid, variable skipped", index, member);
                return 0;
        }
        v.attributes = (uint32_t) attr;
        v.name = strdup(name);
        if (!v.name)
                return -ENOMEM;
        *ret = v;
        v = (EfiVariable) {};
        return 1;
}

/* The store object: version 2 and a list of variables. Returns the list, or NULL with a problem. */
static const JsonValue *store_variables(const JsonValue *root, EfiProblems *problems) {
        const JsonValue *version, *variables;

        if (root->type != JSON_OBJECT) {
                efi_problems_add(problems, "JSON store: not an object");
                return NULL;
        }
        version = json_object_get(root, "version");
        if (!version || version->type != JSON_NUMBER || !streq(version->string, JSON_STORE_VERSION)) {
                efi_problems_add(problems, "JSON store: version missing or not %s", JSON_STORE_VERSION);
                return NULL;
        }
        variables = json_object_get(root, "variables");
        if (!variables || variables->type != JSON_ARRAY) {
                efi_problems_add(problems, "JSON store: variables missing or not a list");
                return NULL;
        }
        return variables;
}

static int read_variables(const JsonValue *list, EfiVariableList *l, EfiProblems *problems) {
        int r;

        if (list->array.n == 0)
                return 0;
        l->variables = calloc(list->array.n, sizeof(EfiVariable));
        if (!l->variables)
                return -ENOMEM;
        for (size_t i = 0; i < list->array.n; i++) {
                r = parse_variable(list->array.items[i], i, problems, &l->variables[l->n]);
                if (r < 0)
                        return r;
                l->n += r;
        }
        return efi_variables_resolve_live(l->variables, &l->n, problems);
}

int efi_variables_parse_json(const char *text, size_t n, EfiVariableList **ret) {
        _cleanup_(efi_variable_list_freep) EfiVariableList *l = NULL;
        _cleanup_(efi_problems_done) EfiProblems problems = {};
        _cleanup_(json_value_freep) JsonValue *root = NULL;
        _cleanup_(freep) char *error = NULL;
        const JsonValue *list;
        int r;

        l = calloc(1, sizeof(EfiVariableList));
        if (!l)
                return -ENOMEM;
        l->format = VARSTORE_JSON;
        if (n > EFI_JSON_STORE_MAX)
                efi_problems_add(&problems, "JSON store of %zu bytes, more than the %u read", n, EFI_JSON_STORE_MAX);
        else {
                r = json_parse(text, n, &json_store_limits, &root, &error);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        efi_problems_add(&problems, "JSON store: %s", strna(error));
        }
        list = root ? store_variables(root, &problems) : NULL;
        if (list) {
                r = read_variables(list, l, &problems);
                if (r < 0)
                        return r;
        }
        r = efi_problems_steal(&problems, &l->problems);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}
