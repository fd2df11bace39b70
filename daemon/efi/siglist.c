/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "cursor.h"
#include "siglist.h"

#define SIGNATURE_LIST_HEADER 28U       /* SignatureType, ListSize u32, HeaderSize u32, SignatureSize u32 */
#define SHA256_SIGNATURE_SIZE 48U       /* owner GUID and 32 bytes */

typedef struct Entries {
        EfiSignature *items;
        size_t n, allocated;
} Entries;

static void entries_done(Entries *e) {
        free(e->items);
}

static int entries_add(Entries *e, const EfiSignature *s) {
        if (e->n == e->allocated) {
                size_t k = e->allocated ? e->allocated * 2 : 16;
                EfiSignature *t = reallocarray(e->items, k, sizeof(EfiSignature));

                if (!t)
                        return -ENOMEM;
                e->items = t;
                e->allocated = k;
        }
        e->items[e->n++] = *s;
        return 0;
}

/* The entries of one list, whose body (after its header) is c. Returns 0, or -ENOMEM. */
static int read_entries(Cursor c, const EfiGuid *type, uint32_t signature_size, const char *what,
                        EfiProblems *problems, Entries *e) {
        int r;

        if (c.left % signature_size != 0)
                efi_problems_add(problems, "%s: offset 0x%zx: signature list of %zu bytes of entries of %u bytes "
                                 "each, the last %zu bytes ignored", what, c.offset, c.left, signature_size,
                                 c.left % signature_size);
        while (c.left >= signature_size) {
                EfiSignature s = { .type = *type, .offset = c.offset, .size = signature_size - 16 };

                if (e->n >= EFI_SIGNATURES_MAX) {
                        efi_problems_add(problems, "%s: offset 0x%zx: more than %u signatures, the rest not read",
                                         what, c.offset, EFI_SIGNATURES_MAX);
                        return 0;
                }
                (void) cursor_copy(&c, s.owner.bytes, 16);
                (void) cursor_take(&c, s.size, &s.data);
                r = entries_add(e, &s);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* One list at the cursor. Returns 1 to go on, 0 to stop (with a problem), or -ENOMEM. */
static int read_list(Cursor *c, const char *what, EfiProblems *problems, Entries *e) {
        size_t at = c->offset;
        uint32_t list_size, header_size, signature_size;
        EfiGuid type;
        Cursor list, body;
        int r;

        if (!cursor_sub(c, c->left < SIGNATURE_LIST_HEADER ? c->left : SIGNATURE_LIST_HEADER, &list) ||
            !cursor_copy(&list, type.bytes, 16) || !cursor_u32(&list, &list_size) ||
            !cursor_u32(&list, &header_size) || !cursor_u32(&list, &signature_size)) {
                efi_problems_add(problems, "%s: offset 0x%zx: signature list header cut short", what, at);
                return 0;
        }
        /* the list covers its own header, which is already read */
        if (list_size < SIGNATURE_LIST_HEADER || list_size - SIGNATURE_LIST_HEADER > c->left ||
            header_size > list_size - SIGNATURE_LIST_HEADER) {
                efi_problems_add(problems, "%s: offset 0x%zx: signature list of %u bytes with a header of %u does "
                                 "not fit the %zu bytes left", what, at, list_size, header_size,
                                 c->left + SIGNATURE_LIST_HEADER);
                return 0;
        }
        (void) cursor_sub(c, list_size - SIGNATURE_LIST_HEADER, &body);
        (void) cursor_skip(&body, header_size);
        if (signature_size <= 16 ||
            (efi_guid_equal(&type, &efi_guid_cert_sha256) && signature_size != SHA256_SIGNATURE_SIZE)) {
                efi_problems_add(problems, "%s: offset 0x%zx: signatures of %u bytes cannot be ones of this "
                                 "list's type, list skipped", what, at, signature_size);
                return 1;
        }
        r = read_entries(body, &type, signature_size, what, problems, e);
        return r < 0 ? r : 1;
}

int efi_signature_lists_parse(const uint8_t *data, size_t n, const char *what, EfiProblems *problems,
                              EfiSignature **ret, size_t *ret_n) {
        _cleanup_(entries_done) Entries e = {};
        Cursor c = cursor_make(data, n, 0);
        int r;

        while (c.left > 0) {
                r = read_list(&c, what, problems, &e);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
        }
        *ret = TAKE_PTR(e.items);
        *ret_n = e.n;
        return 0;
}
