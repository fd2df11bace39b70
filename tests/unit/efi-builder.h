/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Builds UEFI data byte by byte for the tests: edk2 volumes with authenticated or plain variable stores, variable
 * headers in any state with any sizes, signature lists whose sizes may lie, load options and device path nodes.
 * Only for the tests; nothing here checks what it writes. */

#include "efi/guid.h"
#include "tests.h"

typedef struct Bytes {
        uint8_t *p;
        size_t n, allocated;
} Bytes;

static inline void bytes_done(Bytes *b) {
        free(b->p);
        *b = (Bytes) {};
}

static inline void put(Bytes *b, const void *p, size_t n) {
        if (b->n + n > b->allocated) {
                b->allocated = (b->n + n) * 2;
                b->p = realloc(b->p, b->allocated);
                CHECK(b->p);
        }
        if (n > 0)
                memcpy(b->p + b->n, p, n);
        b->n += n;
}

static inline void put_u8(Bytes *b, uint8_t v) {
        put(b, &v, 1);
}

static inline void put_u16(Bytes *b, uint16_t v) {
        uint8_t x[2] = { (uint8_t) v, (uint8_t) (v >> 8) };
        put(b, x, 2);
}

static inline void put_u32(Bytes *b, uint32_t v) {
        put_u16(b, (uint16_t) v);
        put_u16(b, (uint16_t) (v >> 16));
}

static inline void put_u64(Bytes *b, uint64_t v) {
        put_u32(b, (uint32_t) v);
        put_u32(b, (uint32_t) (v >> 32));
}

static inline void put_fill(Bytes *b, uint8_t v, size_t n) {
        for (size_t i = 0; i < n; i++)
                put_u8(b, v);
}

/* ASCII as NUL-terminated UTF-16LE. */
static inline void put_utf16(Bytes *b, const char *s) {
        for (; *s; s++)
                put_u16(b, (uint8_t) *s);
        put_u16(b, 0);
}

static inline EfiGuid guid(const char *s) {
        EfiGuid g;
        CHECK(efi_guid_from_string(s, &g) == 0);
        return g;
}

/* A variable header, its name bytes and data, padded with 0xff to 4 bytes as edk2 leaves it. name_size and
 * data_size are written as given, whatever the bytes that follow. */
static inline void put_variable_raw(Bytes *b, bool authenticated, uint8_t state, const EfiGuid *g,
                                    uint32_t name_size, uint32_t data_size, const void *name, size_t name_n,
                                    const void *data, size_t data_n) {
        put_u16(b, 0x55aa);
        put_u8(b, state);
        put_u8(b, 0);
        put_u32(b, 0x27);
        if (authenticated) {
                put_u64(b, 0);
                put_fill(b, 0, 16);
                put_u32(b, 0);
        }
        put_u32(b, name_size);
        put_u32(b, data_size);
        put(b, g->bytes, 16);
        put(b, name, name_n);
        put(b, data, data_n);
        while (b->n % 4 != 0)
                put_u8(b, 0xff);
}

static inline void put_variable(Bytes *b, bool authenticated, uint8_t state, const char *name, const EfiGuid *g,
                                const void *data, size_t n) {
        Bytes nm = {};

        put_utf16(&nm, name);
        put_variable_raw(b, authenticated, state, g, (uint32_t) nm.n, (uint32_t) n, nm.p, nm.n, data, n);
        bytes_done(&nm);
}

/* An edk2 volume of volume bytes (header 0x48, then the store header and the variables, then 0xff), in a file of
 * file bytes (the rest 0xff too). store_size 0 means "to the end of the volume". */
static inline void make_volume(Bytes *out, bool authenticated, size_t volume, size_t file, uint32_t store_size,
                               const Bytes *variables) {
        static const char nv[] = "fff12b8d-7696-4c8b-a985-2747075b4f50";
        EfiGuid g = guid(nv);

        *out = (Bytes) {};
        put_fill(out, 0, 16);
        put(out, g.bytes, 16);
        put_u64(out, volume);
        put(out, "_FVH", 4);
        put_u32(out, 0xfeff);           /* attributes */
        put_u16(out, 0x48);             /* header length */
        put_u16(out, 0);                /* checksum: nobody reads it */
        put_fill(out, 0, 0x48 - out->n);
        g = guid(authenticated ? "aaf32c78-947b-439a-a180-2e144ec37792" : "ddcf3616-3275-4164-98b6-fe85707ffe7d");
        put(out, g.bytes, 16);
        put_u32(out, store_size ?: (uint32_t) (volume - 0x48));
        put_u8(out, 0x5a);
        put_u8(out, 0xfe);
        put_fill(out, 0, 6);
        if (variables)
                put(out, variables->p, variables->n);
        CHECK(out->n <= file);
        put_fill(out, 0xff, file - out->n);
}

/* One EFI_SIGNATURE_LIST with sizes as given and n entries of the same data. */
static inline void put_signature_list(Bytes *b, const EfiGuid *type, uint32_t list_size, uint32_t header_size,
                                      uint32_t signature_size, const EfiGuid *owner, const void *data, size_t n_data,
                                      size_t n) {
        put(b, type->bytes, 16);
        put_u32(b, list_size);
        put_u32(b, header_size);
        put_u32(b, signature_size);
        put_fill(b, 0, header_size);
        for (size_t i = 0; i < n; i++) {
                put(b, owner->bytes, 16);
                put(b, data, n_data);
        }
}

/* A device path node. */
static inline void put_node(Bytes *b, uint8_t type, uint8_t subtype, const void *body, size_t n) {
        put_u8(b, type);
        put_u8(b, subtype);
        put_u16(b, (uint16_t) (n + 4));
        put(b, body, n);
}

static inline void put_end(Bytes *b) {
        put_node(b, 0x7f, 0xff, NULL, 0);
}
