/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every varstore report must be, whatever the bytes it was read from: within its bounds, and text that
 * D-Bus accepts in every string. Only for the fuzz targets of daemon/efi. */

#undef NDEBUG
#include <assert.h>

#include "efi/device-path.h"
#include "efi/varstore-report.h"

/* A fixed "now", so that a finding reproduces: 2026-11-29. */
#define FUZZ_NOW UINT64_C(1796000000)

static inline void fuzz_check_strv(char * const *l, size_t max) {
        size_t n = 0;

        STRV_FOREACH(s, l) {
                assert(utf8_is_valid(*s));
                n++;
        }
        assert(n <= max);
}

static inline void fuzz_check_report(const VarstoreReport *r, size_t input_size) {
        _cleanup_(strv_freep) char **ids = NULL;

        assert(r->secure_boot >= 0 && r->secure_boot < _SECURE_BOOT_STATE_MAX);
        assert(r->n_certificates <= VARSTORE_CERTIFICATES_MAX);
        assert(r->n_boot_entries <= VARSTORE_BOOT_ENTRIES_MAX && r->n_boot_order <= VARSTORE_BOOT_ORDER_MAX);
        for (size_t i = 0; i < r->n_certificates; i++) {
                const EfiCertificate *c = &r->certificates[i].certificate;

                assert(utf8_is_valid(c->subject) && utf8_is_valid(c->issuer) && utf8_is_valid(c->serial));
                assert(certificate_id_is_valid(c->id));
                if (r->certificates[i].database != EFI_DATABASE_DBX)
                        assert(varstore_report_has_certificate(r, c->id));
        }
        for (size_t i = 0; i < r->n_boot_entries; i++) {
                assert(utf8_is_valid(r->boot_entries[i].option.description));
                assert(utf8_is_valid(r->boot_entries[i].option.device_path));
                assert(strlen(r->boot_entries[i].option.device_path) < EFI_DEVICE_PATH_TEXT_MAX + 1024);
                assert(i == 0 || r->boot_entries[i - 1].number < r->boot_entries[i].number);
        }
        for (size_t i = 0; r->variables && i < r->variables->n; i++) {
                assert(utf8_is_valid(r->variables->variables[i].name));
                /* JSON's hex is two characters a byte; an edk2 variable lies inside the input */
                assert(r->variables->variables[i].size <= input_size);
        }
        assert(!r->variables || r->variables->n <= EFI_VARIABLES_MAX);
        fuzz_check_strv(r->problems, EFI_PROBLEMS_MAX + 1);
        fuzz_check_strv(r->warnings, SIZE_MAX);
        assert(!r->problems == !strv_contains(r->warnings, "unreadable"));
        assert(varstore_report_certificate_ids(r, &ids) == 0);
        fuzz_check_strv(ids, r->n_certificates);
}
