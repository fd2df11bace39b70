/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A forward cursor over a bounded buffer, for the binary formats of UEFI data (variable stores, signature
 * lists, load options, device paths): every read checks what is left first, fails instead of reading past
 * the end, and a failed read leaves the cursor where it was. It only moves forward; it never allocates. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct Cursor {
        const uint8_t *p;       /* the next byte */
        size_t left;            /* bytes from p to the end */
        size_t offset;          /* of p, counted from where the caller says the buffer starts: for problems */
} Cursor;

/* A cursor over n bytes at p, whose first byte lies at offset in whatever the caller reports against. */
static inline Cursor cursor_make(const void *p, size_t n, size_t offset) {
        return (Cursor) { .p = p, .left = p ? n : 0, .offset = offset };
}

/* Hands out the next n bytes and moves past them. Returns false, and moves nowhere, when fewer are left. */
static inline bool cursor_take(Cursor *c, size_t n, const uint8_t **ret) {
        if (n > c->left)
                return false;
        if (ret)
                *ret = c->p;
        c->p += n;
        c->left -= n;
        c->offset += n;
        return true;
}

static inline bool cursor_skip(Cursor *c, size_t n) {
        return cursor_take(c, n, NULL);
}

/* Moves the next n bytes into a cursor of their own. Returns false, and moves nowhere, when fewer are left. */
static inline bool cursor_sub(Cursor *c, size_t n, Cursor *ret) {
        Cursor sub = { .p = c->p, .left = n, .offset = c->offset };

        if (!cursor_skip(c, n))
                return false;
        *ret = sub;
        return true;
}

/* Moves on to the next offset that is a multiple of align (a power of two), or to the end when that lies
 * past it. Returns whether the aligned offset was inside the buffer. */
static inline bool cursor_align(Cursor *c, size_t align) {
        size_t pad = (align - (c->offset & (align - 1))) & (align - 1);

        if (cursor_skip(c, pad))
                return true;
        cursor_skip(c, c->left);
        return false;
}

/* Little-endian integers. Each returns false, and moves nowhere, when the bytes are not there. */
static inline bool cursor_u8(Cursor *c, uint8_t *ret) {
        const uint8_t *p;

        if (!cursor_take(c, 1, &p))
                return false;
        *ret = p[0];
        return true;
}

static inline bool cursor_u16(Cursor *c, uint16_t *ret) {
        const uint8_t *p;

        if (!cursor_take(c, 2, &p))
                return false;
        *ret = (uint16_t) (p[0] | p[1] << 8);
        return true;
}

static inline bool cursor_u32(Cursor *c, uint32_t *ret) {
        const uint8_t *p;

        if (!cursor_take(c, 4, &p))
                return false;
        *ret = (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
        return true;
}

static inline bool cursor_u64(Cursor *c, uint64_t *ret) {
        uint32_t lo, hi;
        Cursor saved = *c;

        if (!cursor_u32(c, &lo) || !cursor_u32(c, &hi)) {
                *c = saved;
                return false;
        }
        *ret = (uint64_t) hi << 32 | lo;
        return true;
}

/* Copies the next n bytes out. Returns false, and moves nowhere, when fewer are left. */
static inline bool cursor_copy(Cursor *c, void *buf, size_t n) {
        const uint8_t *p;

        if (!cursor_take(c, n, &p))
                return false;
        memcpy(buf, p, n);
        return true;
}
