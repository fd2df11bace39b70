/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Varstore contents from hand-built stores: the live rule, and every kind of bad input a VM's owner can write
 * (DESIGN section 10, issue "What a VM's varstore holds"): truncated stores, sizes past the end or overflowing,
 * names of size 0 or odd or with unpaired surrogates, signature lists whose sizes lie, oversized and refused
 * certificates, load options and device path nodes whose lengths lie, and JSON stores too large to read. Each
 * gives a report whose problems name the offset or the variable, and keeps what could be read. */

#include <inttypes.h>

#include "efi-builder.h"
#include "efi/device-path.h"
#include "efi/load-option.h"
#include "efi/siglist.h"
#include "efi/varstore-report.h"
#include "util/json.h"

#define NOW UINT64_C(1796000000)        /* 2026-11-29: Microsoft's 2011 CAs have expired, the test PK has not */
#define VOLUME 0x8000U

static EfiGuid global, security, x509, sha256, owner;
static uint8_t *test_pk;
static size_t test_pk_size;

static bool problems_mention(char * const *problems, const char *needle) {
        STRV_FOREACH(p, problems)
                if (strstr(*p, needle))
                        return true;
        return false;
}

static void dump(const VarstoreReport *r) {
        STRV_FOREACH(p, r->problems)
                fprintf(stderr, "  problem: %s\n", *p);
        STRV_FOREACH(w, r->warnings)
                fprintf(stderr, "  warning: %s\n", *w);
}

static VarstoreReport *parse_store(const Bytes *file) {
        VarstoreReport *r = NULL;

        CHECK(varstore_report_parse(file->p, file->n, file->n, NOW, &r) == 0);
        dump(r);
        return r;
}

/* A db holding the test certificate, a dbx with two digests, a PK: an enrolled store in a few variables. */
static void put_keys(Bytes *vars, bool authenticated, bool with_dbx) {
        _cleanup_(bytes_done) Bytes pk = {}, dbx = {};
        uint8_t digest[32] = { 1 };

        put_signature_list(&pk, &x509, (uint32_t) (28 + 16 + test_pk_size), 0, (uint32_t) (16 + test_pk_size), &owner,
                           test_pk, test_pk_size, 1);
        put_signature_list(&dbx, &sha256, 28 + 2 * 48, 0, 48, &owner, digest, 32, 2);
        put_variable(vars, authenticated, 0x3f, "PK", &global, pk.p, pk.n);
        put_variable(vars, authenticated, 0x3f, "KEK", &global, pk.p, pk.n);
        put_variable(vars, authenticated, 0x3f, "db", &security, pk.p, pk.n);
        if (with_dbx)
                put_variable(vars, authenticated, 0x3f, "dbx", &security, dbx.p, dbx.n);
}

static void test_enrolled(void) {
        for (int authenticated = 0; authenticated <= 1; authenticated++) {
                _cleanup_(bytes_done) Bytes vars = {}, file = {};
                _cleanup_(varstore_report_freep) VarstoreReport *r = NULL;
                _cleanup_(strv_freep) char **ids = NULL;

                put_keys(&vars, authenticated, true);
                make_volume(&file, authenticated, VOLUME, VOLUME, 0, &vars);
                r = parse_store(&file);
                CHECK(r->layout.format == (authenticated ? VARSTORE_EDK2_AUTHENTICATED : VARSTORE_EDK2));
                CHECK(!r->problems);
                CHECK(r->variables->n == 4);
                CHECK(r->secure_boot == SECURE_BOOT_ENFORCING);
                CHECK(r->n_certificates == 3);
                CHECK_STREQ(r->certificates[0].certificate.subject, "CN=Test PK 2026,O=fwregistryd tests");
                CHECK_STREQ(r->certificates[0].certificate.id,
                            "sha256:70bc4f32e7e9dd4a2f493d767bb84f4536269a49eade61ec4bfd4322a8543a2d");
                CHECK(r->certificates[0].certificate.not_after == 2111958626);
                CHECK(efi_guid_equal(&r->certificates[0].certificate.owner, &owner));
                CHECK(r->databases[EFI_DATABASE_DBX].present && r->databases[EFI_DATABASE_DBX].sha256_count == 2);
                CHECK(r->databases[EFI_DATABASE_DB].sha256_count == 0);
                CHECK(!r->warnings);
                CHECK(varstore_report_has_certificate(r, r->certificates[0].certificate.id));
                CHECK(!varstore_report_has_certificate(r, "microsoft-kek-2023"));
                CHECK(varstore_report_certificate_ids(r, &ids) == 0);
                CHECK(strv_length(ids) == 3);
                CHECK(strncmp(ids[0], "PK:sha256:70bc4f32", 18) == 0);
                CHECK(strncmp(ids[2], "db:sha256:", 10) == 0);
        }
}

