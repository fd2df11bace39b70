/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch.h"
#include "output.h"

/* One word for a POSIX shell: bare when it is made of harmless characters, single-quoted otherwise. */
static void print_word(FILE *f, const char *s, bool first) {
        static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-";

        if (!first)
                fputc(' ', f);
        if (*s && s[strspn(s, safe)] == '\0') {
                fputs(s, f);
                return;
        }
        fputc('\'', f);
        for (; *s; s++)
                if (*s == '\'')
                        fputs("'\\''", f);
                else
                        fputc(*s, f);
        fputc('\'', f);
}

/* A value inside a QEMU option list: commas are doubled. */
static void option_value(StrBuf *b, const char *s) {
        for (; *s; s++) {
                strbuf_append(b, s, 1);
                if (*s == ',')
                        strbuf_append(b, s, 1);
        }
}

static int add(char ***argv, const char *a, StrBuf *b) {
        _cleanup_(freep) char *s = b ? strbuf_steal(b) : NULL;

        return strv_extend(argv, b ? s ?: "" : a);
}

static int add_pflash(char ***argv, unsigned unit, Format format, const char *file, bool readonly) {
        StrBuf b = {};
        int r;

        r = add(argv, "-drive", NULL);
        if (r < 0)
                return r;
        strbuf_printf(&b, "if=pflash,unit=%u,format=%s,%sfile=", unit, format_to_string(format),
                      readonly ? "readonly=on," : "");
        option_value(&b, file);
        return add(argv, NULL, &b);
}

static bool requires_smm(const Descriptor *d) {
        return descriptor_has_feature(d, FEATURE_REQUIRES_SMM);
}

static int qemu_argv(const Entry *e, const char *machine, const char *nvram, char ***argv) {
        const Descriptor *d = e->descriptor;
        StrBuf b = {};
        int r = 0;

        if (machine || requires_smm(d)) {
                if (machine)
                        option_value(&b, machine);
                if (requires_smm(d))
                        strbuf_puts(&b, machine ? ",smm=on" : "smm=on");
                r = add(argv, "-machine", NULL);
                r = r ?: add(argv, NULL, &b);
        }
        if (r >= 0 && requires_smm(d)) {       /* and flash that only SMM code may write */
                r = add(argv, "-global", NULL);
                r = r ?: add(argv, "driver=cfi.pflash01,property=secure,value=on", NULL);
        }
        if (r < 0)
                return r;

        switch (d->device) {
        case DEVICE_FLASH:
                if (d->mode == FLASH_MODE_COMBINED)
                        return add_pflash(argv, 0, d->executable.format, nvram, false);
                r = add_pflash(argv, 0, d->executable.format, d->executable.filename, true);
                if (r >= 0 && d->mode == FLASH_MODE_SPLIT)
                        r = add_pflash(argv, 1, d->nvram_template.format, nvram, false);
                return r;
        case DEVICE_MEMORY:
                r = add(argv, "-bios", NULL);
                return r < 0 ? r : add(argv, d->filename, NULL);
        case DEVICE_KERNEL:
                r = add(argv, "-kernel", NULL);
                return r < 0 ? r : add(argv, d->filename, NULL);
        case DEVICE_IGVM:
                strbuf_puts(&b, "igvm-cfg,id=fwregistry-igvm,file=");
                option_value(&b, d->filename);
                r = add(argv, "-object", NULL);
                r = r ?: add(argv, NULL, &b);
                r = r ?: add(argv, "-machine", NULL);
                return r ?: add(argv, "igvm-cfg=fwregistry-igvm", NULL);
        default:
                return -EINVAL;
        }
}

static bool needs_varstore(const Descriptor *d) {
        return d->device == DEVICE_FLASH && d->mode != FLASH_MODE_STATELESS;
}

int launch_print_qemu(const Entry *e, const char *machine, const char *nvram, FILE *f) {
        _cleanup_(strv_freep) char **argv = NULL;
        const Descriptor *d = e->descriptor;
        int r;

        if (!d || d->device < 0)
                return output_fail("%s has no usable mapping", e->name);
        if (needs_varstore(d) && !nvram)
                return output_fail("%s keeps variables in a per-VM file: give its path with --nvram=PATH "
                                   "(make one with 'fwregistryctl nvram create PATH')", e->name);
        r = qemu_argv(e, machine, nvram, &argv);
        if (r < 0)
                return r;
        STRV_FOREACH(a, argv)
                print_word(f, *a, a == argv);
        fputc('\n', f);
        return 0;
}

