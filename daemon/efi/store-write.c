/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The variable store of an edk2 volume is written as edk2 itself leaves a store after a reclaim: the live
 * variables one after another from the first 4-byte boundary after the store header, each with the state
 * "added", and erased flash (0xff) after the last. The volume header, the store header and whatever follows the
 * store (the fault-tolerant-write areas) are the template's, byte for byte. */

#include <inttypes.h>
#include <stdio.h>

#include "store-write.h"

#define VARIABLE_START_ID 0x55aaU
#define VARIABLE_ALIGNMENT 4U
#define STORE_HEADER_SIZE 28U           /* GUID, Size, Format, State, and six reserved bytes */
#define ERASED 0xffU

static uint64_t align4(uint64_t x) {
        return (x + VARIABLE_ALIGNMENT - 1) & ~(uint64_t) (VARIABLE_ALIGNMENT - 1);
}

/* Decodes one code point of UTF-8 at *s, moving past it. Returns it, or -1 for anything that is not UTF-8 of
 * a scalar value (overlong forms and surrogates included). */
static int32_t utf8_next(const char **s) {
        const uint8_t *p = (const uint8_t *) *s;
        uint32_t c;
        int len;

        if (p[0] < 0x80)
                c = p[0], len = 1;
        else if ((p[0] & 0xe0) == 0xc0)
                c = p[0] & 0x1f, len = 2;
        else if ((p[0] & 0xf0) == 0xe0)
                c = p[0] & 0x0f, len = 3;
        else if ((p[0] & 0xf8) == 0xf0)
                c = p[0] & 0x07, len = 4;
        else
                return -1;
        for (int i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return -1;
                c = c << 6 | (p[i] & 0x3f);
        }
        if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
            (c >= 0xd800 && c <= 0xdfff))
                return -1;
        *s += len;
        return (int32_t) c;
}

/* Encodes the UTF-8 name as UTF-16LE with its NUL into out (when not NULL). Returns the bytes it takes, or 0
 * when it is not text or takes more than EFI_VARIABLE_NAME_MAX bytes. */
static size_t name_to_utf16(const char *name, uint8_t *out) {
        size_t n = 0;

        for (const char *s = name; *s;) {
                int32_t c = utf8_next(&s);
                uint16_t units[2];
                int k = 1;

                if (c < 0)
                        return 0;
                if (c >= 0x10000) {
                        units[0] = (uint16_t) (0xd800 + ((c - 0x10000) >> 10));
                        units[1] = (uint16_t) (0xdc00 + ((c - 0x10000) & 0x3ff));
                        k = 2;
                } else
                        units[0] = (uint16_t) c;
                for (int i = 0; i < k; i++, n += 2) {
                        if (n + 4 > EFI_VARIABLE_NAME_MAX)
                                return 0;
                        if (out) {
                                out[n] = (uint8_t) units[i];
                                out[n + 1] = (uint8_t) (units[i] >> 8);
                        }
                }
        }
        if (out)
                out[n] = out[n + 1] = 0;
        return n + 2;
}

uint64_t efi_store_variable_size(const EfiVariable *v, bool authenticated) {
        size_t name = name_to_utf16(v->name, NULL);

        if (name == 0)
                return 0;
        return align4((authenticated ? EFI_AUTH_VARIABLE_HEADER_SIZE : EFI_VARIABLE_HEADER_SIZE) + name +
                      (uint64_t) v->size);
}

static void put16(uint8_t *p, uint16_t x) {
        p[0] = (uint8_t) x;
        p[1] = (uint8_t) (x >> 8);
}

static void put32(uint8_t *p, uint32_t x) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (x >> (8 * i));
}

static void put64(uint8_t *p, uint64_t x) {
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t) (x >> (8 * i));
}

/* Lays out one variable at p, which has room for efi_store_variable_size() bytes. Returns the bytes used. */
static size_t put_variable(uint8_t *p, const EfiVariable *v, bool authenticated) {
        size_t h = authenticated ? EFI_AUTH_VARIABLE_HEADER_SIZE : EFI_VARIABLE_HEADER_SIZE;
        size_t name = name_to_utf16(v->name, NULL);
        uint8_t *q = p;

        put16(q, VARIABLE_START_ID);
        q[2] = EFI_VARIABLE_ADDED;
        q[3] = 0;
        put32(q + 4, v->attributes);
        q += 8;
        if (authenticated) {
                put64(q, v->monotonic_count);
                memcpy(q + 8, v->timestamp, 16);
                put32(q + 24, v->pubkey_index);
                q += 28;
        }
        put32(q, (uint32_t) name);
        put32(q + 4, (uint32_t) v->size);
        memcpy(q + 8, v->guid.bytes, 16);
        name_to_utf16(v->name, p + h);
        if (v->size > 0)
                memcpy(p + h + name, v->data, v->size);
        return (size_t) align4(h + name + v->size);
}

