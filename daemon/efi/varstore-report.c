/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/stat.h>

#include "siglist.h"
#include "varstore-report.h"

const char *secure_boot_state_to_string(SecureBootState s) {
        static const char *const table[_SECURE_BOOT_STATE_MAX] = {
                [SECURE_BOOT_UNKNOWN] = "",
                [SECURE_BOOT_ENFORCING] = "enforcing",
                [SECURE_BOOT_DISABLED] = "disabled",
                [SECURE_BOOT_SETUP_MODE] = "setup-mode",
        };
        return s >= 0 && s < _SECURE_BOOT_STATE_MAX ? table[s] : NULL;
}

const char *efi_database_to_string(EfiDatabase d) {
        static const char *const table[_EFI_DATABASE_MAX] = {
                [EFI_DATABASE_PK] = "PK",
                [EFI_DATABASE_KEK] = "KEK",
                [EFI_DATABASE_DB] = "db",
                [EFI_DATABASE_DBX] = "dbx",
        };
        return d >= 0 && d < _EFI_DATABASE_MAX ? table[d] : NULL;
}

static const EfiGuid *database_guid(EfiDatabase d) {
        return d == EFI_DATABASE_PK || d == EFI_DATABASE_KEK ? &efi_guid_global : &efi_guid_image_security;
}

VarstoreReport *varstore_report_free(VarstoreReport *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_certificates; i++)
                efi_certificate_done(&r->certificates[i].certificate);
        free(r->certificates);
        free(r->dbx);
        free(r->boot_order);
        for (size_t i = 0; i < r->n_boot_entries; i++)
                efi_load_option_done(&r->boot_entries[i].option);
        free(r->boot_entries);
        efi_variable_list_free(r->variables);
        strv_free(r->template_drift);
        strv_free(r->warnings);
        strv_free(r->problems);
        free(r);
        return NULL;
}

/* Grows an array of n items of size bytes by one when it is full (allocated doubling). Returns 0 or
 * -ENOMEM. */
static int grow(void **items, size_t n, size_t *allocated, size_t size) {
        void *t;
        size_t k;

        if (n < *allocated)
                return 0;
        k = *allocated ? *allocated * 2 : 16;
        t = reallocarray(*items, k, size);
        if (!t)
                return -ENOMEM;
        *items = t;
        *allocated = k;
        return 0;
}

static int add_certificate(VarstoreReport *r, size_t *allocated, EfiDatabase d, const EfiSignature *s,
                           EfiProblems *problems) {
        _cleanup_(freep) char *error = NULL;
        EfiCertificate c;
        int k;

        if (r->n_certificates >= VARSTORE_CERTIFICATES_MAX) {
                efi_problems_add(problems, "%s: offset 0x%zx: more than %u certificates in the store, the rest not "
                                 "read", efi_database_to_string(d), s->offset, VARSTORE_CERTIFICATES_MAX);
                return 0;
        }
        k = efi_certificate_parse(s->data, s->size, &c, &error);
        if (k == -EBADMSG) {
                efi_problems_add(problems, "%s: offset 0x%zx: %s", efi_database_to_string(d), s->offset, error);
                return 0;
        }
        if (k < 0)
                return k;
        c.owner = s->owner;
        k = grow((void **) &r->certificates, r->n_certificates, allocated, sizeof(VarstoreCertificate));
        if (k < 0) {
                efi_certificate_done(&c);
                return k;
        }
        r->certificates[r->n_certificates++] = (VarstoreCertificate) { .database = d, .certificate = c };
        return 0;
}

/* The key dbx entries are compared by: a SHA-256 entry's digest, the SHA-256 of any other entry's data. */
static int add_dbx(VarstoreReport *r, size_t *allocated, const EfiSignature *s) {
        int k = grow((void **) &r->dbx, r->n_dbx, allocated, sizeof(r->dbx[0]));

        if (k < 0)
                return k;
        if (efi_guid_equal(&s->type, &efi_guid_cert_sha256))
                memcpy(r->dbx[r->n_dbx], s->data, 32);
        else if (EVP_Digest(s->data, s->size, r->dbx[r->n_dbx], NULL, EVP_sha256(), NULL) != 1)
                return -ENOMEM;
        r->n_dbx++;
        return 0;
}

static int compare_digest(const void *a, const void *b) {
        return memcmp(a, b, 32);
}

