/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "config.h"
#include "resolver/resolver.h"
#include "tests.h"

static const char *const system_dirs[] = { "/usr/share/qemu/firmware", "/etc/qemu/firmware", NULL };
#define USR "usr/share/qemu/firmware/"
#define ETC "etc/qemu/firmware/"

static void write_descriptor(const char *root, const char *relative, const char *interfaces, const char *mapping,
                             const char *targets, const char *features) {
        _cleanup_(freep) char *j = strdup_printf(
                "{ \"description\": \"%s\", \"interface-types\": [ %s ], \"mapping\": { %s },\n"
                "  \"targets\": [ %s ], \"features\": [ %s ], \"tags\": [] }\n",
                relative, interfaces, mapping, targets, features);
        CHECK(j);
        test_write_file(root, relative, j);
}

#define SPLIT(code, vars, fmt)                                                                          \
        "\"device\": \"flash\", \"executable\": { \"filename\": \"/fw/" code "\", \"format\": \"" fmt "\" }, " \
        "\"nvram-template\": { \"filename\": \"/fw/" vars "\", \"format\": \"" fmt "\" }"
#define X86_Q35 "{ \"architecture\": \"x86_64\", \"machines\": [ \"pc-q35-*\" ] }"
#define X86_ALL "{ \"architecture\": \"x86_64\", \"machines\": [ \"pc-q35-*\", \"pc-i440fx-*\" ] }"
#define ARM_VIRT "{ \"architecture\": \"aarch64\", \"machines\": [ \"virt-*\" ] }"

/* A Debian-like tree plus one of every other kind of descriptor. */
static char *make_tree(void) {
        char *root = test_tmpdir_new();

        write_descriptor(root, USR "40-x86-enrolled.json", "\"uefi\"", SPLIT("CODE.sb.fd", "VARS.ms.fd", "raw"),
                         X86_Q35, "\"acpi-s3\", \"enrolled-keys\", \"requires-smm\", \"secure-boot\"");
        write_descriptor(root, USR "50-x86-secure.json", "\"uefi\"", SPLIT("CODE.sb.fd", "VARS.fd", "raw"),
                         X86_Q35, "\"acpi-s3\", \"requires-smm\", \"secure-boot\"");
        write_descriptor(root, USR "55-x86-qcow2.json", "\"uefi\"", SPLIT("CODE.qcow2", "VARS.qcow2", "qcow2"),
                         X86_ALL, "\"acpi-s3\"");
        write_descriptor(root, USR "60-x86.json", "\"uefi\"", SPLIT("CODE.fd", "VARS.fd", "raw"), X86_ALL,
                         "\"acpi-s3\", \"future-thing\"");
        write_descriptor(root, USR "61-x86-stateless.json", "\"uefi\"",
                         "\"device\": \"flash\", \"mode\": \"stateless\", "
                         "\"executable\": { \"filename\": \"/fw/SEV.fd\", \"format\": \"raw\" }",
                         X86_Q35, "\"amd-sev\", \"amd-sev-es\"");
        write_descriptor(root, USR "62-x86-kernel.json", "\"uefi\"",
                         "\"device\": \"kernel\", \"filename\": \"/fw/KERNEL\"", X86_Q35, "");
        write_descriptor(root, USR "63-x86-igvm.json", "\"uefi\"", "\"device\": \"igvm\", \"filename\": \"/fw/FW.igvm\"",
                         X86_Q35, "\"amd-sev-snp\"");
        write_descriptor(root, USR "70-seabios.json", "\"bios\"",
                         "\"device\": \"memory\", \"filename\": \"/fw/bios-256k.bin\"", X86_ALL, "\"acpi-s3\"");
        write_descriptor(root, USR "80-arm.json", "\"uefi\"", SPLIT("AA_CODE.fd", "AA_VARS.fd", "raw"), ARM_VIRT, "");
        write_descriptor(root, USR "85-missing.json", "\"uefi\"", SPLIT("GONE.fd", "VARS.fd", "raw"), X86_ALL, "");
        write_descriptor(root, USR "90-masked.json", "\"uefi\"", SPLIT("CODE.fd", "VARS.fd", "raw"), X86_ALL, "");
        test_write_file(root, ETC "90-masked.json", "");
        write_descriptor(root, USR "95-shadowed.json", "\"uefi\"", SPLIT("CODE.fd", "VARS.fd", "raw"), X86_ALL, "");
        write_descriptor(root, ETC "95-shadowed.json", "\"uefi\"", SPLIT("CODE.fd", "VARS.fd", "raw"), ARM_VIRT, "");
        test_write_file(root, USR "99-invalid.json", "{ \"interface-types\": [ \"efi\" ] }");

        static const char *const files[] = { "CODE.sb.fd", "VARS.ms.fd", "VARS.fd", "CODE.qcow2", "VARS.qcow2",
                                             "CODE.fd", "SEV.fd", "KERNEL", "FW.igvm", "bios-256k.bin",
                                             "AA_CODE.fd", "AA_VARS.fd" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_(freep) char *p = path_join("fw", files[i]);
                test_write_file(root, p, "image");
        }
        test_symlink("CODE.fd", root, "fw/CODE-link.fd");
        return root;
}

