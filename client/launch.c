/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/random.h>
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

/* What XML cannot carry unchanged: a control character other than tab, newline and carriage return (XML 1.0
 * has no way to write them at all), or bytes that are not UTF-8. Returns 0, or -EINVAL with a message. */
static int xml_check(const char *what, const char *s) {
        _cleanup_(freep) char *shown = NULL;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') {
                        shown = utf8_escape_text(s);
                        return output_fail("%s '%s' holds the control character \\x%02x, which XML "
                                           "cannot carry: libvirt cannot be given this path", what,
                                           strempty(shown), *p);
                }
        if (!utf8_is_valid(s)) {
                shown = utf8_escape_text(s);
                return output_fail("%s '%s' is not valid UTF-8, which XML cannot carry: libvirt cannot be "
                                   "given this path", what, strempty(shown));
        }
        return 0;
}

/* s as attribute value or text: markup escaped, and tab, newline and carriage return as character
 * references, since a parser turns them into spaces in an attribute (and a carriage return into a newline
 * anywhere): the path read back must be the path written. */
static void xml_escaped(StrBuf *b, const char *s) {
        for (; *s; s++)
                switch (*s) {
                case '&': strbuf_puts(b, "&amp;"); break;
                case '<': strbuf_puts(b, "&lt;"); break;
                case '>': strbuf_puts(b, "&gt;"); break;
                case '\'': strbuf_puts(b, "&apos;"); break;
                case '"': strbuf_puts(b, "&quot;"); break;
                case '\t': strbuf_puts(b, "&#9;"); break;
                case '\n': strbuf_puts(b, "&#10;"); break;
                case '\r': strbuf_puts(b, "&#13;"); break;
                default: strbuf_append(b, s, 1);
                }
}

static void xml_element(StrBuf *b, const char *start, const char *text, const char *tag) {
        strbuf_puts(b, start);
        xml_escaped(b, text);
        strbuf_printf(b, "</%s>\n", tag);
}

/* The image <loader> names: a combined image's copy of the VM's, when it is given. */
static const char *loader_image(const Descriptor *d, const char *nvram) {
        return d->mode == FLASH_MODE_COMBINED && nvram ? nvram : d->executable.filename;
}

/* Raw is libvirt's default format, and Debian 12's libvirt (9.0.0) refuses a domain that names any format:
 * only other formats get the attribute, and a comment says which libvirt reads it. */
static void libvirt_flash(StrBuf *b, const Descriptor *d, const char *nvram) {
        bool split = d->mode == FLASH_MODE_SPLIT;
        bool loader_format = d->executable.format != FORMAT_RAW,
                template_format = split && d->nvram_template.format != FORMAT_RAW;
        const char *other = format_to_string(loader_format ? d->executable.format : d->nvram_template.format);

        if (loader_format || template_format)
                strbuf_printf(b, "<!-- format='%s' needs libvirt 9.2.0 or later%s -->\n", other,
                              template_format ? ", templateFormat 10.10.0 or later" : "");
        strbuf_printf(b, "<loader readonly='%s' secure='%s' type='pflash'",
                      d->mode == FLASH_MODE_COMBINED ? "no" : "yes", requires_smm(d) ? "yes" : "no");
        if (loader_format)
                strbuf_printf(b, " format='%s'", format_to_string(d->executable.format));
        xml_element(b, d->mode == FLASH_MODE_STATELESS ? " stateless='yes'>" : ">", loader_image(d, nvram),
                    "loader");
        if (!split)
                return;
        strbuf_puts(b, "<nvram template='");
        xml_escaped(b, d->nvram_template.filename);
        strbuf_puts(b, "'");
        if (template_format)    /* the VM's varstore is a copy of the template: the same format */
                strbuf_printf(b, " templateFormat='%1$s' format='%1$s'",
                              format_to_string(d->nvram_template.format));
        if (nvram)
                xml_element(b, ">", nvram, "nvram");
        else
                strbuf_puts(b, "/>\n");
}