static int read_database(VarstoreReport *r, EfiDatabase d, size_t *certificates_allocated, EfiProblems *problems) {
        const EfiVariable *v = efi_variable_list_find(r->variables, efi_database_to_string(d), database_guid(d));
        _cleanup_(freep) EfiSignature *s = NULL;
        size_t n, dbx_allocated = 0;
        int k;

        if (!v)
                return 0;
        r->databases[d].present = true;
        k = efi_signature_lists_parse(v->data, v->size, efi_database_to_string(d), problems, &s, &n);
        if (k < 0)
                return k;
        for (size_t i = 0; i < n; i++) {
                if (efi_guid_equal(&s[i].type, &efi_guid_cert_sha256))
                        r->databases[d].sha256_count++;
                else if (efi_guid_equal(&s[i].type, &efi_guid_cert_x509)) {
                        k = add_certificate(r, certificates_allocated, d, &s[i], problems);
                        if (k < 0)
                                return k;
                }
                if (d == EFI_DATABASE_DBX) {
                        k = add_dbx(r, &dbx_allocated, &s[i]);
                        if (k < 0)
                                return k;
                }
        }
        if (d == EFI_DATABASE_DBX && r->n_dbx > 1)
                qsort(r->dbx, r->n_dbx, sizeof(r->dbx[0]), compare_digest);
        return 0;
}

static void read_secure_boot(VarstoreReport *r) {
        const EfiVariable *pk = efi_variable_list_find(r->variables, "PK", &efi_guid_global),
                          *enable = efi_variable_list_find(r->variables, "SecureBootEnable",
                                                           &efi_guid_secure_boot_enable);

        if (!pk || pk->size == 0)
                r->secure_boot = SECURE_BOOT_SETUP_MODE;
        else if (enable && enable->size >= 1 && enable->data[0] == 0)
                r->secure_boot = SECURE_BOOT_DISABLED;
        else
                r->secure_boot = SECURE_BOOT_ENFORCING;
}

/* Boot#### with four upper-case hex digits, as UEFI names load options. Returns the number, or -1. */
static int boot_option_number(const char *name) {
        int number = 0;

        if (strncmp(name, "Boot", 4) != 0 || strlen(name) != 8)
                return -1;
        for (const char *p = name + 4; *p; p++) {
                int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;

                if (d < 0)
                        return -1;
                number = number << 4 | d;
        }
        return number;
}

/* A variable of one u16, or a list of them. Returns false (with a problem) when its size is not one. */
static bool read_u16(const EfiVariable *v, uint16_t *ret, EfiProblems *problems) {
        if (v->size != 2) {
                efi_problems_add(problems, "%s: %zu bytes, not one 16-bit number", v->name, v->size);
                return false;
        }
        *ret = (uint16_t) (v->data[0] | v->data[1] << 8);
        return true;
}

static int read_boot_order(VarstoreReport *r, EfiProblems *problems) {
        const EfiVariable *v;
        size_t n;

        v = efi_variable_list_find(r->variables, "BootNext", &efi_guid_global);
        if (v)
                r->has_boot_next = read_u16(v, &r->boot_next, problems);
        v = efi_variable_list_find(r->variables, "Timeout", &efi_guid_global);
        if (v)
                r->has_timeout = read_u16(v, &r->timeout, problems);
        v = efi_variable_list_find(r->variables, "BootOrder", &efi_guid_global);
        if (!v || v->size == 0)
                return 0;
        if (v->size % 2 != 0)
                efi_problems_add(problems, "BootOrder: %zu bytes, an odd number, the last one ignored", v->size);
        n = v->size / 2;
        if (n > VARSTORE_BOOT_ORDER_MAX) {
                efi_problems_add(problems, "BootOrder: %zu entries, only the first %u read", n,
                                 VARSTORE_BOOT_ORDER_MAX);
                n = VARSTORE_BOOT_ORDER_MAX;
        }
        r->boot_order = malloc(n * sizeof(uint16_t));
        if (!r->boot_order)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                r->boot_order[i] = (uint16_t) (v->data[2 * i] | v->data[2 * i + 1] << 8);
        r->n_boot_order = n;
        return 0;
}

static int compare_boot_entry(const void *a, const void *b) {
        const VarstoreBootEntry *x = a, *y = b;

        return (x->number > y->number) - (x->number < y->number);
}

