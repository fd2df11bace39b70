/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The store writer and the conversion on any store the reader reads whole: edk2 and JSON stores alike are
 * written as JSON and into an empty edk2 template, converted onto that template with each choice of keys, and
 * every result must read back without a problem holding the variables that were put in. The template is a
 * 32 KiB volume, as are the seeds (real stores moved into that layout by fwregistryctl nvram migrate): the
 * writer does not care about the size, and small inputs make a million runs affordable. */

#undef NDEBUG
#include <assert.h>

#include "efi/convert.h"
#include "fuzz.h"

#define TEMPLATE_SIZE 32768U
#define VOLUME_SIZE 0x8000U
#define STORE_SIZE 0x6000U

/* An empty authenticated store: volume header, store header, erased flash. */
static const uint8_t *empty_template(void) {
        static uint8_t t[TEMPLATE_SIZE];
        static const uint8_t nv[16] = { 0x8d, 0x2b, 0xf1, 0xff, 0x96, 0x76, 0x8b, 0x4c,
                                        0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50 };
        static const uint8_t auth[16] = { 0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43,
                                          0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92 };

        if (t[40] == '_')
                return t;
        memset(t, 0xff, sizeof(t));
        memset(t, 0, 0x48);
        memcpy(t + 16, nv, 16);
        for (int i = 0; i < 8; i++)
                t[32 + i] = (uint8_t) ((uint64_t) VOLUME_SIZE >> (8 * i));
        memcpy(t + 40, "_FVH", 4);
        t[48] = 0x48;
        memcpy(t + 0x48, auth, 16);
        for (int i = 0; i < 4; i++)
                t[0x48 + 16 + i] = (uint8_t) ((uint32_t) STORE_SIZE >> (8 * i));
        t[0x48 + 20] = 0x5a;
        t[0x48 + 21] = 0xfe;
        memset(t + 0x48 + 22, 0, 6);
        return t;
}

static EfiVariableList *read_store(const uint8_t *data, size_t size) {
        EfiVariableList *l = NULL;
        Varstore layout = varstore_parse(data, size < VARSTORE_HEAD_MAX ? size : VARSTORE_HEAD_MAX, size);

        if (layout.format == VARSTORE_JSON)
                assert(efi_variables_parse_json((const char *) data, size, &l) == 0);
        else if (varstore_is_edk2(&layout))
                assert(efi_variables_parse_edk2(data, size, size, &l) == 0);
        return l;
}

/* Every variable of a, with the same attributes and data, is in b. */
static void check_contains(const EfiVariableList *a, const EfiVariableList *b) {
        for (size_t i = 0; i < a->n; i++) {
                const EfiVariable *x = &a->variables[i];
                const EfiVariable *y = efi_variable_list_find(b, x->name, &x->guid);

                assert(y && x->attributes == y->attributes && x->size == y->size);
                assert(x->size == 0 || memcmp(x->data, y->data, x->size) == 0);
        }
}

static void check_written(const EfiVariableList *source) {
        _cleanup_(freep) char *json = NULL;
        _cleanup_(freep) uint8_t *edk2 = NULL;
        _cleanup_(efi_variable_list_freep) EfiVariableList *back = NULL, *back2 = NULL;
        EfiStoreSpace space;
        size_t n;
        int r;

        assert(efi_store_write_json(source->variables, source->n, &json, &n) == 0);
        assert(efi_variables_parse_json(json, n, &back) == 0);
        assert(!back->problems && back->n == source->n);
        check_contains(source, back);

        r = efi_store_write_edk2(empty_template(), TEMPLATE_SIZE, source->variables, source->n, &edk2, &space);
        assert(r == 0 || (r == -ENOSPC && space.needed > space.available));
        if (r == 0) {
                assert(efi_variables_parse_edk2(edk2, TEMPLATE_SIZE, TEMPLATE_SIZE, &back2) == 0);
                assert(!back2->problems && back2->n == source->n);
                check_contains(source, back2);
                assert(memcmp(edk2, empty_template(), 0x48 + 28) == 0);
        }
}

static void check_converted(const EfiVariableList *source, ConvertKeys keys) {
        _cleanup_(convert_result_freep) ConvertResult *result = NULL;
        _cleanup_(efi_variable_list_freep) EfiVariableList *back = NULL;
        _cleanup_(freep) char *error = NULL;
        EfiStoreSpace space = {};
        int r;

        r = varstore_convert(source, empty_template(), TEMPLATE_SIZE, keys, &result, &space, &error);
        assert(r == 0 || r == -ENOSPC || r == -E2BIG);
        if (r < 0)
                return;
        assert(result->size == TEMPLATE_SIZE && result->bytes_used + result->bytes_free == STORE_SIZE);
        assert(efi_variables_parse_edk2(result->data, result->size, result->size, &back) == 0);
        assert(!back->problems && back->n == result->variables->n);
        check_contains(result->variables, back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(efi_variable_list_freep) EfiVariableList *source = NULL;

        if (size > FUZZ_INPUT_MAX)
                return 0;
        source = read_store(data, size);
        /* only a store read whole is converted: one with problems is refused before any writing */
        if (!source || source->problems)
                return 0;
        check_written(source);
        for (ConvertKeys k = 0; k < _CONVERT_KEYS_MAX; k++)
                check_converted(source, k);
        return 0;
}
