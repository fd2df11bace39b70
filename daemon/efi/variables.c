/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>

#include "cursor.h"
#include "utf16.h"
#include "variables.h"

/* The variable store header after the volume header (edk2's VARIABLE_STORE_HEADER): GUID, Size u32, Format
 * u8, State u8 and six reserved bytes. */
#define STORE_HEADER_SIZE 28U
#define STORE_FORMATTED 0x5aU
#define STORE_HEALTHY 0xfeU
#define FVH_HEADER_LENGTH_OFFSET 48U
/* Variable headers: StartId u16, State u8, a reserved byte, Attributes u32, then for authenticated ones
 * MonotonicCount u64, TimeStamp (16 bytes), PubKeyIndex u32; then NameSize u32, DataSize u32, VendorGuid. */
#define VARIABLE_START_ID 0x55aaU
#define VARIABLE_HEADER_AUTHENTICATED 60U
#define VARIABLE_HEADER_PLAIN 32U
#define VARIABLE_ALIGNMENT 4U

void efi_variable_done(EfiVariable *v) {
        free(v->name);
        free(v->data);
        *v = (EfiVariable) {};
}

EfiVariableList *efi_variable_list_free(EfiVariableList *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n; i++)
                efi_variable_done(&l->variables[i]);
        free(l->variables);
        strv_free(l->problems);
        free(l);
        return NULL;
}

const EfiVariable *efi_variable_list_find(const EfiVariableList *l, const char *name, const EfiGuid *guid) {
        for (size_t i = 0; l && i < l->n; i++)
                if (efi_guid_equal(&l->variables[i].guid, guid) && streq(l->variables[i].name, name))
                        return &l->variables[i];
        return NULL;
}

static void *memdup(const void *p, size_t n) {
        void *q = malloc(n);

        return q ? memcpy(q, p, n) : NULL;
}

/* One variable header and what follows it, as read from the store. */
typedef struct RawVariable {
        uint64_t offset;
        uint8_t state;
        uint32_t attributes, name_size, data_size, pubkey_index;
        uint64_t monotonic_count;
        uint8_t timestamp[16];
        EfiGuid guid;
        const uint8_t *name, *data;
} RawVariable;

/* Reads one header and its name and data. Returns 1 when there was one, 0 at the end of the list, or -EBADMSG
 * (with a problem) when its sizes do not fit what is left of the store. */
static int read_variable(Cursor *c, bool authenticated, EfiProblems *problems, RawVariable *ret) {
        RawVariable v = { .offset = c->offset };
        Cursor h = *c;
        uint16_t start = 0;
        uint8_t reserved;

        if (!cursor_u16(&h, &start) || start != VARIABLE_START_ID)
                return 0;
        if (!cursor_u8(&h, &v.state) || !cursor_u8(&h, &reserved) || !cursor_u32(&h, &v.attributes) ||
            (authenticated && (!cursor_u64(&h, &v.monotonic_count) || !cursor_copy(&h, v.timestamp, 16) ||
                               !cursor_u32(&h, &v.pubkey_index))) ||
            !cursor_u32(&h, &v.name_size) || !cursor_u32(&h, &v.data_size) || !cursor_copy(&h, v.guid.bytes, 16)) {
                efi_problems_add(problems, "offset 0x%" PRIx64 ": variable header cut short by the end of the store",
                                 v.offset);
                return -EBADMSG;
        }
        if (!cursor_take(&h, v.name_size, &v.name) || !cursor_take(&h, v.data_size, &v.data)) {
                efi_problems_add(problems, "offset 0x%" PRIx64 ": variable of name size %" PRIu32 " and data size %"
                                 PRIu32 " runs past the end of the store", v.offset, v.name_size, v.data_size);
                return -EBADMSG;
        }
        *c = h;
        *ret = v;
        return 1;
}

/* Turns a raw variable into a kept one, when its name is one. Returns 1 when kept, 0 when skipped (with a
 * problem), or -ENOMEM. */