static void test_secure_boot_state(void) {
        _cleanup_(bytes_done) Bytes vars = {}, file = {}, empty = {};
        _cleanup_(varstore_report_freep) VarstoreReport *r = NULL, *s = NULL, *t = NULL;
        EfiGuid enable = guid("f0a30bc7-af08-4556-99c4-001009c93a44");
        uint8_t off = 0;

        /* no PK: setup mode, whatever KEK and db say */
        make_volume(&empty, true, VOLUME, VOLUME, 0, NULL);
        r = parse_store(&empty);
        CHECK(r->secure_boot == SECURE_BOOT_SETUP_MODE && !r->problems);
        CHECK(r->warnings && streq(r->warnings[0], "setup-mode"));
        /* PK and SecureBootEnable 0 */
        put_keys(&vars, true, true);
        put_variable(&vars, true, 0x3f, "SecureBootEnable", &enable, &off, 1);
        make_volume(&file, true, VOLUME, VOLUME, 0, &vars);
        s = parse_store(&file);
        CHECK(s->secure_boot == SECURE_BOOT_DISABLED);
        CHECK(strv_contains(s->warnings, "secure-boot-disabled"));
        /* the test PK expired: expired:<id>, once though it is in three databases */
        CHECK(varstore_report_parse(file.p, file.n, file.n, UINT64_C(2111958627), &t) == 0);
        CHECK(strv_length(t->warnings) == 2);
        CHECK_STREQ(t->warnings[1], "expired:sha256:70bc4f32e7e9dd4a2f493d767bb84f4536269a49eade61ec4bfd4322a8543a2d");
}

/* Added (0x3f) copies count; one being deleted (0x3e) counts while no added copy follows it; deleted ones
 * (0x3c, 0x3d) and half-written ones (0x7f) never. */
static void test_live_rule(void) {
        _cleanup_(bytes_done) Bytes vars = {}, file = {};
        _cleanup_(varstore_report_freep) VarstoreReport *r = NULL;
        const EfiVariable *v;
        uint8_t one = 1, two = 2, three = 3;

        put_variable(&vars, true, 0x3e, "A", &global, &one, 1);
        put_variable(&vars, true, 0x3f, "A", &global, &two, 1);
        put_variable(&vars, true, 0x3e, "B", &global, &three, 1);
        put_variable(&vars, true, 0x3c, "C", &global, &one, 1);
        put_variable(&vars, true, 0x3d, "D", &global, &one, 1);
        put_variable(&vars, true, 0x7f, "E", &global, &one, 1);
        put_variable(&vars, true, 0x3f, "A", &security, &three, 1);
        make_volume(&file, true, VOLUME, VOLUME, 0, &vars);
        r = parse_store(&file);
        CHECK(!r->problems);
        CHECK(r->variables->n == 3);
        v = efi_variable_list_find(r->variables, "A", &global);
        CHECK(v && v->size == 1 && v->data[0] == 2 && v->state == 0x3f);
        v = efi_variable_list_find(r->variables, "B", &global);
        CHECK(v && v->data[0] == 3 && v->state == 0x3e);
        CHECK(efi_variable_list_find(r->variables, "A", &security));
        CHECK(!efi_variable_list_find(r->variables, "C", &global));
        CHECK(!efi_variable_list_find(r->variables, "E", &global));
        /* the file's order is kept */
        CHECK_STREQ(r->variables->variables[0].name, "A");
        CHECK_STREQ(r->variables->variables[1].name, "B");
        /* two added copies: the last one, and a problem */
        put_variable(&vars, true, 0x3f, "B", &global, &one, 1);
        put_variable(&vars, true, 0x3f, "B", &global, &two, 1);
        bytes_done(&file);
        make_volume(&file, true, VOLUME, VOLUME, 0, &vars);
        varstore_report_free(r);
        r = parse_store(&file);
        CHECK(efi_variable_list_find(r->variables, "B", &global)->data[0] == 2);
        CHECK(problems_mention(r->problems, "variable 'B' (8be4df61-93ca-11d2-aa0d-00e098032b8c): 2 live copies"));
        CHECK(strv_contains(r->warnings, "unreadable"));
}

static void test_truncated(void) {
        _cleanup_(bytes_done) Bytes vars = {}, file = {};
        uint8_t data[100] = {};

        put_variable(&vars, true, 0x3f, "First", &global, data, 10);
        put_variable(&vars, true, 0x3f, "Second", &global, data, sizeof(data));
        make_volume(&file, true, VOLUME, VOLUME, 0, &vars);
        /* the file cut anywhere: never a crash, never a read past it; the first variable survives a cut after it */
        for (size_t n = 0; n <= vars.n + 0x48 + 28 + 8; n++) {
                _cleanup_(varstore_report_freep) VarstoreReport *r = NULL;

                CHECK(varstore_report_parse(file.p, n, n, NOW, &r) == 0);
                /* a volume longer than the file is no edk2 volume (section 9): an unknown layout, no variables */
                CHECK(r->layout.format == VARSTORE_UNKNOWN || r->layout.format == VARSTORE_BLANK);
                CHECK(!r->variables && r->secure_boot == SECURE_BOOT_UNKNOWN);
        }
        /* the file whole but only part of it handed over, as a reader that could not read it all would */
        for (size_t n = 0x48 + 16; n < 0x48 + 28 + vars.n; n += 3) {
                _cleanup_(varstore_report_freep) VarstoreReport *r = NULL;

                CHECK(varstore_report_parse(file.p, n, file.n, NOW, &r) == 0);
                CHECK(r->layout.format == VARSTORE_EDK2_AUTHENTICATED);
                CHECK(problems_mention(r->problems, "of which only"));
                CHECK(strv_contains(r->warnings, "unreadable"));
                if (n >= 0x48 + 28 + 92)        /* the first variable's header, name and data */
                        CHECK(efi_variable_list_find(r->variables, "First", &global));
                if (n < 0x48 + 28 + vars.n - 8)
                        CHECK(!efi_variable_list_find(r->variables, "Second", &global));
        }
}

