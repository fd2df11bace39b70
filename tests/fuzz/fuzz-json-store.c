/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* QEMU's uefi-vars JSON store: the variable list alone, and the report built from it. */

#include "fuzz-efi.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(efi_variable_list_freep) EfiVariableList *l = NULL;
        _cleanup_(varstore_report_freep) VarstoreReport *r = NULL;

        if (size > FUZZ_INPUT_MAX)
                return 0;
        assert(efi_variables_parse_json((const char *) data, size, &l) == 0);
        assert(l->format == VARSTORE_JSON && l->n <= EFI_VARIABLES_MAX);
        for (size_t i = 0; i < l->n; i++) {
                assert(utf8_is_valid(l->variables[i].name) && l->variables[i].size <= size / 2);
                assert(l->variables[i].digest_size <= sizeof(l->variables[i].digest));
        }
        fuzz_check_strv(l->problems, EFI_PROBLEMS_MAX + 1);
        assert(varstore_report_parse(data, size, size, FUZZ_NOW, &r) == 0);
        fuzz_check_report(r, size);
        return 0;
}