static void print_xml_text(FILE *f, const char *s) {
        for (; *s; s++)
                switch (*s) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '\'': fputs("&apos;", f); break;
                case '"': fputs("&quot;", f); break;
                default: fputc(*s, f);
                }
}

int launch_print_libvirt(const Entry *e, const char *nvram, FILE *f) {
        const Descriptor *d = e->descriptor;

        if (!d || d->device < 0)
                return output_fail("%s has no usable mapping", e->name);
        switch (d->device) {
        case DEVICE_FLASH:
                fprintf(f, "<loader readonly='%s' secure='%s' type='pflash' format='%s'%s>",
                        d->mode == FLASH_MODE_COMBINED ? "no" : "yes", requires_smm(d) ? "yes" : "no",
                        format_to_string(d->executable.format),
                        d->mode == FLASH_MODE_STATELESS ? " stateless='yes'" : "");
                print_xml_text(f, d->mode == FLASH_MODE_COMBINED && nvram ? nvram : d->executable.filename);
                fputs("</loader>\n", f);
                if (d->mode != FLASH_MODE_SPLIT)
                        return 0;
                fputs("<nvram template='", f);
                print_xml_text(f, d->nvram_template.filename);
                fprintf(f, "' templateFormat='%s' format='%s'", format_to_string(d->nvram_template.format),
                        format_to_string(d->nvram_template.format));
                if (!nvram) {
                        fputs("/>\n", f);
                        return 0;
                }
                fputc('>', f);
                print_xml_text(f, nvram);
                fputs("</nvram>\n", f);
                return 0;
        case DEVICE_MEMORY:
                fputs("<loader type='rom'>", f);
                print_xml_text(f, d->filename);
                fputs("</loader>\n", f);
                return 0;
        case DEVICE_KERNEL:
                fputs("<kernel>", f);
                print_xml_text(f, d->filename);
                fputs("</kernel>\n", f);
                return 0;
        default:
                return output_fail("%s is an IGVM file, which a domain's <os> cannot name; use "
                                   "--output=qemu", e->name);
        }
}

/* Copies in to out: a reflink when the file system shares blocks, else copy_file_range, else read/write. */
static int copy_data(int in, int out, bool *ret_reflinked) {
        char buf[65536];
        ssize_t n;

        if (ioctl(out, FICLONE, in) >= 0) {
                *ret_reflinked = true;
                return 0;
        }
        *ret_reflinked = false;
        while ((n = copy_file_range(in, NULL, out, NULL, SIZE_MAX >> 1, 0)) > 0)
                ;
        if (n == 0)
                return 0;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
                return -errno;
        if (lseek(in, 0, SEEK_SET) < 0 || lseek(out, 0, SEEK_SET) < 0 || ftruncate(out, 0) < 0)
                return -errno;
        while ((n = read(in, buf, sizeof(buf))) > 0)
                for (ssize_t done = 0; done < n;) {
                        ssize_t w = write(out, buf + done, (size_t) (n - done));
                        if (w < 0)
                                return -errno;
                        done += w;
                }
        return n < 0 ? -errno : 0;
}

int launch_nvram_create(const Entry *e, const char *path, bool *ret_reflinked) {
        const Descriptor *d = e->descriptor;
        _cleanup_(closep) int in = -EBADF, out = -EBADF;
        const char *source;
        bool reflinked;
        int r;

        if (!d || !needs_varstore(d))
                return output_fail("%s keeps no variables in a file of the VM's: there is nothing to create",
                                   e->name);
        source = d->mode == FLASH_MODE_COMBINED ? d->executable.filename : d->nvram_template.filename;
        in = open(source, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in < 0)
                return -errno;
        /* O_EXCL: never over an existing file, nor through a symlink someone left there */
        out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
        if (out < 0)
                return -errno;
        r = fchmod(out, 0600) < 0 ? -errno : 0;        /* whatever the umask */
        if (r >= 0)
                r = copy_data(in, out, &reflinked);
        if (r >= 0 && fsync(out) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(path);
                return r;
        }
        *ret_reflinked = reflinked;
        return 0;
}
