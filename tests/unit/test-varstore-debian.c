/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Varstore contents of Debian's real templates: Debian 12's (packages ovmf and qemu-efi-aarch64, read where they
 * are installed) and the development distribution's 2026.08 ones (ovmf-generic and qemu-efi-aarch64 from sid,
 * fetched by tests/data/fetch-templates into the test cache). Each certificate's digest is checked against
 * 'openssl x509 -outform DER | sha256sum', and each line of the known-certificates table is found in these
 * files. A file that is absent is skipped with a message; the table's check fails only when every file that
 * could hold a line is there and none does. */

#include <fcntl.h>
#include <inttypes.h>
#include <sys/wait.h>

#include "efi/siglist.h"
#include "efi/varstore-report.h"
#include "tests.h"

#define NOW UINT64_C(1796000000)        /* 2026-11-29: all three Microsoft 2011 CAs have expired */

typedef struct Template {
        const char *path;               /* below / for Debian 12, below the fetched tree for sid */
        bool sid;
        bool enrolled;                  /* Microsoft keys; else snakeoil or none */
        VarstoreReport *report;
        char *full_path;
} Template;

static Template templates[] = {
        { "usr/share/OVMF/OVMF_VARS_4M.ms.fd", false, true },
        { "usr/share/OVMF/OVMF_VARS.ms.fd", false, true },
        { "usr/share/AAVMF/AAVMF_VARS.ms.fd", false, true },
        { "usr/share/OVMF/OVMF_VARS_4M.ms.fd", true, true },
        { "usr/share/AAVMF/AAVMF_VARS.ms.fd", true, true },
        { "usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd", false, false },
        { "usr/share/AAVMF/AAVMF_VARS.snakeoil.fd", true, false },
        { "usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd", true, false },
};
static bool all_present = true, have_openssl;
static char *sid_root;

/* Runs tests/data/fetch-templates; returns the unpacked tree, or NULL after saying why there is none. */
static char *fetch_sid(void) {
        char buf[4096] = {};
        FILE *f = popen(FETCH_TEMPLATES, "re");
        size_t n;
        int status;

        if (!f)
                return NULL;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        status = pclose(f);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n == 0) {
                fprintf(stderr, "skipping the sid templates: fetch-templates exited with status %d\n",
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                return NULL;
        }
        buf[strcspn(buf, "\n")] = 0;
        return strdup(buf);
}

static void load(Template *t) {
        _cleanup_(closep) int fd = -1;

        t->full_path = path_join(t->sid ? sid_root : "/", t->path);
        if (t->sid && !sid_root) {
                all_present = false;
                return;
        }
        fd = open(t->full_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "skipping '%s': %m\n", t->full_path);
                all_present = false;
                return;
        }
        CHECK(varstore_report_read_fd(fd, NOW, &t->report) == 0);
        STRV_FOREACH(p, t->report->problems)
                fprintf(stderr, "%s: %s\n", t->full_path, *p);
}

static bool has(const VarstoreReport *r, EfiDatabase d, const char *id) {
        for (size_t i = 0; i < r->n_certificates; i++)
                if (r->certificates[i].database == d && streq(r->certificates[i].certificate.id, id))
                        return true;
        return false;
}

/* What 'openssl x509 -inform DER -outform DER | sha256sum' says of the n bytes at der. */
static void openssl_sha256(const uint8_t *der, size_t n, char out[static 65]) {
        _cleanup_(freep) char *dir = test_tmpdir_new(), *in = path_join(dir, "cert.der"), *cmd = NULL;
        FILE *f = fopen(in, "we");

        CHECK(f && fwrite(der, 1, n, f) == n && fclose(f) == 0);
        cmd = strdup_printf("openssl x509 -inform DER -outform DER -in '%s' | sha256sum", in);
        f = popen(cmd, "re");
        CHECK(f && fread(out, 1, 64, f) == 64 && pclose(f) == 0);
        out[64] = 0;
        test_tmpdir_remove(dir);
}

static void sha256_hex(const uint8_t d[static 32], char out[static 65]) {
        for (size_t i = 0; i < 32; i++)
                sprintf(out + 2 * i, "%02x", d[i]);
}