static int read_boot_entries(VarstoreReport *r, EfiProblems *problems) {
        size_t allocated = 0;
        int k;

        for (size_t i = 0; r->variables && i < r->variables->n; i++) {
                const EfiVariable *v = &r->variables->variables[i];
                int number = boot_option_number(v->name);
                EfiLoadOption o;

                if (number < 0 || !efi_guid_equal(&v->guid, &efi_guid_global))
                        continue;
                if (r->n_boot_entries >= VARSTORE_BOOT_ENTRIES_MAX) {
                        efi_problems_add(problems, "%s: more than %u boot entries, the rest not read", v->name,
                                         VARSTORE_BOOT_ENTRIES_MAX);
                        break;
                }
                k = efi_load_option_parse(v->data, v->size, v->name, problems, &o);
                if (k < 0)
                        return k;
                k = grow((void **) &r->boot_entries, r->n_boot_entries, &allocated, sizeof(VarstoreBootEntry));
                if (k < 0) {
                        efi_load_option_done(&o);
                        return k;
                }
                r->boot_entries[r->n_boot_entries++] = (VarstoreBootEntry) { .number = (uint16_t) number, .option = o };
        }
        if (r->n_boot_entries > 1)
                qsort(r->boot_entries, r->n_boot_entries, sizeof(VarstoreBootEntry), compare_boot_entry);
        return 0;
}

/* Reads the variables of an edk2 or JSON store. Returns 0 (with problems for what could not be read) or
 * -ENOMEM. */
static int read_variables(VarstoreReport *r, const uint8_t *data, size_t n, uint64_t file_size,
                          EfiProblems *problems) {
        if (varstore_is_edk2(&r->layout))
                return efi_variables_parse_edk2(data, n, file_size, &r->variables);
        if (r->layout.format != VARSTORE_JSON)
                return 0;
        if (n < file_size) {
                efi_problems_add(problems, "JSON store of %" PRIu64 " bytes, more than the %u read", file_size,
                                 EFI_JSON_STORE_MAX);
                return 0;
        }
        return efi_variables_parse_json((const char *) data, n, &r->variables);
}

static int read_contents(VarstoreReport *r, EfiProblems *problems) {
        size_t certificates_allocated = 0;
        int k;

        STRV_FOREACH(p, r->variables->problems)
                efi_problems_add(problems, "%s", *p);
        /* a store whose header could not be read has no variables to tell a state from */
        if (r->variables->n == 0 && r->variables->problems)
                return 0;
        read_secure_boot(r);
        for (EfiDatabase d = 0; d < _EFI_DATABASE_MAX; d++) {
                k = read_database(r, d, &certificates_allocated, problems);
                if (k < 0)
                        return k;
        }
        k = read_boot_order(r, problems);
        if (k < 0)
                return k;
        return read_boot_entries(r, problems);
}

int varstore_report_parse(const uint8_t *data, size_t n, uint64_t file_size, uint64_t now, VarstoreReport **ret) {
        _cleanup_(varstore_report_freep) VarstoreReport *r = NULL;
        _cleanup_(efi_problems_done) EfiProblems problems = {};
        int k;

        r = calloc(1, sizeof(VarstoreReport));
        if (!r)
                return -ENOMEM;
        if (n > file_size)
                n = (size_t) file_size;
        r->now = now;
        r->layout = varstore_parse(data, n, file_size);
        k = read_variables(r, data, n, file_size, &problems);
        if (k < 0)
                return k;
        if (r->variables) {
                k = read_contents(r, &problems);
                if (k < 0)
                        return k;
        }
        k = efi_problems_steal(&problems, &r->problems);
        if (k < 0)
                return k;
        k = varstore_report_update_warnings(r);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

int varstore_report_read_fd(int fd, uint64_t now, VarstoreReport **ret) {
        _cleanup_(freep) uint8_t *data = NULL;
        struct stat st;
        Varstore layout;
        size_t want, n;
        ssize_t k;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        want = (uint64_t) st.st_size < VARSTORE_HEAD_MAX ? (size_t) st.st_size : VARSTORE_HEAD_MAX;
        data = malloc(want ?: 1);
        if (!data)
                return -ENOMEM;
        k = varstore_pread(fd, data, want, 0);
        if (k < 0)
                return (int) k;
        n = (size_t) k;
        /* a file that is not readable at all must not pass for an empty one */
        if (want == 0 && pread(fd, data, 1, 0) < 0)
                return -errno;
        layout = varstore_parse(data, n, n < want ? n : (uint64_t) st.st_size);
        if (varstore_is_edk2(&layout))
                want = layout.volume_size < EFI_VOLUME_MAX ? (size_t) layout.volume_size : EFI_VOLUME_MAX;
        else if (layout.format == VARSTORE_JSON && (uint64_t) st.st_size <= EFI_JSON_STORE_MAX)
                want = (size_t) st.st_size;
        if (want > n && n == VARSTORE_HEAD_MAX) {
                uint8_t *t = realloc(data, want);

                if (!t)
                        return -ENOMEM;
                data = t;
                k = varstore_pread(fd, data + n, want - n, n);
                if (k < 0)
                        return (int) k;
                n += (size_t) k;
        }
        return varstore_report_parse(data, n, n < want ? n : (uint64_t) st.st_size, now, ret);
}