static char *root;
static Catalogue *cat;

static Request x86(const char *machine) {
        Request r = { .has_architecture = true, .architecture = ARCH_X86_64 };
        if (machine)
                r.machine = strdup(machine);
        return r;
}

/* Resolves and returns the selected name, or NULL. */
static const char *resolve(const Request *r) {
        const Entry *e = NULL;
        int k = resolver_resolve(cat, r, &e);

        CHECK(k >= 0);
        return k > 0 ? e->name : NULL;
}

static void check_resolves(Request *r, const char *expected) {
        CHECK_STREQ(resolve(r), expected);
        request_done(r);
}

static void test_default_and_features(void) {
        Request r = x86("pc-q35-9.2");
        check_resolves(&r, "40-x86-enrolled.json");

        r = x86("pc-q35-9.2");
        CHECK(request_set_feature(&r, "enrolled-keys", false) == 0);
        check_resolves(&r, "50-x86-secure.json");

        r = x86("pc-q35-9.2");
        CHECK(request_set_feature(&r, "secure-boot", false) == 0);
        check_resolves(&r, "55-x86-qcow2.json");

        /* i440fx has no secure builds here */
        r = x86("pc-i440fx-9.2");
        check_resolves(&r, "55-x86-qcow2.json");

        /* unknown feature names are matched like known ones */
        r = x86(NULL);
        CHECK(request_set_feature(&r, "future-thing", true) == 0);
        check_resolves(&r, "60-x86.json");
        r = x86(NULL);
        CHECK(request_set_feature(&r, "future-thing", false) == 0);
        CHECK(request_set_feature(&r, "acpi-s3", true) == 0);
        CHECK(request_set_feature(&r, "secure-boot", false) == 0);
        check_resolves(&r, "55-x86-qcow2.json");

        /* the last word on a feature wins */
        r = x86(NULL);
        CHECK(request_set_feature(&r, "secure-boot", true) == 0);
        CHECK(request_set_feature(&r, "secure-boot", false) == 0);
        CHECK(r.features_required == 0);
        check_resolves(&r, "55-x86-qcow2.json");
}

static void test_smm(void) {
        Request r = x86("pc-q35-9.2");
        r.has_smm = true;
        r.smm = false;
        check_resolves(&r, "55-x86-qcow2.json");

        r = x86("pc-q35-9.2");
        r.has_smm = true;
        r.smm = true;           /* SMM available: no constraint */
        check_resolves(&r, "40-x86-enrolled.json");
}