/* Every X.509 entry of PK, KEK and db: openssl's digest of it is that of a certificate the report shows there. */
static void check_openssl(const Template *t) {
        static const struct { const char *name; EfiDatabase d; } dbs[] = {
                { "PK", EFI_DATABASE_PK }, { "KEK", EFI_DATABASE_KEK }, { "db", EFI_DATABASE_DB },
        };
        size_t checked = 0;

        if (!have_openssl) {
                fprintf(stderr, "skipping the comparison with openssl: no openssl command\n");
                return;
        }
        for (size_t k = 0; k < ELEMENTSOF(dbs); k++) {
                const EfiVariable *v = NULL;
                _cleanup_(efi_problems_done) EfiProblems problems = {};
                _cleanup_(freep) EfiSignature *s = NULL;
                size_t n;

                for (size_t i = 0; i < t->report->variables->n; i++)
                        if (streq(t->report->variables->variables[i].name, dbs[k].name))
                                v = &t->report->variables->variables[i];
                CHECK(v);
                CHECK(efi_signature_lists_parse(v->data, v->size, dbs[k].name, &problems, &s, &n) == 0);
                CHECK(problems.n == 0);
                for (size_t i = 0; i < n; i++) {
                        char want[65], got[65];
                        bool found = false;

                        openssl_sha256(s[i].data, s[i].size, want);
                        for (size_t c = 0; c < t->report->n_certificates; c++) {
                                sha256_hex(t->report->certificates[c].certificate.sha256, got);
                                found = found || (t->report->certificates[c].database == dbs[k].d &&
                                                  streq(got, want));
                        }
                        fprintf(stderr, "  %s %s: openssl sha256 %s %s\n", t->full_path, dbs[k].name, want,
                                found ? "= the report's" : "NOT IN THE REPORT");
                        CHECK(found);
                        checked++;
                }
        }
        CHECK(checked == t->report->n_certificates);
}

static void test_templates(void) {
        for (size_t i = 0; i < ELEMENTSOF(templates); i++) {
                const Template *t = &templates[i];
                const VarstoreReport *r = t->report;

                if (!r)
                        continue;
                fprintf(stderr, "%s\n", t->full_path);
                CHECK(r->layout.format == VARSTORE_EDK2_AUTHENTICATED);
                CHECK(!r->problems);
                CHECK(r->secure_boot == SECURE_BOOT_ENFORCING);
                CHECK(r->databases[EFI_DATABASE_DBX].present || !t->enrolled);
                check_openssl(t);
                STRV_FOREACH(w, r->warnings)
                        fprintf(stderr, "  warning %s\n", *w);
                for (size_t b = 0; b < r->n_boot_entries; b++) {
                        fprintf(stderr, "  Boot%04X %s: %s\n", r->boot_entries[b].number,
                                r->boot_entries[b].option.description, r->boot_entries[b].option.device_path);
                        /* OVMF's and AAVMF's own entries use only nodes the text form knows */
                        CHECK(!strstr(r->boot_entries[b].option.device_path, "Path("));
                }
                if (!t->enrolled)
                        continue;
                CHECK(has(r, EFI_DATABASE_PK, "debian-pk-kek-2019") && has(r, EFI_DATABASE_KEK, "debian-pk-kek-2019"));
                CHECK(has(r, EFI_DATABASE_KEK, "microsoft-kek-2011"));
                CHECK(has(r, EFI_DATABASE_DB, "windows-pca-2011") && has(r, EFI_DATABASE_DB, "microsoft-uefi-ca-2011"));
                CHECK(strv_contains(r->warnings, "expired:microsoft-kek-2011"));
                CHECK(strv_contains(r->warnings, "expired:windows-pca-2011"));
                CHECK(strv_contains(r->warnings, "expired:microsoft-uefi-ca-2011"));
                /* Debian 12's hold only the 2011 CAs; 2026.08's their 2023 successors too */
                CHECK(has(r, EFI_DATABASE_KEK, "microsoft-kek-2023") == t->sid);
                CHECK(has(r, EFI_DATABASE_DB, "windows-uefi-ca-2023") == t->sid);
                CHECK(has(r, EFI_DATABASE_DB, "microsoft-uefi-ca-2023") == t->sid);
                CHECK(has(r, EFI_DATABASE_DB, "microsoft-option-rom-ca-2023") == t->sid);
                CHECK(strv_contains(r->warnings, "kek-2011-only") == !t->sid);
                CHECK(strv_contains(r->warnings, "db-2011-only") == !t->sid);
                CHECK(strv_length(r->warnings) == (t->sid ? 3 : 5));
        }
}