static int take_variable(const RawVariable *raw, EfiProblems *problems, EfiVariable *ret) {
        _cleanup_(efi_variable_done) EfiVariable v = {
                .guid = raw->guid,
                .attributes = raw->attributes,
                .size = raw->data_size,
                .monotonic_count = raw->monotonic_count,
                .pubkey_index = raw->pubkey_index,
                .offset = raw->offset,
                .state = raw->state,
        };
        size_t replaced;
        int r;

        if (raw->name_size > EFI_VARIABLE_NAME_MAX || !utf16le_is_terminated(raw->name, raw->name_size)) {
                efi_problems_add(problems, "offset 0x%" PRIx64 ": variable name of %" PRIu32 " bytes is not one "
                                 "NUL-terminated UTF-16 string of at most %u bytes, skipped",
                                 raw->offset, raw->name_size, EFI_VARIABLE_NAME_MAX);
                return 0;
        }
        r = utf16le_to_utf8(raw->name, raw->name_size, SIZE_MAX, &v.name, &replaced);
        if (r < 0)
                return r;
        if (replaced > 0)
                efi_problems_add(problems, "offset 0x%" PRIx64 ": variable name '%s' holds %zu characters that are "
                                 "not text (unpaired surrogates, controls), shown as U+FFFD", raw->offset, v.name,
                                 replaced);
        memcpy(v.timestamp, raw->timestamp, sizeof(v.timestamp));
        if (raw->data_size > 0) {
                v.data = memdup(raw->data, raw->data_size);
                if (!v.data)
                        return -ENOMEM;
        }
        *ret = v;
        v = (EfiVariable) {};
        return 1;
}

static int compare_index(const void *a, const void *b, void *userdata) {
        const EfiVariable *base = userdata;
        const EfiVariable *x = &base[*(const size_t *) a], *y = &base[*(const size_t *) b];
        int c = memcmp(x->guid.bytes, y->guid.bytes, sizeof(x->guid.bytes));

        if (c == 0)
                c = strcmp(x->name, y->name);
        if (c == 0)
                c = x->offset < y->offset ? -1 : x->offset > y->offset;
        return c;
}

/* Of the copies of one name and GUID, the one that counts: the last added one, or when there is none, the
 * last one being deleted (its successor was never written). Marks the others with state 0. */
static void pick_live(EfiVariable *v, const size_t *group, size_t n, EfiProblems *problems) {
        size_t winner = SIZE_MAX, added = 0;
        char guid[EFI_GUID_STRING_MAX];

        for (size_t k = 0; k < n; k++) {
                if (v[group[k]].state == EFI_VARIABLE_ADDED) {
                        added++;
                        winner = group[k];
                }
        }
        if (winner == SIZE_MAX)
                winner = group[n - 1];
        for (size_t k = 0; k < n; k++)
                if (group[k] != winner)
                        v[group[k]].state = 0;
        if (added > 1)
                efi_problems_add(problems, "variable '%s' (%s): %zu live copies, the last one at offset 0x%" PRIx64
                                 " read", v[winner].name, efi_guid_to_string(&v[winner].guid, guid), added,
                                 v[winner].offset);
}

int efi_variables_resolve_live(EfiVariable *v, size_t *n, EfiProblems *problems) {
        _cleanup_(freep) size_t *order = NULL;
        size_t k = 0;

        if (*n == 0)
                return 0;
        order = malloc(*n * sizeof(size_t));
        if (!order)
                return -ENOMEM;
        for (size_t i = 0; i < *n; i++)
                order[i] = i;
        qsort_r(order, *n, sizeof(size_t), compare_index, v);
        for (size_t a = 0, b; a < *n; a = b) {
                for (b = a + 1; b < *n && efi_guid_equal(&v[order[a]].guid, &v[order[b]].guid) &&
                                streq(v[order[a]].name, v[order[b]].name); b++)
                        ;
                pick_live(v, order + a, b - a, problems);
        }
        for (size_t i = 0; i < *n; i++) {
                if (v[i].state == 0)
                        efi_variable_done(&v[i]);
                else
                        v[k++] = v[i];
        }
        *n = k;
        return 0;
}

/* Finds the variable store in the volume at the head of data. Returns 0 and a cursor over the store's
 * variables, or -EBADMSG with a problem when there is no store to read. */