static void test_sizes_lie(void) {
        static const uint32_t bad[][2] = {
                { 0xffffffff, 4 }, { 12, 0xffffffff }, { 0x80000000, 0x80000000 }, { 0xfffffffe, 4 },
                { 12, VOLUME }, { 12, 0xfffffff0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(bytes_done) Bytes vars = {}, file = {};
                _cleanup_(varstore_report_freep) VarstoreReport *r = NULL;
                Bytes name = {};

                put_variable(&vars, true, 0x3f, "Kept", &global, "x", 1);
                put_utf16(&name, "Liar");
                put_variable_raw(&vars, true, 0x3f, &global, bad[i][0], bad[i][1], name.p, name.n, "y", 1);
                put_variable(&vars, true, 0x3f, "After", &global, "z", 1);
                bytes_done(&name);
                make_volume(&file, true, VOLUME, VOLUME, 0, &vars);
                r = parse_store(&file);
                CHECK(efi_variable_list_find(r->variables, "Kept", &global));
                CHECK(!efi_variable_list_find(r->variables, "Liar", &global));
                CHECK(problems_mention(r->problems, "runs past the end of the store"));
                CHECK(problems_mention(r->problems, "offset 0xac:"));  /* 0x64 and the first variable, 71 bytes aligned */
        }
}

static void test_store_header(void) {
        _cleanup_(bytes_done) Bytes vars = {}, big = {}, unformatted = {};
        _cleanup_(varstore_report_freep) VarstoreReport *r = NULL, *s = NULL;

        put_variable(&vars, false, 0x3f, "Plain", &global, "x", 1);
        /* a store claiming more than the volume is read up to the volume's end */
        make_volume(&big, false, VOLUME, VOLUME, 0xffffff00, &vars);
        r = parse_store(&big);
        CHECK(r->layout.format == VARSTORE_EDK2);
        CHECK(efi_variable_list_find(r->variables, "Plain", &global));
        CHECK(problems_mention(r->problems, "offset 0x48: variable store of 0xffffff00 bytes does not fit"));
        /* ... and a store smaller than its own header */
        make_volume(&unformatted, false, VOLUME, VOLUME, 3, &vars);
        s = parse_store(&unformatted);
        CHECK(problems_mention(s->problems, "does not fit"));
        bytes_done(&unformatted);
        varstore_report_free(s);
        /* not formatted: nothing read, no state */
        make_volume(&unformatted, false, VOLUME, VOLUME, 0, &vars);
        unformatted.p[0x48 + 20] = 0xff;
        s = parse_store(&unformatted);
        CHECK(s->variables && s->variables->n == 0);
        CHECK(s->secure_boot == SECURE_BOOT_UNKNOWN);
        CHECK(problems_mention(s->problems, "not formatted"));
}

static void test_names(void) {
        _cleanup_(bytes_done) Bytes vars = {}, file = {};
        _cleanup_(varstore_report_freep) VarstoreReport *r = NULL;
        static const uint8_t odd[] = { 'A', 0, 0 }, surrogate[] = { 'A', 0, 0x00, 0xd8, 'B', 0, 0, 0 },
                             unterminated[] = { 'A', 0, 'B', 0 }, inner[] = { 'A', 0, 0, 0, 'B', 0, 0, 0 };
        Bytes long_name = {};

        put_variable_raw(&vars, true, 0x3f, &global, 0, 1, NULL, 0, "x", 1);
        put_variable_raw(&vars, true, 0x3f, &global, sizeof(odd), 1, odd, sizeof(odd), "x", 1);
        put_variable_raw(&vars, true, 0x3f, &global, sizeof(surrogate), 1, surrogate, sizeof(surrogate), "x", 1);
        put_variable_raw(&vars, true, 0x3f, &global, sizeof(unterminated), 1, unterminated, sizeof(unterminated),
                         "x", 1);
        put_variable_raw(&vars, true, 0x3f, &global, sizeof(inner), 1, inner, sizeof(inner), "x", 1);
        put_fill(&long_name, 'a', 2 * 1024);
        put_u16(&long_name, 0);
        put_variable_raw(&vars, true, 0x3f, &global, (uint32_t) long_name.n, 1, long_name.p, long_name.n, "x", 1);
        bytes_done(&long_name);
        put_variable(&vars, true, 0x3f, "Last", &global, "x", 1);
        make_volume(&file, true, VOLUME, VOLUME, 0, &vars);
        r = parse_store(&file);
        /* the walk goes on past each bad name: only the surrogate one is kept, shown with U+FFFD */
        CHECK(r->variables->n == 2);
        CHECK_STREQ(r->variables->variables[0].name, "A\xef\xbf\xbd" "B");
        CHECK(efi_variable_list_find(r->variables, "Last", &global));
        CHECK(problems_mention(r->problems, "offset 0x64: variable name of 0 bytes"));
        CHECK(problems_mention(r->problems, "variable name of 3 bytes"));
        CHECK(problems_mention(r->problems, "holds 1 characters that are not text"));
        CHECK(problems_mention(r->problems, "variable name of 2050 bytes"));
        CHECK(strv_length(r->problems) == 6);
}

static void test_too_many_variables(void) {
        _cleanup_(bytes_done) Bytes vars = {}, file = {};
        _cleanup_(varstore_report_freep) VarstoreReport *r = NULL;
        size_t volume = 0x80000;

        for (unsigned i = 0; i < EFI_VARIABLES_MAX + 10; i++) {
                char name[16];

                snprintf(name, sizeof(name), "V%u", i);
                put_variable(&vars, true, 0x3f, name, &global, NULL, 0);
        }
        make_volume(&file, true, volume, volume, 0, &vars);
        r = parse_store(&file);
        CHECK(r->variables->n == EFI_VARIABLES_MAX);
        CHECK(problems_mention(r->problems, "more than 4096 variables"));
}

/* Signature lists read alone: each lie ends the reading with a problem, and the entries before it are kept. */
static void check_lists(const Bytes *b, size_t want_entries, const char *problem) {
        _cleanup_(efi_problems_done) EfiProblems problems = {};
        _cleanup_(freep) EfiSignature *s = NULL;
        size_t n = SIZE_MAX;

        CHECK(efi_signature_lists_parse(b->p, b->n, "db", &problems, &s, &n) == 0);
        STRV_FOREACH(p, problems.list)
                fprintf(stderr, "  problem: %s\n", *p);
        CHECK(n == want_entries);
        if (problem)
                CHECK(problems_mention(problems.list, problem));
        else
                CHECK(problems.n == 0);
        for (size_t i = 0; i < n; i++)
                CHECK(s[i].data >= b->p && s[i].data + s[i].size <= b->p + b->n);
}

static void test_signature_lists(void) {
        static const struct {
                uint32_t list, header, signature;
                size_t entries;
                const char *problem;
        } cases[] = {
                { 28 + 2 * 48, 0, 48, 2, NULL },
                { 28 + 2 * 48 + 8, 8, 48, 2, NULL },                            /* a header is skipped */
                { 20, 0, 48, 0, "offset 0x0: signature list of 20 bytes" },     /* smaller than its header */
                { 28 + 3 * 48, 0, 48, 0, "does not fit the 124 bytes left" },   /* longer than the data */
                { 0xffffffff, 0, 48, 0, "does not fit" },
                { 28 + 2 * 48, 0xffffffe0, 48, 0, "with a header of 4294967264" },
                { 28 + 2 * 48, 0, 0, 0, "signatures of 0 bytes" },              /* no division by zero */
                { 28 + 2 * 48, 0, 16, 0, "signatures of 16 bytes" },
                { 28 + 2 * 48, 0, 40, 0, "signatures of 40 bytes" },            /* not a SHA-256 size */
                { 28 + 2 * 48, 0, 0xffffffff, 0, "cannot be ones" },
                { 28 + 2 * 48, 4, 48, 1, "the last 44 bytes ignored" },
        };
        uint8_t digest[32] = { 7 };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(bytes_done) Bytes b = {};

                fprintf(stderr, "case %zu\n", i);
                put(&b, sha256.bytes, 16);
                put_u32(&b, cases[i].list);
                put_u32(&b, cases[i].header);
                put_u32(&b, cases[i].signature);
                put_fill(&b, 0, cases[i].header < 64 ? cases[i].header : 0);
                for (int k = 0; k < 2; k++) {
                        put(&b, owner.bytes, 16);
                        put(&b, digest, 32);
                }
                check_lists(&b, cases[i].entries, cases[i].problem);
        }
}