static void test_devices_and_modes(void) {
        Request r = x86(NULL);
        r.has_device = true;
        r.device = DEVICE_KERNEL;
        check_resolves(&r, "62-x86-kernel.json");

        r = x86(NULL);
        r.has_device = true;
        r.device = DEVICE_IGVM;
        check_resolves(&r, "63-x86-igvm.json");

        r = x86(NULL);
        r.has_mode = true;
        r.mode = FLASH_MODE_STATELESS;
        check_resolves(&r, "61-x86-stateless.json");

        r = x86(NULL);
        r.has_mode = true;
        r.mode = FLASH_MODE_COMBINED;
        r.has_device = true;
        r.device = DEVICE_IGVM;
        check_resolves(&r, "63-x86-igvm.json");         /* the mode limits flash descriptors only */

        r = x86(NULL);
        r.has_mode = true;
        r.mode = FLASH_MODE_COMBINED;
        CHECK(resolve(&r) == NULL);                     /* memory: only SeaBIOS, which is bios */
        request_done(&r);

        /* memory is in the default set: SeaBIOS for a bios request */
        r = x86("pc-i440fx-9.2");
        r.has_interface = true;
        r.interface = INTERFACE_BIOS;
        check_resolves(&r, "70-seabios.json");
}

static void test_formats(void) {
        Request r = x86("pc-i440fx-9.2");
        r.has_formats = true;
        r.formats = 1U << FORMAT_RAW;
        check_resolves(&r, "60-x86.json");

        r = x86("pc-q35-9.2");
        r.has_formats = true;
        r.formats = 1U << FORMAT_QCOW2;
        CHECK(request_set_feature(&r, "secure-boot", false) == 0);
        check_resolves(&r, "55-x86-qcow2.json");
}

static void test_machine_aliases(void) {
        CHECK_STREQ(machine_alias_expand("q35", ARCH_X86_64), "pc-q35-" QEMU_CURRENT_MACHINE_VERSION);
        CHECK_STREQ(machine_alias_expand("pc", ARCH_I386), "pc-i440fx-" QEMU_CURRENT_MACHINE_VERSION);
        CHECK_STREQ(machine_alias_expand("virt", ARCH_AARCH64), "virt-" QEMU_CURRENT_MACHINE_VERSION);
        CHECK(machine_alias_expand("virt", ARCH_X86_64) == NULL);
        CHECK(machine_alias_expand("virt", ARCH_RISCV64) == NULL);      /* riscv64's virt is unversioned */
        CHECK(machine_alias_expand("microvm", ARCH_X86_64) == NULL);

        Request r = x86("q35");
        check_resolves(&r, "40-x86-enrolled.json");
        r = x86("pc");
        check_resolves(&r, "55-x86-qcow2.json");
        r = (Request) { .has_architecture = true, .architecture = ARCH_AARCH64, .machine = strdup("virt") };
        check_resolves(&r, "80-arm.json");
        r = x86("microvm");
        CHECK(resolve(&r) == NULL);
        request_done(&r);
}

static void test_check_files_and_exclude(void) {
        Request r = x86("pc-i440fx-9.2");
        r.exclude = strv_copy((char *[]) { (char *) "55-x86-qcow2.json", (char *) "60-x86.json", NULL });
        CHECK(resolve(&r) == NULL);                     /* 85- has a missing image */
        r.has_check_files = true;
        r.check_files = false;
        check_resolves(&r, "85-missing.json");
}

static void test_paths(void) {
        Request r = x86(NULL);
        r.executable = strdup("/fw/CODE-link.fd");       /* a symlink to CODE.fd: same file */
        check_resolves(&r, "60-x86.json");

        r = x86(NULL);
        r.executable = strdup("/fw/CODE.sb.fd");
        r.nvram_template = strdup("/fw/VARS.fd");
        check_resolves(&r, "50-x86-secure.json");

        r = x86(NULL);
        r.executable = strdup("/fw/GONE.fd");            /* not on disk: compared literally */
        r.has_check_files = true;
        check_resolves(&r, "85-missing.json");

        r = x86(NULL);
        r.executable = strdup("/fw/nothing.fd");
        CHECK(resolve(&r) == NULL);
        request_done(&r);
}

static const Verdict *find_verdict(const Explanation *x, const char *name, VerdictKind kind) {
        for (size_t i = 0; i < x->n_verdicts; i++)
                if (streq(x->verdicts[i].entry->name, name) && x->verdicts[i].kind == kind)
                        return &x->verdicts[i];
        return NULL;
}

