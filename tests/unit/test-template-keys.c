/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Templates carry their keys: the Secure Boot state and certificates of each nvram template, read once per file
 * through the image facts, rendered with the entry, and the certificates request key with its reason
 * certificate-missing:<id> in Resolve, List filters, Explain and the NoMatch summary. */

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "efi-builder.h"
#include "resolver/render.h"
#include "resolver/resolver.h"

#define VOLUME 0x8000U
#define TEST_PK_ID "sha256:70bc4f32e7e9dd4a2f493d767bb84f4536269a49eade61ec4bfd4322a8543a2d"

static const char *const system_dirs[] = { "/usr/share/qemu/firmware", "/etc/qemu/firmware", NULL };
#define USR "usr/share/qemu/firmware/"

static char *root;
static Catalogue *cat;

static void write_bytes(const char *relative, const void *p, size_t n) {
        _cleanup_(freep) char *path = path_join(root, relative), *tmp = strdup_printf("%s.new", path);
        int fd;

        CHECK(path && tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        CHECK(write(fd, p, n) == (ssize_t) n);
        CHECK(close(fd) == 0);
        CHECK(rename(tmp, path) == 0);  /* a new inode, as a package upgrade makes */
}

/* An authenticated edk2 volume; with keys, the test certificate in PK, KEK and db. */
static void write_store(const char *relative, bool keys) {
        _cleanup_(freep) char *path = test_data_path("efi/test-pk.der");
        _cleanup_(bytes_done) Bytes list = {}, vars = {}, file = {};
        _cleanup_(freep) uint8_t *der = NULL;
        EfiGuid global = guid("8be4df61-93ca-11d2-aa0d-00e098032b8c"),
                security = guid("d719b2cb-3d3a-4596-a3bc-dad00e67656f"),
                x509 = guid("a5c059a1-94e4-4aa7-87b5-ab155c2bf072"),
                owner = guid("77fa9abd-0359-4d32-bd60-28f4e78f784b");
        size_t n;

        der = (uint8_t *) test_read_file(path, &n);
        if (keys) {
                put_signature_list(&list, &x509, (uint32_t) (28 + 16 + n), 0, (uint32_t) (16 + n), &owner, der, n,
                                   1);
                put_variable(&vars, true, 0x3f, "PK", &global, list.p, list.n);
                put_variable(&vars, true, 0x3f, "KEK", &global, list.p, list.n);
                put_variable(&vars, true, 0x3f, "db", &security, list.p, list.n);
        }
        make_volume(&file, true, VOLUME, VOLUME, 0, keys ? &vars : NULL);
        write_bytes(relative, file.p, file.n);
}

static void write_descriptor(const char *name, const char *code, const char *vars) {
        _cleanup_(freep) char *mapping = vars ?
                strdup_printf("\"device\": \"flash\", \"executable\": { \"filename\": \"/fw/%s\", "
                              "\"format\": \"raw\" }, \"nvram-template\": { \"filename\": \"/fw/%s\", "
                              "\"format\": \"raw\" }", code, vars) :
                strdup_printf("\"device\": \"flash\", \"mode\": \"stateless\", \"executable\": { \"filename\": "
                              "\"/fw/%s\", \"format\": \"raw\" }", code);
        _cleanup_(freep) char *relative = strdup_printf(USR "%s", name), *j = NULL;

        CHECK(mapping && relative);
        j = strdup_printf("{ \"description\": \"%s\", \"interface-types\": [ \"uefi\" ], \"mapping\": { %s },\n"
                          "  \"targets\": [ { \"architecture\": \"x86_64\", \"machines\": [ \"pc-q35-*\" ] } ],\n"
                          "  \"features\": [ ], \"tags\": [] }\n", name, mapping);
        CHECK(j);
        test_write_file(root, relative, j);
}

/* Templates of each kind: blank (no variables), setup mode (twice, the same file), enrolled with the test
 * certificate; a stateless build without a template; and a template that is not there. */
static void make_tree(void) {
        static const uint8_t zeros[VOLUME];

        root = test_tmpdir_new();
        test_mkdir(root, "fw");
        write_descriptor("40-blank.json", "CODE.fd", "BLANK.fd");
        write_descriptor("50-setup.json", "CODE.fd", "SETUP.fd");
        write_descriptor("55-setup-again.json", "CODE2.fd", "SETUP.fd");
        write_descriptor("60-enrolled.json", "CODE.fd", "ENROLLED.fd");
        write_descriptor("65-stateless.json", "CODE.fd", NULL);
        write_descriptor("70-gone.json", "CODE.fd", "GONE.fd");
        test_write_file(root, "fw/CODE.fd", "code");
        test_write_file(root, "fw/CODE2.fd", "code 2");
        write_bytes("fw/BLANK.fd", zeros, sizeof(zeros));
        write_store("fw/SETUP.fd", false);
        write_store("fw/ENROLLED.fd", true);
}

static const ImageFacts *template_of(const char *name) {
        const Entry *e = catalogue_find(cat, name);

        CHECK(e && e->state == ENTRY_VALID);
        return e->vars.facts;
}

static void test_facts(void) {
        const ImageFacts *blank = template_of("40-blank.json"), *setup = template_of("50-setup.json"),
                         *enrolled = template_of("60-enrolled.json");

        CHECK(blank && blank->secure_boot == SECURE_BOOT_UNKNOWN && !blank->certificates);
        CHECK(setup && setup->secure_boot == SECURE_BOOT_SETUP_MODE && !setup->certificates);
        CHECK(enrolled && enrolled->secure_boot == SECURE_BOOT_ENFORCING);
        CHECK(strv_length(enrolled->certificates) == 3);
        CHECK_STREQ(enrolled->certificates[0], "PK:" TEST_PK_ID);
        CHECK_STREQ(enrolled->certificates[1], "KEK:" TEST_PK_ID);
        CHECK_STREQ(enrolled->certificates[2], "db:" TEST_PK_ID);
        CHECK(!template_of("65-stateless.json") && !template_of("70-gone.json"));

        /* one read per file: two descriptors share SETUP.fd's facts, and five files were read in all */
        CHECK(template_of("55-setup-again.json") == setup);
        CHECK(cat->n_hashed == 5);

        CHECK(image_facts_has_certificate(enrolled, TEST_PK_ID));
        CHECK(!image_facts_has_certificate(enrolled, "microsoft-kek-2023"));
        CHECK(!image_facts_has_certificate(enrolled, TEST_PK_ID + 7));  /* the digest alone is no id */
        CHECK(!image_facts_has_certificate(enrolled, "sha256:70bc"));
        CHECK(!image_facts_has_certificate(setup, TEST_PK_ID));
        CHECK(!image_facts_has_certificate(NULL, TEST_PK_ID));
        CHECK(!image_facts_same_content(setup, enrolled));
}

static Request request(const char *first, const char *second) {
        Request r = { .has_architecture = true, .architecture = ARCH_X86_64 };

        if (first)
                CHECK(strv_extend(&r.certificates, first) == 0);
        if (second)
                CHECK(strv_extend(&r.certificates, second) == 0);
        return r;
}

static const char *resolve(const Request *r) {
        const Entry *e = NULL;
        int k = resolver_resolve(cat, r, &e);

        CHECK(k >= 0);
        return k > 0 ? e->name : NULL;
}

static void check_reasons(const Explanation *x, const char *name, const char *verdict, const char *expected) {
        for (size_t i = 0; i < x->n_verdicts; i++) {
                _cleanup_(freep) char *reasons = NULL;
                StrBuf b = {};

                if (!streq(x->verdicts[i].entry->name, name))
                        continue;
                STRV_FOREACH(s, x->verdicts[i].reasons)
                        strbuf_printf(&b, "%s%s", s == x->verdicts[i].reasons ? "" : " ", *s);
                reasons = strbuf_steal(&b);
                CHECK_STREQ(verdict_kind_to_string(x->verdicts[i].kind), verdict);
                CHECK_STREQ(strempty(reasons), expected);
                return;
        }
        CHECK(!"no verdict");
}

static void test_resolve(void) {
        _cleanup_(request_done) Request plain = request(NULL, NULL), one = request(TEST_PK_ID, NULL),
                                        both = request(TEST_PK_ID, "microsoft-kek-2023");
        _cleanup_(explanation_done) Explanation x = {};
        _cleanup_(freep) char *summary = NULL, *what = NULL;

        CHECK_STREQ(resolve(&plain), "40-blank.json");
        /* the only template holding the certificate wins, below three that rank higher */
        CHECK_STREQ(resolve(&one), "60-enrolled.json");
        CHECK(!resolve(&both));

        CHECK(resolver_explain(cat, &one, &x) == 0);
        CHECK(x.selected && streq(x.selected->name, "60-enrolled.json"));
        check_reasons(&x, "40-blank.json", "rejected", "certificate-missing:" TEST_PK_ID);
        check_reasons(&x, "55-setup-again.json", "rejected", "certificate-missing:" TEST_PK_ID);
        check_reasons(&x, "65-stateless.json", "rejected", "certificate-missing:" TEST_PK_ID);
        check_reasons(&x, "70-gone.json", "rejected",
                      "certificate-missing:" TEST_PK_ID " nvram-template-missing:/fw/GONE.fd");
        explanation_done(&x);

        CHECK(resolver_explain(cat, &both, &x) == 0);
        CHECK(!x.selected);
        check_reasons(&x, "60-enrolled.json", "rejected", "certificate-missing:microsoft-kek-2023");
        check_reasons(&x, "50-setup.json", "rejected",
                      "certificate-missing:" TEST_PK_ID " certificate-missing:microsoft-kek-2023");
        summary = explanation_summary(&x, &both);
        CHECK(summary);
        fprintf(stderr, "%s\n", summary);
        CHECK(strstr(summary, " certificate=" TEST_PK_ID " certificate=microsoft-kek-2023:"));
        CHECK(strstr(summary, "6 certificate-missing:microsoft-kek-2023"));
        CHECK(strstr(summary, "5 certificate-missing:" TEST_PK_ID));
        CHECK(strstr(summary, "closest: 60-enrolled.json (certificate-missing:microsoft-kek-2023)"));
        CHECK(resolver_summarize(cat, &both, &what) == 0);
        CHECK_STREQ(what, summary);
}

static int collect(const Entry *e, bool included, void *userdata) {
        if (included)
                CHECK(strv_extend(userdata, e->name) == 0);
        return 0;
}

static void test_filter(void) {
        _cleanup_(request_done) Request filter = request(TEST_PK_ID, NULL);
        _cleanup_(strv_freep) char **names = NULL;

        filter.has_architecture = false;        /* List: only the keys given filter */
        CHECK(resolver_filter(cat, &filter, collect, &names) == 0);
        CHECK(strv_length(names) == 1 && streq(names[0], "60-enrolled.json"));
}

static void test_render(void) {
        _cleanup_(yajl_gen_freep) yajl_gen g = render_gen_new(false);
        _cleanup_(freep) char *json = NULL, *described = NULL;

        CHECK(g && render_entry(g, catalogue_find(cat, "60-enrolled.json"), 7) == 0);
        json = render_gen_steal(g);
        CHECK(json);
        CHECK(strstr(json, "\"nvram-template-secure-boot\":\"enforcing\",\"nvram-template-certificates\":"
                           "[\"PK:" TEST_PK_ID "\",\"KEK:" TEST_PK_ID "\",\"db:" TEST_PK_ID "\"]"));
        described = render_describe(catalogue_find(cat, "65-stateless.json"), "system", 7);
        CHECK(described);
        CHECK(strstr(described, "\"nvram-template-secure-boot\": \"\""));
        CHECK(strstr(described, "\"nvram-template-certificates\": ["));
}

/* A template replaced by one holding keys: the next build reads it again, and only it. */
static void test_replaced(void) {
        _cleanup_(request_done) Request one = request(TEST_PK_ID, NULL);
        Catalogue *next = NULL;

        write_store("fw/SETUP.fd", true);
        CHECK(catalogue_build((char **) system_dirs, root, cat, &next) == 0);
        catalogue_free(cat);
        cat = next;
        CHECK(cat->n_hashed == 1);
        CHECK(template_of("50-setup.json")->secure_boot == SECURE_BOOT_ENFORCING);
        CHECK_STREQ(resolve(&one), "50-setup.json");
}

int main(void) {
        make_tree();
        CHECK(catalogue_build((char **) system_dirs, root, NULL, &cat) == 0);

        RUN(test_facts);
        RUN(test_resolve);
        RUN(test_filter);
        RUN(test_render);
        RUN(test_replaced);

        catalogue_free(cat);
        test_tmpdir_remove(root);
        free(root);
        return 0;
}