static void test_signature_list_sequence(void) {
        _cleanup_(bytes_done) Bytes b = {};
        uint8_t digest[32] = { 9 };

        /* a good list, then one cut short, then garbage: the first one's entries stay */
        put_signature_list(&b, &sha256, 28 + 48, 0, 48, &owner, digest, 32, 1);
        put_signature_list(&b, &sha256, 28 + 48, 0, 48, &owner, digest, 32, 1);
        b.n -= 10;
        check_lists(&b, 1, "offset 0x4c: signature list of 76 bytes");
        b.n = 28 + 48 + 10;
        check_lists(&b, 1, "offset 0x4c: signature list header cut short");
        /* an unknown type is split into entries too; the caller decides what they are */
        bytes_done(&b);
        put_signature_list(&b, &owner, 28 + 3 * 20, 0, 20, &owner, "abcd", 4, 3);
        check_lists(&b, 3, NULL);
}

static void test_certificates(void) {
        _cleanup_(bytes_done) Bytes db = {}, vars = {}, file = {};
        _cleanup_(varstore_report_freep) VarstoreReport *r = NULL;
        _cleanup_(freep) uint8_t *huge = NULL;
        _cleanup_(freep) char *error = NULL;
        EfiCertificate c;
        size_t huge_size = 16U * 1024U * 1024U;

        /* a 16 MiB "certificate" is not handed to OpenSSL */
        huge = calloc(1, huge_size);
        CHECK(huge);
        huge[0] = 0x30;
        CHECK(efi_certificate_parse(huge, huge_size, &c, &error) == -EBADMSG);
        CHECK_STREQ(error, "certificate of 16777216 bytes, more than 65536");
        /* DER that OpenSSL refuses, between two good ones: both good ones are read */
        put_signature_list(&db, &x509, (uint32_t) (28 + 16 + test_pk_size), 0, (uint32_t) (16 + test_pk_size), &owner,
                           test_pk, test_pk_size, 1);
        put_signature_list(&db, &x509, 28 + 16 + 64, 0, 16 + 64, &owner, huge, 64, 1);
        put_signature_list(&db, &x509, (uint32_t) (28 + 16 + test_pk_size - 100), 0,
                           (uint32_t) (16 + test_pk_size - 100), &owner, test_pk, test_pk_size - 100, 1);
        /* trailing bytes after the DER are not part of its digest */
        put_signature_list(&db, &x509, (uint32_t) (28 + 16 + test_pk_size + 5), 0, (uint32_t) (16 + test_pk_size + 5),
                           &owner, test_pk, test_pk_size, 1);
        put_fill(&db, 0, 5);
        put_variable(&vars, true, 0x3f, "PK", &global, "", 0);
        put_variable(&vars, true, 0x3f, "db", &security, db.p, db.n);
        make_volume(&file, true, VOLUME, VOLUME, 0, &vars);
        r = parse_store(&file);
        CHECK(r->n_certificates == 2);
        CHECK_STREQ(r->certificates[0].certificate.id, r->certificates[1].certificate.id);
        CHECK(problems_mention(r->problems, "db: offset 0x"));
        CHECK(problems_mention(r->problems, "not an X.509 certificate in DER"));
        CHECK(strv_length(r->problems) == 2);
        /* an empty PK is no PK */
        CHECK(r->secure_boot == SECURE_BOOT_SETUP_MODE);
        CHECK(r->databases[EFI_DATABASE_PK].present);
}