/* Each line of the table is a certificate of these files, with the digest, subject and expiry the table says. */
static void test_known_certificates(void) {
        for (size_t k = 0; k < n_known_certificates; k++) {
                const KnownCertificate *known = &known_certificates[k];
                const EfiCertificate *found = NULL;
                const char *where = NULL;
                char hex[65];

                for (size_t i = 0; i < ELEMENTSOF(templates) && !found; i++)
                        for (size_t c = 0; templates[i].report && c < templates[i].report->n_certificates; c++)
                                if (templates[i].report->certificates[c].certificate.known == known) {
                                        found = &templates[i].report->certificates[c].certificate;
                                        where = templates[i].full_path;
                                }
                if (!found) {
                        fprintf(stderr, "%s: not in the templates at hand%s\n", known->id,
                                all_present ? "" : ", skipping: some are absent");
                        CHECK(!all_present);
                        continue;
                }
                sha256_hex(found->sha256, hex);
                fprintf(stderr, "%s: %s in '%s'\n", known->id, hex, where);
                CHECK_STREQ(hex, known->sha256);
                CHECK_STREQ(found->subject, known->subject);
                CHECK(found->not_after == known->not_after);
                CHECK(!known->succeeds || known_certificate_by_id(known->succeeds));
                CHECK(certificate_id_is_valid(known->id));
        }
        CHECK(certificate_id_is_valid("sha256:5fb05ed84c5170d542ed6a7b7487dd57b8faedb02f7e107b0409e1d22cac4169"));
        CHECK(!certificate_id_is_valid("sha256:5FB05ED84C5170D542ED6A7B7487DD57B8FAEDB02F7E107B0409E1D22CAC4169"));
        CHECK(!certificate_id_is_valid("microsoft-kek-2024"));
        CHECK(!certificate_id_is_valid("sha256:5fb0"));
}

/* A VM made from Debian 12's 4 MiB template, against the 2026.08 template it fits. */
static void test_drift(void) {
        _cleanup_(varstore_report_freep) VarstoreReport *store = NULL;
        const VarstoreReport *old = templates[0].report, *new = templates[3].report;
        _cleanup_(closep) int fd = -1;
        size_t shared = 0;

        if (!old || !new) {
                fprintf(stderr, "skipping: Debian 12's or 2026.08's OVMF_VARS_4M.ms.fd is absent\n");
                return;
        }
        fd = open(templates[0].full_path, O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0 && varstore_report_read_fd(fd, NOW, &store) == 0);
        CHECK(varstore_report_compare(store, new) == 0);
        STRV_FOREACH(w, store->warnings)
                fprintf(stderr, "  warning %s\n", *w);
        CHECK(strv_length(store->template_drift) == 4);
        CHECK(strv_contains(store->warnings, "template-drift:microsoft-kek-2023"));
        CHECK(strv_contains(store->warnings, "template-drift:windows-uefi-ca-2023"));
        CHECK(strv_contains(store->warnings, "template-drift:microsoft-uefi-ca-2023"));
        CHECK(strv_contains(store->warnings, "template-drift:microsoft-option-rom-ca-2023"));
        /* the dbx drift is what the newer dbx holds beyond the older one's entries */
        for (size_t i = 0; i < store->n_dbx; i++)
                for (size_t k = 0; k < new->n_dbx; k++)
                        shared += memcmp(store->dbx[i], new->dbx[k], 32) == 0;
        fprintf(stderr, "dbx: %zu entries in Debian 12's, %zu in 2026.08's, %zu shared\n", store->n_dbx,
                new->n_dbx, shared);
        CHECK(store->dbx_drift == new->n_dbx - shared);
        CHECK(store->dbx_drift > 400);
}

static void test_without_keys(void) {
        static const char *const paths[] = { "/usr/share/OVMF/OVMF_VARS_4M.fd", "/usr/share/AAVMF/AAVMF_VARS.fd" };

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_(varstore_report_freep) VarstoreReport *r = NULL;
                _cleanup_(closep) int fd = open(paths[i], O_RDONLY | O_CLOEXEC);

                if (fd < 0) {
                        fprintf(stderr, "skipping '%s': %m\n", paths[i]);
                        continue;
                }
                CHECK(varstore_report_read_fd(fd, NOW, &r) == 0);
                CHECK(!r->problems && r->n_certificates == 0);
                if (r->layout.format == VARSTORE_BLANK)         /* AAVMF_VARS.fd: formatted at first boot */
                        CHECK(r->secure_boot == SECURE_BOOT_UNKNOWN && !r->warnings && !r->variables);
                else
                        CHECK(r->secure_boot == SECURE_BOOT_SETUP_MODE && strv_contains(r->warnings, "setup-mode"));
        }
}

int main(void) {
        have_openssl = system("command -v openssl >/dev/null && command -v sha256sum >/dev/null") == 0;
        sid_root = fetch_sid();
        for (size_t i = 0; i < ELEMENTSOF(templates); i++)
                load(&templates[i]);
        RUN(test_templates);
        RUN(test_known_certificates);
        RUN(test_drift);
        RUN(test_without_keys);
        for (size_t i = 0; i < ELEMENTSOF(templates); i++) {
                varstore_report_free(templates[i].report);
                free(templates[i].full_path);
        }
        free(sid_root);
        return 0;
}