static void test_explain(void) {
        _cleanup_(explanation_done) Explanation x = {};
        Request r = x86("pc-q35-9.2");
        const Verdict *v;

        CHECK(request_set_feature(&r, "secure-boot", true) == 0);
        CHECK(resolver_explain(cat, &r, &x) == 0);
        CHECK(x.selected && streq(x.selected->name, "40-x86-enrolled.json"));
        CHECK(x.n_verdicts == cat->n_entries + cat->n_shadowed - 1);     /* the mask itself gives way to what it hides */

        CHECK(find_verdict(&x, "40-x86-enrolled.json", VERDICT_SELECTED));
        v = find_verdict(&x, "50-x86-secure.json", VERDICT_ELIGIBLE);
        CHECK(v && strv_length(v->reasons) == 0);
        v = find_verdict(&x, "60-x86.json", VERDICT_REJECTED);
        CHECK(v && strv_length(v->reasons) == 1);
        CHECK_STREQ(v->reasons[0], "feature-missing:secure-boot");
        v = find_verdict(&x, "62-x86-kernel.json", VERDICT_REJECTED);
        CHECK(v && strv_contains(v->reasons, "device"));
        v = find_verdict(&x, "70-seabios.json", VERDICT_REJECTED);
        CHECK(v && strv_contains(v->reasons, "interface"));
        v = find_verdict(&x, "80-arm.json", VERDICT_REJECTED);
        CHECK(v && strv_contains(v->reasons, "architecture") && !strv_contains(v->reasons, "machine"));
        v = find_verdict(&x, "85-missing.json", VERDICT_REJECTED);
        CHECK(v);
        _cleanup_(freep) char *missing = strdup_printf("executable-missing:%s", "/fw/GONE.fd");
        CHECK(strv_contains(v->reasons, missing));
        v = find_verdict(&x, "90-masked.json", VERDICT_MASKED);
        CHECK(v && strv_length(v->reasons) == 1 && strncmp(v->reasons[0], "masked-by:", 10) == 0);
        CHECK(endswith(v->reasons[0], "/etc/qemu/firmware/90-masked.json"));
        v = find_verdict(&x, "95-shadowed.json", VERDICT_SHADOWED);
        CHECK(v && strncmp(v->reasons[0], "shadowed-by:", 12) == 0);
        CHECK(endswith(v->reasons[0], "/etc/qemu/firmware/95-shadowed.json"));
        v = find_verdict(&x, "99-invalid.json", VERDICT_INVALID);
        CHECK(v && strv_length(v->reasons) >= 1);
        CHECK(strncmp(v->reasons[0], "parse-error:", 12) == 0);
        CHECK(strstr(v->reasons[0], "unknown interface type 'efi'"));
        request_done(&r);

        /* verdicts come in rank order */
        for (size_t i = 1; i < x.n_verdicts; i++)
                CHECK(x.verdicts[i - 1].entry->rank <= x.verdicts[i].entry->rank);
}

