/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The warnings of a varstore report (DESIGN section 10), the comparison with a template, and the certificate
 * questions the catalogue asks of a template. */

#include <stdio.h>

#include "varstore-report.h"

static bool database_has(const VarstoreReport *r, EfiDatabase d, const char *id) {
        for (size_t i = 0; i < r->n_certificates; i++)
                if (r->certificates[i].database == d && streq(r->certificates[i].certificate.id, id))
                        return true;
        return false;
}

/* Whether d holds a known certificate that the table gives successors for, and none of them. */
static bool database_lacks_successor(const VarstoreReport *r, EfiDatabase d) {
        for (size_t i = 0; i < r->n_certificates; i++) {
                const KnownCertificate *old = r->certificates[i].certificate.known;
                bool has_successors = false, has_one = false;

                if (r->certificates[i].database != d || !old)
                        continue;
                for (size_t k = 0; k < n_known_certificates; k++) {
                        if (!streq_ptr(known_certificates[k].succeeds, old->id))
                                continue;
                        has_successors = true;
                        has_one = has_one || database_has(r, d, known_certificates[k].id);
                }
                if (has_successors && !has_one)
                        return true;
        }
        return false;
}

static int add_expired(const VarstoreReport *r, char ***warnings) {
        for (size_t i = 0; i < r->n_certificates; i++) {
                const EfiCertificate *c = &r->certificates[i].certificate;
                _cleanup_(freep) char *w = NULL;

                /* a revoked certificate's age says nothing */
                if (r->certificates[i].database == EFI_DATABASE_DBX || c->not_after >= r->now)
                        continue;
                w = strdup_printf("expired:%s", c->id);
                if (!w)
                        return -ENOMEM;
                if (!strv_contains(*warnings, w) && strv_consume(warnings, TAKE_PTR(w)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int varstore_report_update_warnings(VarstoreReport *r) {
        _cleanup_(strv_freep) char **w = NULL;
        int k = 0;

        if (r->secure_boot == SECURE_BOOT_SETUP_MODE)
                k = strv_extend(&w, "setup-mode");
        else if (r->secure_boot == SECURE_BOOT_DISABLED)
                k = strv_extend(&w, "secure-boot-disabled");
        if (k >= 0 && database_lacks_successor(r, EFI_DATABASE_KEK))
                k = strv_extend(&w, "kek-2011-only");
        if (k >= 0 && database_lacks_successor(r, EFI_DATABASE_DB))
                k = strv_extend(&w, "db-2011-only");
        if (k >= 0)
                k = add_expired(r, &w);
        STRV_FOREACH(id, r->template_drift)
                if (k >= 0)
                        k = strv_consume(&w, strdup_printf("template-drift:%s", *id));
        if (k >= 0 && r->dbx_drift > 0)
                k = strv_consume(&w, strdup_printf("dbx-drift:%zu", r->dbx_drift));
        if (k >= 0 && r->problems)
                k = strv_extend(&w, "unreadable");
        if (k < 0)
                return k;
        strv_free(r->warnings);
        r->warnings = TAKE_PTR(w);
        return 0;
}

/* How many of the sorted digests in b are not among the sorted digests in a. */
static size_t digests_missing(const uint8_t (*a)[32], size_t na, const uint8_t (*b)[32], size_t nb) {
        size_t i = 0, missing = 0;

        for (size_t j = 0; j < nb; j++) {
                int c = 1;

                if (j > 0 && memcmp(b[j], b[j - 1], 32) == 0)
                        continue;       /* the same entry twice counts once */
                while (i < na && (c = memcmp(a[i], b[j], 32)) < 0)
                        i++;
                if (i >= na || c != 0)
                        missing++;
        }
        return missing;
}

int varstore_report_compare(VarstoreReport *store, const VarstoreReport *template) {
        _cleanup_(strv_freep) char **drift = NULL, **saved = NULL;
        size_t saved_dbx = store->dbx_drift;
        int k;

        for (size_t i = 0; i < template->n_certificates; i++) {
                const VarstoreCertificate *c = &template->certificates[i];

                if ((c->database != EFI_DATABASE_KEK && c->database != EFI_DATABASE_DB) || !c->certificate.known ||
                    database_has(store, c->database, c->certificate.id) || strv_contains(drift, c->certificate.id))
                        continue;
                if (strv_extend(&drift, c->certificate.id) < 0)
                        return -ENOMEM;
        }
        saved = TAKE_PTR(store->template_drift);
        store->template_drift = TAKE_PTR(drift);
        store->dbx_drift = digests_missing((const uint8_t (*)[32]) store->dbx, store->n_dbx,
                                           (const uint8_t (*)[32]) template->dbx, template->n_dbx);
        k = varstore_report_update_warnings(store);
        if (k < 0) {
                drift = TAKE_PTR(store->template_drift);
                store->template_drift = TAKE_PTR(saved);
                store->dbx_drift = saved_dbx;
                return k;
        }
        return 0;
}

bool varstore_report_has_certificate(const VarstoreReport *r, const char *id) {
        for (EfiDatabase d = EFI_DATABASE_PK; d <= EFI_DATABASE_DB; d++)
                if (database_has(r, d, id))
                        return true;
        return false;
}

int varstore_report_certificate_ids(const VarstoreReport *r, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;

        for (size_t i = 0; i < r->n_certificates; i++) {
                const VarstoreCertificate *c = &r->certificates[i];
                _cleanup_(freep) char *s = NULL;

                if (c->database == EFI_DATABASE_DBX)
                        continue;
                s = strdup_printf("%s:%s", efi_database_to_string(c->database), c->certificate.id);
                if (!s)
                        return -ENOMEM;
                if (!strv_contains(l, s) && strv_consume(&l, TAKE_PTR(s)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}