static char *path_text(const Bytes *b, size_t want_problems) {
        _cleanup_(efi_problems_done) EfiProblems problems = {};
        char *s = NULL;

        CHECK(efi_device_path_to_text(b->p, b->n, "Boot0001", &problems, &s) == 0);
        STRV_FOREACH(p, problems.list)
                fprintf(stderr, "  problem: %s\n", *p);
        CHECK(problems.n == want_problems);
        return s;
}

static void test_device_paths(void) {
        _cleanup_(bytes_done) Bytes b = {}, hd = {}, ip = {}, mac = {};
        _cleanup_(freep) char *s = NULL, *t = NULL, *u = NULL;
        EfiGuid part = guid("0d7e3a0b-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
        static const uint8_t pciroot[] = { 0xd0, 0x41, 0x03, 0x0a, 0, 0, 0, 0 }, pci[] = { 2, 0x1f },
                             sata[] = { 0, 0, 0xff, 0xff, 0, 0 }, scsi[] = { 1, 0, 2, 0 };

        put_node(&b, 2, 1, pciroot, sizeof(pciroot));
        put_node(&b, 1, 1, pci, sizeof(pci));
        put_node(&b, 3, 0x12, sata, sizeof(sata));
        put_u32(&hd, 1);
        put_u64(&hd, 0x800);
        put_u64(&hd, 0x100000);
        put(&hd, part.bytes, 16);
        put_u8(&hd, 2);
        put_u8(&hd, 2);
        put_node(&b, 4, 1, hd.p, hd.n);
        bytes_done(&hd);
        put_utf16(&hd, "\\EFI\\debian\\shimx64.efi");
        put_node(&b, 4, 4, hd.p, hd.n);
        put_node(&b, 0x7f, 0x01, NULL, 0);              /* a second instance */
        put_node(&b, 2, 1, pciroot, sizeof(pciroot));
        put_node(&b, 3, 2, scsi, sizeof(scsi));
        put_node(&b, 0x05, 0x01, "abc", 3);             /* BIOS boot: not one the text form knows here */
        put_node(&b, 1, 1, pci, 1);                     /* a PCI node too short for one */
        put_end(&b);
        s = path_text(&b, 0);
        CHECK_STREQ(s, "PciRoot(0x0)/Pci(0x1f,0x2)/Sata(0x0,0x0)/HD(1,GPT,0d7e3a0b-1c2d-4e5f-8a9b-0c1d2e3f4a5b,0x800,"
                       "0x100000)/\\EFI\\debian\\shimx64.efi,PciRoot(0x0)/Scsi(0x1,0x2)/Path(5,1)/Path(1,1)");

        /* network boot: MAC, IPv4, Uri */
        put_fill(&mac, 0, 32);
        mac.p[0] = 0x52, mac.p[1] = 0x54, mac.p[5] = 0x12;
        put_u8(&mac, 1);
        put_node(&ip, 3, 0x0b, mac.p, mac.n);
        bytes_done(&mac);
        put(&mac, "\x0a\x00\x02\x0f" "\x0a\x00\x02\x02", 8);
        put_u16(&mac, 0);
        put_u16(&mac, 69);
        put_u16(&mac, 17);
        put_u8(&mac, 0);
        put(&mac, "\x0a\x00\x02\x02" "\xff\xff\xff\x00", 8);
        put_node(&ip, 3, 0x0c, mac.p, mac.n);
        put_node(&ip, 3, 0x18, "http://boot/x\x01.efi", 18);
        put_end(&ip);
        t = path_text(&ip, 0);
        CHECK_STREQ(t, "MAC(525400000012,0x1)/IPv4(10.0.2.2,UDP,DHCP,10.0.2.15,10.0.2.2,255.255.255.0)/"
                       "Uri(http://boot/x%01.efi)");

        /* nodes of length 0, 1 and 3, past the end, and no end node at all */
        for (uint16_t length = 0; length < 4; length++) {
                _cleanup_(bytes_done) Bytes bad = {};
                _cleanup_(freep) char *v = NULL;

                put_node(&bad, 1, 1, pci, sizeof(pci));
                put_u8(&bad, 1);
                put_u8(&bad, 1);
                put_u16(&bad, length);
                put_end(&bad);
                v = path_text(&bad, 1);
                CHECK_STREQ(v, "Pci(0x1f,0x2)");
        }
        bytes_done(&b);
        put_node(&b, 1, 1, pci, sizeof(pci));
        b.p[2] = 0xff;
        u = path_text(&b, 1);
        CHECK_STREQ(u, "");
        free(u);
        b.p[2] = 6;
        u = path_text(&b, 1);                           /* no end node */
        CHECK_STREQ(u, "Pci(0x1f,0x2)");
        free(u);
        /* more nodes than the bound: cut, with a problem */
        bytes_done(&b);
        for (unsigned i = 0; i < 1000; i++)
                put_node(&b, 1, 1, pci, sizeof(pci));
        put_end(&b);
        u = path_text(&b, 1);
        CHECK(strlen(u) < EFI_DEVICE_PATH_TEXT_MAX + 64 && endswith(u, "/..."));
}

static void test_load_options(void) {
        _cleanup_(bytes_done) Bytes path = {}, opt = {};
        _cleanup_(efi_problems_done) EfiProblems problems = {};
        static const uint8_t pci[] = { 2, 0x1f };
        EfiLoadOption o;

        put_node(&path, 1, 1, pci, sizeof(pci));
        put_end(&path);
        put_u32(&opt, 1);
        put_u16(&opt, (uint16_t) path.n);
        put_utf16(&opt, "debian");
        put(&opt, path.p, path.n);
        put(&opt, "optional", 8);
        CHECK(efi_load_option_parse(opt.p, opt.n, "Boot0003", &problems, &o) == 0);
        CHECK(problems.n == 0);
        CHECK_STREQ(o.description, "debian");
        CHECK_STREQ(o.device_path, "Pci(0x1f,0x2)");
        CHECK(efi_load_option_is_active(&o) && o.optional_data_size == 8);
        efi_load_option_done(&o);
        /* FilePathListLength past the data: the path read as far as it goes */
        opt.p[4] = 0xff, opt.p[5] = 0xff;
        CHECK(efi_load_option_parse(opt.p, opt.n, "Boot0003", &problems, &o) == 0);
        CHECK(problems_mention(problems.list, "Boot0003: device path list of 65535 bytes runs past"));
        CHECK_STREQ(o.device_path, "Pci(0x1f,0x2)");
        efi_load_option_done(&o);
        /* every prefix of it: no crash, no read past it */
        for (size_t n = 0; n < opt.n; n++) {
                _cleanup_(freep) uint8_t *copy = malloc(n ?: 1);

                memcpy(copy, opt.p, n);
                CHECK(efi_load_option_parse(copy, n, "Boot0003", &problems, &o) == 0);
                CHECK(o.description && o.device_path);
                efi_load_option_done(&o);
        }
        CHECK(problems_mention(problems.list, "shorter than its header"));
        CHECK(problems_mention(problems.list, "description without a terminating NUL"));
}

static VarstoreReport *parse_json(const char *text) {
        VarstoreReport *r = NULL;

        CHECK(varstore_report_parse((const uint8_t *) text, strlen(text), strlen(text), NOW, &r) == 0);
        dump(r);
        return r;
}

static void test_json_store(void) {
        _cleanup_(varstore_report_freep) VarstoreReport *r = NULL, *s = NULL, *t = NULL;
        _cleanup_(strbuf_done) StrBuf b = {};
        _cleanup_(bytes_done) Bytes pk = {};
        const EfiVariable *v;

        strbuf_puts(&b, "{\"version\": 2, \"variables\": [");
        strbuf_puts(&b, "{\"guid\": \"8be4df61-93ca-11d2-aa0d-00e098032b8c\", \"name\": \"PK\", \"attr\": 39, "
                        "\"data\": \"");
        put_signature_list(&pk, &x509, (uint32_t) (28 + 16 + test_pk_size), 0, (uint32_t) (16 + test_pk_size), &owner,
                           test_pk, test_pk_size, 1);
        for (size_t i = 0; i < pk.n; i++)
                strbuf_printf(&b, "%02x", pk.p[i]);
        strbuf_puts(&b, "\", \"time\": \"e9070101000000000000000000000000\"}, "
                        "{\"guid\": \"8BE4DF61-93CA-11D2-AA0D-00E098032B8C\", \"name\": \"Timeout\", \"attr\": 7, "
                        "\"data\": \"0500\", \"digest\": \"00ff\"}, "
                        "{\"guid\": \"not-a-guid\", \"name\": \"Bad\", \"attr\": 7, \"data\": \"00\"}, "
                        "{\"guid\": \"8be4df61-93ca-11d2-aa0d-00e098032b8c\", \"name\": \"Odd\", \"attr\": 7, "
                        "\"data\": \"0\"}, "
                        "{\"guid\": \"8be4df61-93ca-11d2-aa0d-00e098032b8c\", \"name\": \"Neg\", \"attr\": -1, "
                        "\"data\": \"\"}, "
                        "{\"guid\": \"8be4df61-93ca-11d2-aa0d-00e098032b8c\", \"name\": \"Big\", \"attr\": 4294967296, "
                        "\"data\": \"\"}, "
                        "{\"guid\": \"8be4df61-93ca-11d2-aa0d-00e098032b8c\", \"name\": \"Line\\nBreak\", \"attr\": 7, "
                        "\"data\": \"\"}, "
                        "[1], "
                        "{\"guid\": \"8be4df61-93ca-11d2-aa0d-00e098032b8c\", \"name\": \"Empty\", \"attr\": 4294967295, "
                        "\"data\": \"\"}]}");
        CHECK(!b.oom);
        r = parse_json(b.buf);
        CHECK(r->layout.format == VARSTORE_JSON);
        CHECK(r->variables->n == 3);
        CHECK(r->secure_boot == SECURE_BOOT_ENFORCING);
        CHECK(r->n_certificates == 1 && r->certificates[0].database == EFI_DATABASE_PK);
        CHECK(r->has_timeout && r->timeout == 5);
        v = efi_variable_list_find(r->variables, "Timeout", &global);
        CHECK(v && v->attributes == 7 && v->digest_size == 2 && v->digest[1] == 0xff);
        v = efi_variable_list_find(r->variables, "Empty", &global);
        CHECK(v && v->attributes == UINT32_MAX && v->size == 0 && !v->data);
        CHECK(problems_mention(r->problems, "variables[0].time: missing or not valid") == false);
        CHECK(problems_mention(r->problems, "variables[2].guid: missing or not valid"));
        CHECK(problems_mention(r->problems, "variables[3].data"));
        CHECK(problems_mention(r->problems, "variables[4].attr"));
        CHECK(problems_mention(r->problems, "variables[5].attr"));
        CHECK(problems_mention(r->problems, "variables[6].name"));
        CHECK(problems_mention(r->problems, "variables[7]: not an object"));
        CHECK(strv_length(r->problems) == 6);

        /* not a store: wrong version, no list, not JSON at all */
        s = parse_json("{\"version\": 3, \"variables\": []}");
        CHECK(s->variables->n == 0 && problems_mention(s->problems, "version missing or not 2"));
        CHECK(s->secure_boot == SECURE_BOOT_UNKNOWN);
        t = parse_json("{\"version\": 2, \"variables\": [}");
        CHECK(problems_mention(t->problems, "JSON store: "));
}

static void test_json_store_limits(void) {
        _cleanup_(varstore_report_freep) VarstoreReport *r = NULL, *s = NULL, *t = NULL;
        _cleanup_(strbuf_done) StrBuf b = {};
        _cleanup_(freep) char *big = NULL;
        size_t n = 3U * 1024U * 1024U;

        /* a million variables: the reader stops at its bound, having built nothing large */
        strbuf_puts(&b, "{\"version\": 2, \"variables\": [");
        for (unsigned i = 0; i < 1000000; i++)
                strbuf_puts(&b, i ? ",{}" : "{}");
        strbuf_puts(&b, "]}");
        CHECK(!b.oom);
        r = parse_json(b.buf);
        CHECK(r->variables->n == 0 && strv_contains(r->warnings, "unreadable"));
        CHECK(problems_mention(r->problems, "JSON store: "));
        /* one data string longer than any variable may be */
        big = malloc(n + 64);
        CHECK(big);
        strcpy(big, "{\"version\": 2, \"variables\": [{\"data\": \"");
        memset(big + strlen(big), 'a', n);
        strcpy(big + strlen("{\"version\": 2, \"variables\": [{\"data\": \"") + n, "\"}]}");
        s = parse_json(big);
        CHECK(s->variables->n == 0 && problems_mention(s->problems, "JSON store: "));
        /* a 100 MB store is not read at all: only its head was, and the report says so */
        CHECK(varstore_report_parse((const uint8_t *) big, 4096, UINT64_C(100000000), NOW, &t) == 0);
        CHECK(t->layout.format == VARSTORE_JSON && !t->variables);
        CHECK(problems_mention(t->problems, "JSON store of 100000000 bytes, more than the 16777216 read"));
}

/* A store and a template: the known certificates the template holds in KEK or db and the store lacks, and the
 * dbx entries it lacks. Certificates by digest only are no drift: nobody can say what they succeed. */
static void test_compare(void) {
        _cleanup_(bytes_done) Bytes vars = {}, file = {}, tvars = {}, tfile = {}, dbx = {};
        _cleanup_(varstore_report_freep) VarstoreReport *store = NULL, *template = NULL;
        uint8_t digests[3][32] = { { 1 }, { 2 }, { 3 } };

        put_keys(&vars, true, true);
        make_volume(&file, true, VOLUME, VOLUME, 0, &vars);
        store = parse_store(&file);
        put_keys(&tvars, true, false);
        for (int i = 0; i < 3; i++)
                put_signature_list(&dbx, &sha256, 28 + 48, 0, 48, &owner, digests[i], 32, 1);
        put_variable(&tvars, true, 0x3f, "dbx", &security, dbx.p, dbx.n);
        make_volume(&tfile, true, VOLUME, VOLUME, 0, &tvars);
        template = parse_store(&tfile);
        CHECK(template->n_dbx == 3);
        CHECK(store->n_dbx == 2);       /* the same digest twice */
        CHECK(varstore_report_compare(store, template) == 0);
        /* the store's dbx holds { 1 } twice; the template's { 1 }, { 2 }, { 3 } */
        CHECK(store->dbx_drift == 2);
        CHECK(strv_contains(store->warnings, "dbx-drift:2"));
        CHECK(!store->template_drift);
        /* compared with itself: nothing */
        CHECK(varstore_report_compare(store, store) == 0);
        CHECK(!store->warnings);
        CHECK(varstore_report_compare(template, store) == 0);
        CHECK(!template->warnings);
}

static void test_tcg_boot(void) {
        static const char *const want[] = {
                "Fv(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)",
                "PciRoot(0x0)/Pci(0x1f,0x2)/Sata(0x2,0x0)",
                "PciRoot(0x0)/Pci(0x2,0x0)/MAC(525400123456,0x1)",
                "PciRoot(0x0)/Pci(0x2,0x0)/MAC(525400123456,0x1)/IPv4(0.0.0.0,0x0,DHCP,0.0.0.0,0.0.0.0,0.0.0.0)",
                "PciRoot(0x0)/Pci(0x2,0x0)/MAC(525400123456,0x1)/IPv6(0000:0000:0000:0000:0000:0000:0000:0000,0x0,"
                "Static,0000:0000:0000:0000:0000:0000:0000:0000,0x40,0000:0000:0000:0000:0000:0000:0000:0000)",
                "PciRoot(0x0)/Pci(0x2,0x0)/MAC(525400123456,0x1)/IPv4(0.0.0.0,0x0,DHCP,0.0.0.0,0.0.0.0,0.0.0.0)/Uri()",
                "PciRoot(0x0)/Pci(0x2,0x0)/MAC(525400123456,0x1)/IPv6(0000:0000:0000:0000:0000:0000:0000:0000,0x0,"
                "Static,0000:0000:0000:0000:0000:0000:0000:0000,0x40,0000:0000:0000:0000:0000:0000:0000:0000)/Uri()",
                "Fv(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(7c04a583-9e3e-4f1c-ad65-e05268d0b4d1)",
        };
        _cleanup_(freep) char *path = test_data_path("efi/ovmf-4m-tcg-boot.fd");
        _cleanup_(freep) uint8_t *data = NULL;
        _cleanup_(varstore_report_freep) VarstoreReport *r = NULL;
        size_t n;

        data = (uint8_t *) test_read_file(path, &n);
        CHECK(varstore_report_parse(data, n, n, NOW, &r) == 0);
        dump(r);
        CHECK(!r->problems && r->secure_boot == SECURE_BOOT_SETUP_MODE);
        CHECK(r->n_boot_order == ELEMENTSOF(want) && r->n_boot_entries == ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                CHECK(r->boot_order[i] == i && r->boot_entries[i].number == i);
                CHECK(efi_load_option_is_active(&r->boot_entries[i].option));
                CHECK_STREQ(r->boot_entries[i].option.device_path, want[i]);
        }
        CHECK_STREQ(r->boot_entries[2].option.description, "UEFI PXEv4 (MAC:525400123456)");
        CHECK(r->has_timeout && r->timeout == 0 && !r->has_boot_next);
}

int main(void) {
        _cleanup_(freep) char *path = test_data_path("efi/test-pk.der");

        global = guid("8be4df61-93ca-11d2-aa0d-00e098032b8c");
        security = guid("d719b2cb-3d3a-4596-a3bc-dad00e67656f");
        x509 = guid("a5c059a1-94e4-4aa7-87b5-ab155c2bf072");
        sha256 = guid("c1c41626-504c-4092-aca9-41f936934328");
        owner = guid("77fa9abd-0359-4d32-bd60-28f4e78f784b");
        test_pk = (uint8_t *) test_read_file(path, &test_pk_size);

        RUN(test_enrolled);
        RUN(test_secure_boot_state);
        RUN(test_live_rule);
        RUN(test_truncated);
        RUN(test_sizes_lie);
        RUN(test_store_header);
        RUN(test_names);
        RUN(test_too_many_variables);
        RUN(test_signature_lists);
        RUN(test_signature_list_sequence);
        RUN(test_certificates);
        RUN(test_device_paths);
        RUN(test_load_options);
        RUN(test_json_store);
        RUN(test_json_store_limits);
        RUN(test_compare);
        RUN(test_tcg_boot);
        free(test_pk);
        return 0;
}