static void test_no_match_summary(void) {
        _cleanup_(explanation_done) Explanation x = {};
        _cleanup_(freep) char *msg = NULL;
        Request r = x86("pc-q35-9.2");

        CHECK(request_set_feature(&r, "intel-tdx", true) == 0);
        CHECK(resolve(&r) == NULL);
        CHECK(resolver_explain(cat, &r, &x) == 0);
        CHECK(x.selected == NULL);
        msg = explanation_summary(&x, &r);
        CHECK(msg);
        fprintf(stderr, "%s\n", msg);
        CHECK(strncmp(msg, "No firmware matches x86_64 machine 'pc-q35-9.2' uefi +intel-tdx: ", 64) == 0);
        CHECK(strstr(msg, "feature-missing:intel-tdx"));
        CHECK(strstr(msg, "1 invalid, 1 masked, 1 shadowed"));
        /* the closest candidate is the first one only missing the feature */
        CHECK(strstr(msg, "closest: 40-x86-enrolled.json (feature-missing:intel-tdx)"));
        request_done(&r);

        /* what the caller excluded is not offered as the closest */
        _cleanup_(explanation_done) Explanation y = {};
        _cleanup_(freep) char *msg2 = NULL;
        r = x86("pc-q35-9.2");
        CHECK(request_set_feature(&r, "intel-tdx", true) == 0);
        r.exclude = strv_copy((char *[]) { (char *) "40-x86-enrolled.json", NULL });
        CHECK(resolver_explain(cat, &r, &y) == 0);
        msg2 = explanation_summary(&y, &r);
        CHECK(strstr(msg2, "closest: 50-x86-secure.json (feature-missing:intel-tdx)"));
        request_done(&r);

        /* only candidates of the requested architecture are counted and offered */
        _cleanup_(explanation_done) Explanation z = {};
        _cleanup_(freep) char *msg3 = NULL;
        r = (Request) { .has_architecture = true, .architecture = ARCH_RISCV64 };
        CHECK(resolver_explain(cat, &r, &z) == 0);
        msg3 = explanation_summary(&z, &r);
        fprintf(stderr, "%s\n", msg3);
        CHECK(strstr(msg3, ": 0 rejected, 1 invalid"));
        CHECK(strstr(msg3, " for other architectures; no descriptor is for riscv64"));
        CHECK(!strstr(msg3, "closest"));
        request_done(&r);
}

static void test_alias_note(void) {
        _cleanup_(explanation_done) Explanation x = {};
        Request r = x86("q35");

        CHECK(resolver_explain(cat, &r, &x) == 0);
        for (size_t i = 0; i < x.n_verdicts; i++) {
                const Verdict *v = &x.verdicts[i];
                bool judged = v->kind <= VERDICT_REJECTED && !strv_contains(v->reasons, "architecture");

                CHECK(strv_contains(v->reasons, "machine-alias:q35=pc-q35-" QEMU_CURRENT_MACHINE_VERSION) == judged);
        }
        request_done(&r);
}

static void test_filter(void) {
        Request all = {};
        Request bios = { .has_interface = true, .interface = INTERFACE_BIOS };
        size_t n_all = 0, n_bios = 0;

        for (size_t i = 0; i < cat->n_entries; i++) {
                const Entry *e = &cat->entries[i];
                n_all += resolver_match(cat, e, &all, REQUEST_FILTER, NULL) > 0;
                n_bios += resolver_match(cat, e, &bios, REQUEST_FILTER, NULL) > 0;
        }
        /* an empty filter lists every valid descriptor, missing files included */
        CHECK(n_all == cat->n_valid);
        CHECK(n_bios == 1);
}

static void test_request_errors(void) {
        Request r = {};
        const Entry *e;
        Explanation x;

        CHECK(resolver_resolve(cat, &r, &e) == -EINVAL);
        CHECK(resolver_explain(cat, &r, &x) == -EINVAL);

        _cleanup_(freep) char *s = NULL;
        r = x86("q35");
        CHECK(request_set_feature(&r, "secure-boot", true) == 0);
        CHECK(request_set_feature(&r, "enrolled-keys", false) == 0);
        r.has_smm = true;
        s = request_to_string(&r, REQUEST_RESOLVE);
        CHECK_STREQ(s, "x86_64 machine 'q35' uefi -enrolled-keys +secure-boot smm=no");
        request_done(&r);
}

int main(void) {
        root = make_tree();
        CHECK(catalogue_build((char **) system_dirs, root, NULL, &cat) == 0);
        CHECK(cat->n_invalid == 1 && cat->n_masked == 1 && cat->n_shadowed == 2);

        RUN(test_default_and_features);
        RUN(test_smm);
        RUN(test_devices_and_modes);
        RUN(test_formats);
        RUN(test_machine_aliases);
        RUN(test_check_files_and_exclude);
        RUN(test_paths);
        RUN(test_explain);
        RUN(test_no_match_summary);
        RUN(test_alias_note);
        RUN(test_filter);
        RUN(test_request_errors);

        catalogue_free(cat);
        test_tmpdir_remove(root);
        free(root);
        return 0;
}