int efi_store_write_edk2(const uint8_t *template, size_t template_size, const EfiVariable *v, size_t n,
                         uint8_t **ret, EfiStoreSpace *ret_space) {
        _cleanup_(efi_variable_list_freep) EfiVariableList *layout = NULL;
        _cleanup_(freep) uint8_t *out = NULL;
        EfiStoreSpace space = {};
        bool authenticated;
        uint64_t start, end, at;
        int r;

        r = efi_variables_parse_edk2(template, template_size, template_size, &layout);
        if (r < 0)
                return r;
        if ((layout->format != VARSTORE_EDK2_AUTHENTICATED && layout->format != VARSTORE_EDK2) ||
            layout->store_size < STORE_HEADER_SIZE || layout->store_offset + layout->store_size > template_size)
                return -EINVAL;
        authenticated = layout->format == VARSTORE_EDK2_AUTHENTICATED;
        start = align4(layout->store_offset + STORE_HEADER_SIZE);
        end = layout->store_offset + layout->store_size;

        space.available = layout->store_size;
        space.needed = start - layout->store_offset;
        for (size_t i = 0; i < n; i++) {
                uint64_t size = efi_store_variable_size(&v[i], authenticated);

                if (size == 0 || v[i].size > UINT32_MAX)
                        return -EINVAL;
                space.needed += size;
        }
        if (ret_space)
                *ret_space = space;
        if (space.needed > space.available)
                return -ENOSPC;

        out = malloc(template_size);
        if (!out)
                return -ENOMEM;
        memcpy(out, template, template_size);
        memset(out + start, ERASED, end - start);
        at = start;
        for (size_t i = 0; i < n; i++)
                at += put_variable(out + at, &v[i], authenticated);
        *ret = TAKE_PTR(out);
        return 0;
}

static void hex_append(StrBuf *b, const uint8_t *p, size_t n) {
        static const char digits[] = "0123456789abcdef";
        char pair[2];

        for (size_t i = 0; i < n; i++) {
                pair[0] = digits[p[i] >> 4];
                pair[1] = digits[p[i] & 0xf];
                strbuf_append(b, pair, 2);
        }
}

static bool is_zero(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i] != 0)
                        return false;
        return true;
}

/* A name as a JSON string: the reader allows text only, so escaping '"' and '\' and controls is all. */
static void json_string_append(StrBuf *b, const char *s) {
        strbuf_puts(b, "\"");
        for (; *s; s++) {
                char esc[8];

                if (*s == '"' || *s == '\\' || (uint8_t) *s < 0x20) {
                        snprintf(esc, sizeof(esc), "\\u%04x", (uint8_t) *s);
                        strbuf_puts(b, esc);
                } else
                        strbuf_append(b, s, 1);
        }
        strbuf_puts(b, "\"");
}

int efi_store_write_json(const EfiVariable *v, size_t n, char **ret, size_t *ret_size) {
        _cleanup_(strbuf_done) StrBuf b = {};
        char *text;

        strbuf_puts(&b, "{\n    \"version\": 2,\n    \"variables\": [");
        for (size_t i = 0; i < n; i++) {
                char guid[EFI_GUID_STRING_MAX], attr[16];

                if (name_to_utf16(v[i].name, NULL) == 0)
                        return -EINVAL;
                snprintf(attr, sizeof(attr), "%" PRIu32, v[i].attributes);
                strbuf_puts(&b, i > 0 ? ",\n        {\n" : "\n        {\n");
                strbuf_puts(&b, "            \"guid\": \"");
                strbuf_puts(&b, efi_guid_to_string(&v[i].guid, guid));
                strbuf_puts(&b, "\",\n            \"name\": ");
                json_string_append(&b, v[i].name);
                strbuf_puts(&b, ",\n            \"attr\": ");
                strbuf_puts(&b, attr);
                strbuf_puts(&b, ",\n            \"data\": \"");
                hex_append(&b, v[i].data, v[i].size);
                strbuf_puts(&b, "\"");
                if (!is_zero(v[i].timestamp, sizeof(v[i].timestamp))) {
                        strbuf_puts(&b, ",\n            \"time\": \"");
                        hex_append(&b, v[i].timestamp, sizeof(v[i].timestamp));
                        strbuf_puts(&b, "\"");
                }
                if (v[i].digest_size > 0) {
                        strbuf_puts(&b, ",\n            \"digest\": \"");
                        hex_append(&b, v[i].digest, v[i].digest_size);
                        strbuf_puts(&b, "\"");
                }
                strbuf_puts(&b, "\n        }");
        }
        strbuf_puts(&b, n > 0 ? "\n    ]\n}\n" : "]\n}\n");
        if (b.oom)
                return -ENOMEM;
        *ret_size = b.len;
        text = strbuf_steal(&b);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}