int launch_print_libvirt(const Entry *e, const char *nvram, FILE *f) {
        const Descriptor *d = e->descriptor;
        _cleanup_(freep) char *s = NULL;
        StrBuf b = {};
        int r;

        if (!d || d->device < 0)
                return output_fail("%s has no usable mapping", e->name);
        if (d->device == DEVICE_IGVM)
                return output_fail("%s is an IGVM file, which a domain's <os> cannot name; use --output=qemu",
                                   e->name);
        /* every path first: a refused one prints nothing, not half a document */
        r = xml_check("The image", d->device == DEVICE_FLASH ? loader_image(d, nvram) : d->filename);
        if (r >= 0 && d->device == DEVICE_FLASH && d->mode == FLASH_MODE_SPLIT) {
                r = xml_check("The nvram template", d->nvram_template.filename);
                if (r >= 0 && nvram)
                        r = xml_check("The varstore", nvram);
        }
        if (r < 0)
                return r;

        if (d->device == DEVICE_FLASH)
                libvirt_flash(&b, d, nvram);
        else if (d->device == DEVICE_MEMORY)
                xml_element(&b, "<loader type='rom'>", d->filename, "loader");
        else
                xml_element(&b, "<kernel>", d->filename, "kernel");
        s = strbuf_steal(&b);
        if (!s)
                return -ENOMEM;
        fputs(s, f);
        return 0;
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

/* What a file that is not a regular one is, for a message. (The catalogue's scan has the same words.) */
static const char *file_type_name(mode_t m) {
        switch (m & S_IFMT) {
        case S_IFDIR: return "a directory";
        case S_IFIFO: return "a FIFO";
        case S_IFSOCK: return "a socket";
        case S_IFCHR: return "a character device";
        case S_IFBLK: return "a block device";
        default: return "not a regular file";
        }
}

/* Opens the template to copy: O_NONBLOCK, so that a FIFO put in its place cannot block the open, and only a
 * regular file is taken (a device such as /dev/zero never ends). Returns the fd, or -errno, or -EINVAL with
 * a message printed. */
static int template_open(const char *source, struct stat *ret_st) {
        _cleanup_(closep) int fd = open(source, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

        if (fd < 0)
                return -errno;
        if (fstat(fd, ret_st) < 0)
                return -errno;
        if (!S_ISREG(ret_st->st_mode))
                return output_fail("The template '%s' is %s, not a regular file: nothing was created", source,
                                   file_type_name(ret_st->st_mode));
        return TAKE_FD(fd);
}

#define TEMP_NAME_MAX sizeof(".fwregistryctl-0123456789abcdef.tmp")

/* A file for the copy in dir that nobody can see yet: unnamed (O_TMPFILE) where the file system can, else
 * under a fresh random name (temp_name, "" otherwise). Returns the fd or -errno. */
static int target_new(int dir_fd, char temp_name[static TEMP_NAME_MAX]) {
        uint64_t random;
        int fd;

        temp_name[0] = 0;
        fd = openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
                return fd >= 0 ? fd : -errno;
        for (unsigned i = 0; i < 64; i++) {
                if (getrandom(&random, sizeof(random), 0) != sizeof(random))
                        return -errno;
                snprintf(temp_name, TEMP_NAME_MAX, ".fwregistryctl-%016" PRIx64 ".tmp", random);
                fd = openat(dir_fd, temp_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
                if (fd >= 0 || errno != EEXIST)
                        return fd >= 0 ? fd : -errno;
        }
        return -EEXIST;
}

/* Gives the finished copy its name, never over an existing file (-EEXIST) and never removing a file by its
 * name but the random one it had. Returns 0 or -errno. */
static int target_link(int fd, int dir_fd, const char *temp_name, const char *name) {
        char proc[64];
        int r;

        if (isempty(temp_name)) {
                snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
                if (linkat(AT_FDCWD, proc, dir_fd, name, AT_SYMLINK_FOLLOW) >= 0)
                        return 0;
                if (errno != ENOENT || access("/proc/self/fd", F_OK) >= 0)
                        return -errno;
                return linkat(fd, "", dir_fd, name, AT_EMPTY_PATH) < 0 ? -errno : 0;    /* without /proc */
        }
        r = renameat2(dir_fd, temp_name, dir_fd, name, RENAME_NOREPLACE) < 0 ? -errno : 0;
        if (r == -EINVAL || r == -ENOSYS) {     /* a file system without it: the same in two steps */
                r = linkat(dir_fd, temp_name, dir_fd, name, 0) < 0 ? -errno : 0;
                (void) unlinkat(dir_fd, temp_name, 0);
        } else if (r < 0)
                (void) unlinkat(dir_fd, temp_name, 0);
        return r;
}

/* Writes the template's content into the new file, mode 0600, checks that all of it arrived and makes it
 * durable. Returns 0, -errno, or -EINVAL with a message printed. */
static int target_fill(int fd, int in, const struct stat *template, const char *source, bool *ret_reflinked) {
        struct stat st;
        int r;

        if (fchmod(fd, 0600) < 0)       /* whatever the umask */
                return -errno;
        r = copy_data(in, fd, ret_reflinked);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size != template->st_size)
                return output_fail("Copied %jd bytes of '%s', which had %jd when opened (did it change?): "
                                   "nothing was created", (intmax_t) st.st_size, source,
                                   (intmax_t) template->st_size);
        return fsync(fd) < 0 ? -errno : 0;
}

int launch_nvram_create(const Entry *e, const char *path, bool *ret_reflinked) {
        const Descriptor *d = e->descriptor;
        _cleanup_(closep) int in = -EBADF, out = -EBADF, dir_fd = -EBADF;
        _cleanup_(freep) char *dir = NULL;
        char temp_name[TEMP_NAME_MAX];
        const char *source, *name;
        struct stat st;
        bool reflinked;
        int r;

        if (!d || !needs_varstore(d))
                return output_fail("%s keeps no variables in a file of the VM's: there is nothing to create",
                                   e->name);
        source = d->mode == FLASH_MODE_COMBINED ? d->executable.filename : d->nvram_template.filename;
        name = strrchr(path, '/');
        if (!name || isempty(name + 1))
                return -EISDIR;
        dir = name == path ? strdup("/") : strndup(path, (size_t) (name - path));
        if (!dir)
                return -ENOMEM;
        name++;

        in = template_open(source, &st);
        if (in < 0)
                return in;
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        /* a quick answer before copying; the link at the end is what guarantees it */
        if (fstatat(dir_fd, name, &(struct stat) {}, AT_SYMLINK_NOFOLLOW) >= 0)
                return -EEXIST;
        out = target_new(dir_fd, temp_name);
        if (out < 0)
                return out;
        r = target_fill(out, in, &st, source, &reflinked);
        if (r < 0) {
                if (!isempty(temp_name))
                        (void) unlinkat(dir_fd, temp_name, 0);
                return r;
        }
        r = target_link(out, dir_fd, temp_name, name);
        if (r < 0)
                return r;
        /* the name, too, must survive a crash */
        if (fsync(dir_fd) < 0)
                return -errno;
        *ret_reflinked = reflinked;
        return 0;
}
