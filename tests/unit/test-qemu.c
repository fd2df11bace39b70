/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <sys/stat.h>

#include "config.h"
#include "resolver/resolver.h"
#include "tests.h"

static const char machines_x86[] =
        "Supported machines are:\n"
        "microvm              small machine (i386)\n"
        "pc                   PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)\n"
        "pc-i440fx-7.2        PC (i440FX + PIIX, 1996) (default)\n"
        "q35                  PC (Q35 + ICH9, 2009) (alias of pc-q35-rhel9.6.0)\n"
        "pc-q35-rhel9.6.0     PC (Q35 + ICH9, 2009)\n"
        "none                 empty machine\n";

static void test_parse_machine_help(void) {
        MachineAlias *a = NULL;
        size_t n = 0;

        CHECK(qemu_parse_machine_help(machines_x86, strlen(machines_x86), &a, &n) == 0);
        CHECK(n == 2);
        CHECK_STREQ(a[0].alias, "pc");
        CHECK_STREQ(a[0].machine, "pc-i440fx-7.2");
        CHECK_STREQ(a[1].alias, "q35");
        CHECK_STREQ(a[1].machine, "pc-q35-rhel9.6.0");
        machine_aliases_free(a, n);

        /* not a machine list, or one with bytes no machine list has */
        CHECK(qemu_parse_machine_help("", 0, &a, &n) == -EBADMSG);
        CHECK(qemu_parse_machine_help("Segmentation fault\n", 19, &a, &n) == -EBADMSG);
        static const char control[] = "Supported machines are:\nq35 x (alias of pc\033[0m)\n";
        CHECK(qemu_parse_machine_help(control, strlen(control), &a, &n) == -EBADMSG);
        static const char utf8[] = "Supported machines are:\nq35 \xff (alias of pc-q35-1)\n";
        CHECK(qemu_parse_machine_help(utf8, strlen(utf8), &a, &n) == -EBADMSG);
        static const char bad_target[] = "Supported machines are:\nq35 x (alias of pc q35)\n";
        CHECK(qemu_parse_machine_help(bad_target, strlen(bad_target), &a, &n) == -EBADMSG);
        static const char empty_target[] = "Supported machines are:\nq35 x (alias of )\n";
        CHECK(qemu_parse_machine_help(empty_target, strlen(empty_target), &a, &n) == -EBADMSG);

        /* a list with no aliases is a fine answer: none are defined */
        static const char none[] = "Supported machines are:\nvirt  RISC-V VirtIO board\n";
        CHECK(qemu_parse_machine_help(none, strlen(none), &a, &n) == 0 && n == 0);
        free(a);

        /* too many aliases */
        StrBuf b = {};
        strbuf_puts(&b, "Supported machines are:\n");
        for (unsigned i = 0; i <= QEMU_ALIASES_MAX; i++)
                strbuf_printf(&b, "m%u x (alias of t%u)\n", i, i);
        _cleanup_(freep) char *many = strbuf_steal(&b);
        CHECK(qemu_parse_machine_help(many, strlen(many), &a, &n) == -E2BIG);
}

static void test_parse_version(void) {
        char *v = NULL;

        CHECK(qemu_parse_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)\n", 50, &v) == 0);
        CHECK_STREQ(v, "7.2.22");
        free(v);
        CHECK(qemu_parse_version("QEMU emulator version 9.1.0\n", 28, &v) == 0);
        CHECK_STREQ(v, "9.1.0");
        free(v);
        CHECK(qemu_parse_version("QEMU emulator version \n", 23, &v) == -EBADMSG);
        CHECK(qemu_parse_version("QEMU emulator version 1.0\033[0m\n", 30, &v) == -EBADMSG);
        CHECK(qemu_parse_version("qemu 7.2\n", 9, &v) == -EBADMSG);
}

static void test_dirs(void) {
        char **l = NULL;

        CHECK(path_list_parse("", &l) == 0 && strv_length(l) == 0);
        strv_free(l);
        CHECK(path_list_parse("/usr/bin:/usr/libexec", &l) == 0 && strv_length(l) == 2);
        strv_free(l);
        CHECK(path_list_parse("/usr/bin:bin", &l) == -EINVAL);
        CHECK(qemu_binary_name("qemu-system-x86_64") && qemu_binary_name("qemu-kvm"));
        CHECK(!qemu_binary_name("qemu-img") && !qemu_binary_name("qemu-system-x86_64.dpkg-new"));
}

static void write_script(const char *dir, const char *name, const char *body) {
        _cleanup_(freep) char *path = path_join(dir, name);

        test_write_file(dir, name, body);
        CHECK(chmod(path, 0755) == 0);
}

static void test_probe(void) {
        _cleanup_(freep) char *dir = test_tmpdir_new();
        QemuMachines *q = NULL;
        char *dirs[] = { dir, NULL };

        write_script(dir, "qemu-system-x86_64",
                     "#!/bin/sh\n"
                     "case \"$1\" in\n"
                     "-version) echo 'QEMU emulator version 9.1.0 (el9)' ;;\n"
                     "*) printf 'Supported machines are:\\nq35  x (alias of pc-q35-rhel9.6.0)\\n' ;;\n"
                     "esac\n");
        write_script(dir, "qemu-system-aarch64", "#!/bin/sh\nexit 1\n");

        CHECK(qemu_machines_probe(dirs, 5 * 1000 * 1000, &q) == 0);
        CHECK(qemu_machines_arch(q, ARCH_X86_64));
        CHECK_STREQ(q->arch[ARCH_X86_64].version, "9.1.0");
        CHECK(q->arch[ARCH_AARCH64].binary && !qemu_machines_arch(q, ARCH_AARCH64));
        CHECK_STREQ(q->arch[ARCH_AARCH64].problem, "'-machine help' exited with status 1");
        CHECK(!q->arch[ARCH_RISCV64].binary);
        CHECK(!qemu_machines_outdated(q));

        /* QEMU's answer where there is one, the built-in table where there is none or it failed */
        CHECK_STREQ(machine_alias_lookup(q, "q35", ARCH_X86_64), "pc-q35-rhel9.6.0");
        CHECK(machine_alias_lookup(q, "pc", ARCH_X86_64) == NULL);     /* this QEMU has no such alias */
        CHECK_STREQ(machine_alias_lookup(q, "virt", ARCH_AARCH64), "virt-" QEMU_CURRENT_MACHINE_VERSION);
        CHECK_STREQ(machine_alias_lookup(NULL, "q35", ARCH_X86_64), "pc-q35-" QEMU_CURRENT_MACHINE_VERSION);

        _cleanup_(freep) char *x86 = path_join(dir, "qemu-system-x86_64");
        CHECK(unlink(x86) == 0);
        CHECK(qemu_machines_outdated(q));
        qemu_machines_free(q);
        test_tmpdir_remove(dir);
}

static void test_contradiction(void) {
        _cleanup_(request_done) Request r = { .has_architecture = true };
        char *msg = NULL;

        CHECK(request_check(&r, &msg) == 0);
        CHECK(request_set_feature(&r, "enrolled-keys", true) == 0);
        CHECK(request_check(&r, &msg) == 0);
        CHECK(request_set_feature(&r, "secure-boot", false) == 0);
        CHECK(request_check(&r, &msg) == -EINVAL);
        CHECK(strstr(msg, "'enrolled-keys'") && strstr(msg, "'secure-boot'"));
        free(msg);
}

int main(void) {
        RUN(test_parse_machine_help);
        RUN(test_parse_version);
        RUN(test_dirs);
        RUN(test_probe);
        RUN(test_contradiction);
        return 0;
}