static int open_store(const uint8_t *data, size_t n, uint64_t file_size, EfiVariableList *l, EfiProblems *problems,
                     Cursor *ret) {
        Varstore layout = varstore_parse(data, n, file_size);
        uint32_t store_size;
        uint8_t format, state;
        uint16_t header_length;
        size_t volume;
        Cursor c;

        if (!varstore_is_edk2(&layout)) {
                efi_problems_add(problems, "no edk2 firmware volume with a variable store at the start of the file");
                return -EBADMSG;
        }
        l->format = layout.format;
        volume = layout.volume_size < n ? (size_t) layout.volume_size : n;
        if (layout.volume_size > n)
                efi_problems_add(problems, "volume of 0x%" PRIx64 " bytes, of which only 0x%zx were read",
                                 layout.volume_size, n);
        /* varstore_parse() saw the header length and the store GUID inside the volume */
        header_length = (uint16_t) (data[FVH_HEADER_LENGTH_OFFSET] | data[FVH_HEADER_LENGTH_OFFSET + 1] << 8);
        c = cursor_make(data + header_length, volume - header_length, header_length);
        if (!cursor_skip(&c, 16) || !cursor_u32(&c, &store_size) || !cursor_u8(&c, &format) ||
            !cursor_u8(&c, &state) || !cursor_skip(&c, STORE_HEADER_SIZE - 22)) {
                efi_problems_add(problems, "offset 0x%x: variable store header cut short by the end of the volume",
                                 header_length);
                return -EBADMSG;
        }
        if (format != STORE_FORMATTED) {
                efi_problems_add(problems, "offset 0x%x: variable store not formatted (format 0x%02x)",
                                 header_length, format);
                return -EBADMSG;
        }
        if (state != STORE_HEALTHY)
                efi_problems_add(problems, "offset 0x%x: variable store state 0x%02x, not healthy", header_length,
                                 state);
        if (store_size < STORE_HEADER_SIZE || store_size - STORE_HEADER_SIZE > c.left) {
                efi_problems_add(problems, "offset 0x%x: variable store of 0x%" PRIx32 " bytes does not fit the "
                                 "volume, read up to the volume's end", header_length, store_size);
                store_size = (uint32_t) (c.left + STORE_HEADER_SIZE);
        }
        c.left = store_size - STORE_HEADER_SIZE;
        l->store_offset = header_length;
        l->store_size = store_size;
        *ret = c;
        return 0;
}

/* Walks the headers of the store, keeping the copies that may be live. Returns 0 or -ENOMEM. */
static int walk_store(Cursor c, bool authenticated, EfiVariableList *l, EfiProblems *problems) {
        size_t allocated = 0;
        int r;

        for (;;) {
                RawVariable raw;
                EfiVariable *v;

                if (!cursor_align(&c, VARIABLE_ALIGNMENT))
                        break;
                r = read_variable(&c, authenticated, problems, &raw);
                if (r <= 0)
                        break;
                l->store_used = c.offset - l->store_offset;
                if (raw.state != EFI_VARIABLE_ADDED && raw.state != EFI_VARIABLE_IN_DELETED_TRANSITION)
                        continue;
                if (l->n >= EFI_VARIABLES_MAX) {
                        efi_problems_add(problems, "offset 0x%" PRIx64 ": more than %u variables, the rest not "
                                         "read", raw.offset, EFI_VARIABLES_MAX);
                        return 0;
                }
                if (l->n == allocated) {
                        allocated = allocated ? allocated * 2 : 64;
                        v = reallocarray(l->variables, allocated, sizeof(EfiVariable));
                        if (!v)
                                return -ENOMEM;
                        l->variables = v;
                }
                r = take_variable(&raw, problems, &l->variables[l->n]);
                if (r < 0)
                        return r;
                l->n += r;
        }
        return 0;
}

int efi_variables_parse_edk2(const uint8_t *data, size_t n, uint64_t file_size, EfiVariableList **ret) {
        _cleanup_(efi_variable_list_freep) EfiVariableList *l = NULL;
        _cleanup_(efi_problems_done) EfiProblems problems = {};
        Cursor store;
        int r;

        l = calloc(1, sizeof(EfiVariableList));
        if (!l)
                return -ENOMEM;
        l->format = VARSTORE_UNKNOWN;
        r = open_store(data, n, file_size, l, &problems, &store);
        if (r >= 0) {
                r = walk_store(store, l->format == VARSTORE_EDK2_AUTHENTICATED, l, &problems);
                if (r < 0)
                        return r;
                r = efi_variables_resolve_live(l->variables, &l->n, &problems);
                if (r < 0)
                        return r;
        }
        r = efi_problems_steal(&problems, &l->problems);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}
