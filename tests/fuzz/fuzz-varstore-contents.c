/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The varstore reader on arbitrary files: read whole, read as the head of a larger file that was not read to its
 * end, and compared with itself (no drift) and with an empty template. Stores, signature lists, certificates,
 * load options and device paths are all reached from here. */

#include "fuzz-efi.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(varstore_report_freep) VarstoreReport *r = NULL, *s = NULL, *empty = NULL;

        if (size > FUZZ_INPUT_MAX)
                return 0;
        assert(varstore_report_parse(data, size, size, FUZZ_NOW, &r) == 0);
        fuzz_check_report(r, size);
        assert(varstore_report_compare(r, r) == 0);
        assert(!r->template_drift && r->dbx_drift == 0);
        fuzz_check_report(r, size);
        assert(varstore_report_parse(data, size, (uint64_t) size + (UINT64_C(1) << 20), FUZZ_NOW, &s) == 0);
        fuzz_check_report(s, size);
        assert(varstore_report_parse(NULL, 0, 0, FUZZ_NOW, &empty) == 0);
        assert(varstore_report_compare(empty, r) == 0);
        assert(empty->dbx_drift <= r->n_dbx);
        assert(varstore_report_compare(r, empty) == 0);
        assert(!r->template_drift && r->dbx_drift == 0);
        return 0;
}
