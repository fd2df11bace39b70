/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "catalogue/catalogue.h"
#include "util/chase.h"
#include "util/json.h"
#include "resolver/render.h"
#include "resolver/resolver.h"
#include "validate.h"

/* One diagnostic: a problem of the descriptor, or one that only validate reports. */
typedef struct Diag {
        ProblemSeverity severity;
        char *path;                     /* JSON member path, "" for the file */
        char *message;
        unsigned line, column;          /* 0 when not known */
        char *suggestion;               /* "did you mean" */
} Diag;

typedef struct Report {
        Diag *diags;
        size_t n, n_errors, n_warnings;
        bool oom;
} Report;

static void report_done(Report *r) {
        for (size_t i = 0; i < r->n; i++) {
                free(r->diags[i].path);
                free(r->diags[i].message);
                free(r->diags[i].suggestion);
        }
        free(r->diags);
        *r = (Report) {};
}

static void report_add(Report *r, ProblemSeverity severity, const char *path, char *message) {
        Diag *n = message ? realloc(r->diags, sizeof(Diag) * (r->n + 1)) : NULL;

        if (!n) {
                free(message);
                r->oom = true;
                return;
        }
        r->diags = n;
        r->diags[r->n] = (Diag) { .severity = severity, .path = strdup(path), .message = message };
        r->oom = r->oom || !r->diags[r->n].path;
        r->n++;
        if (severity == PROBLEM_ERROR)
                r->n_errors++;
        else
                r->n_warnings++;
}

/* ---- did you mean ------------------------------------------------------------------------------------------ */

/* The candidate closest to v, if it is close enough to be a typo. */
static const char *closest(const char *v, char * const *candidates) {
        size_t best = SIZE_MAX, limit = strlen(v) / 3 > 1 ? strlen(v) / 3 : 1;
        const char *found = NULL;

        STRV_FOREACH(c, candidates) {
                size_t d = string_distance(v, strlen(v), *c);
                if (d > 0 && d <= limit && d < best) {
                        best = d;
                        found = *c;
                }
        }
        return found;
}

/* The names that were allowed where an unknown member was found, by its parent's path. */
static char **members_for(const char *parent) {
        static const char *const top[] = { "description", "interface-types", "mapping", "targets", "features",
                                           "tags", NULL };
        static const char *const mapping[] = { "device", "mode", "executable", "nvram-template", "filename",
                                               "uefi-vars", NULL };
        static const char *const flash_file[] = { "filename", "format", NULL };
        static const char *const uefi_vars[] = { "template", NULL };
        static const char *const target[] = { "architecture", "machines", NULL };
        const char *const *l = NULL;

        if (isempty(parent))
                l = top;
        else if (streq(parent, "mapping"))
                l = mapping;
        else if (streq(parent, "mapping.executable") || streq(parent, "mapping.nvram-template"))
                l = flash_file;
        else if (streq(parent, "mapping.uefi-vars"))
                l = uefi_vars;
        else if (strncmp(parent, "targets[", 8) == 0 && !strchr(parent, '.'))
                l = target;
        return strv_copy((char * const *) l);
}

/* "unknown format 'vmdk' (expected raw or qcow2)": the value and the listed names. */
static int parse_expected(const char *message, char **ret_value, char ***ret_list) {
        const char *q = strchr(message, '\''), *e = strstr(message, "' (expected ");
        _cleanup_(strv_freep) char **l = NULL;
        _cleanup_(freep) char *list = NULL;
        char *state = NULL;

        if (!q || !e || e <= q)
                return -ENOENT;
        list = strndup(e + strlen("' (expected "), strcspn(e + strlen("' (expected "), ")"));
        if (!list)
                return -ENOMEM;
        for (char *w = strtok_r(list, ", ", &state); w; w = strtok_r(NULL, ", ", &state))
                if (!streq(w, "or") && strv_extend(&l, w) < 0)
                        return -ENOMEM;
        *ret_value = strndup(q + 1, (size_t) (e - q - 1));
        if (!*ret_value)
                return -ENOMEM;
        *ret_list = TAKE_PTR(l);
        return 0;
}

static void suggest(Diag *d) {
        _cleanup_(strv_freep) char **candidates = NULL;
        _cleanup_(freep) char *value = NULL;
        const char *c;

        if (parse_expected(d->message, &value, &candidates) >= 0) {
                /* an enum value: the message lists the names */
        } else if (strncmp(d->message, "unknown feature '", 17) == 0) {
                value = strndup(d->message + 17, strcspn(d->message + 17, "'"));
                for (int f = 0; f < _FEATURE_MAX; f++)
                        if (strv_extend(&candidates, feature_to_string(f)) < 0)
                                return;
        } else if (streq(d->message, "unknown member, ignored")) {
                char *dot = strrchr(d->path, '.');
                _cleanup_(freep) char *parent = dot ? strndup(d->path, (size_t) (dot - d->path)) : strdup("");

                value = strdup(dot ? dot + 1 : d->path);
                candidates = parent ? members_for(parent) : NULL;
        }
        c = value && candidates ? closest(value, candidates) : NULL;
        if (c)
                d->suggestion = strdup(c);
}

/* ---- what only validate checks ---------------------------------------------------------------------------- */

/* A '[' that opens no bracket expression: fnmatch() then matches it literally, which nobody means. */
static bool glob_unbalanced(const char *g) {
        for (const char *p = g; *p; p++) {
                if (*p == '\\' && p[1]) {
                        p++;
                        continue;
                }
                if (*p != '[')
                        continue;
                const char *q = p + 1;
                if (*q == '!' || *q == '^')
                        q++;
                if (*q == ']')
                        q++;
                q = strchr(q, ']');
                if (!q)
                        return true;
                p = q;
        }
        return false;
}

static void check_machines(const Descriptor *d, Report *r) {
        for (size_t i = 0; i < d->n_targets; i++)
                for (size_t j = 0; d->targets[i].machines && d->targets[i].machines[j]; j++) {
                        const char *g = d->targets[i].machines[j];
                        const char *versioned = d->targets[i].architecture >= 0 ?
                                machine_alias_expand(g, d->targets[i].architecture) : NULL;
                        _cleanup_(freep) char *path = strdup_printf("targets[%zu].machines[%zu]", i, j);

                        if (!path) {
                                r->oom = true;
                                return;
                        }
                        if (glob_unbalanced(g))
                                report_add(r, PROBLEM_ERROR, path, strdup_printf("unbalanced '[' in machine glob "
                                           "'%s' (fnmatch() would take it literally)", g));
                        if (versioned) {
                                const char *dash = strrchr(versioned, '-');
                                report_add(r, PROBLEM_WARNING, path, strdup_printf(
                                           "'%s' is a machine alias: list the versioned types it stands for "
                                           "instead, such as '%.*s-*' (callers and libvirt match versioned types)",
                                           g, dash ? (int) (dash - versioned) : (int) strlen(versioned), versioned));
                        }
                }
}

/* The first control character in s (C0, DEL or C1), or -1. */
static int first_control(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        return *p;
                if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
                        return p[1];
        }
        return -1;
}

/* A control character in a path is legal JSON and a legal file name, and nobody means it: it cannot be
 * shown in a line of text as it is, and launchers and XML writers mangle or refuse it. */
static void check_path_text(const char *file, const char *path, Report *r) {
        static const char why[] = "most likely a mistake, and one that shells, logs and XML mangle or refuse";
        _cleanup_(freep) char *shown = NULL;
        int c = file ? first_control(file) : -1;

        if (c < 0)
                return;
        shown = utf8_escape_text(file);
        if (!shown) {
                r->oom = true;
                return;
        }
        report_add(r, PROBLEM_WARNING, path, c < 0x80 ?
                   strdup_printf("'%s' holds the control character \\x%02x, %s", shown, (unsigned) c, why) :
                   strdup_printf("'%s' holds the control character U+%04X, %s", shown, (unsigned) c, why));
}

static void check_paths(const Descriptor *d, Report *r) {
        if (d->device == DEVICE_FLASH) {
                check_path_text(d->executable.filename, "mapping.executable.filename", r);
                check_path_text(d->nvram_template.filename, "mapping.nvram-template.filename", r);
        } else {
                check_path_text(d->filename, "mapping.filename", r);
                check_path_text(d->uefi_vars_template, "mapping.uefi-vars.template", r);
        }
}

static void check_file(int root_fd, const char *root, const char *file, const char *path, Report *r) {
        FileCheck f;
        int k;

        if (!file)
                return;
        k = catalogue_check_path(root_fd, file, &f);
        if (k >= 0)
                return;
        if (k == -ENOMEM) {
                r->oom = true;
                return;
        }
        report_add(r, PROBLEM_ERROR, path,
                   k == -ENOENT ? strdup_printf("'%s' does not exist%s%s%s", file, root ? " below '" : "",
                                                strempty(root), root ? "'" : "") :
                   k == -EBADFD ? strdup_printf("'%s' is not a regular file", file) :
                                  strdup_printf("'%s' cannot be read: %s", file, strerror(-k)));
}

static void check_files(const Descriptor *d, int root_fd, const char *root, Report *r) {
        if (d->device == DEVICE_FLASH) {
                check_file(root_fd, root, d->executable.filename, "mapping.executable.filename", r);
                check_file(root_fd, root, d->nvram_template.filename, "mapping.nvram-template.filename", r);
        } else {
                check_file(root_fd, root, d->filename, "mapping.filename", r);
                check_file(root_fd, root, d->uefi_vars_template, "mapping.uefi-vars.template", r);
        }
}

/* ---- reading ------------------------------------------------------------------------------------------------ */

/* Reads at most DESCRIPTOR_SIZE_MAX + 1 bytes of fd. Returns 0 or a negative errno. */
static int read_all(int fd, char **ret, size_t *ret_size) {
        size_t size = 0, max = DESCRIPTOR_SIZE_MAX + 1;
        _cleanup_(freep) char *buf = malloc(max + 1);

        if (!buf)
                return -ENOMEM;
        while (size < max) {
                ssize_t n = read(fd, buf + size, max - size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

/* The text of a regular file, for line numbers; NULL when it is none or cannot be read. */
static char *read_text(const char *path, size_t *ret_size) {
        _cleanup_(closep) int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        struct stat st;
        char *text = NULL;

        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || read_all(fd, &text, ret_size) < 0)
                return NULL;
        return text;
}

static const char empty_message[] =
        "empty file: in a search directory this masks the descriptor of the same name, it is not a descriptor";

/* Where a diagnostic's member is; for a missing member, where the object that lacks it is. */
static void locate(const char *text, size_t size, Diag *d) {
        _cleanup_(freep) char *path = strdup(d->path);

        while (path && !isempty(path)) {
                char *cut = strrchr(path, '.'), *bracket = strrchr(path, '[');

                if (json_locate(text, size, path, &d->line, &d->column) >= 0)
                        return;
                if (bracket > cut)
                        cut = bracket;
                if (!cut)
                        return;
                *cut = 0;
        }
}

/* Gathers every diagnostic of one descriptor, located in text when there is one. */
static void report_fill(Report *r, const Descriptor *d, const char *text, size_t size, const ValidateOptions *o,
                        int root_fd) {
        /* a byte-order mark is no column: count from after it, as the parser did */
        if (text && size >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
                text += 3;
                size -= 3;
        }
        for (size_t i = 0; d && i < d->n_problems; i++)
                report_add(r, d->problems[i].severity, d->problems[i].path, strdup(d->problems[i].message));
        if (d && !d->unreadable) {
                check_machines(d, r);
                check_paths(d, r);
                if (o->check_files)
                        check_files(d, root_fd, o->root, r);
        }
        for (size_t i = 0; i < r->n; i++) {
                suggest(&r->diags[i]);
                if (text)
                        locate(text, size, &r->diags[i]);
        }
}

/* ---- output ------------------------------------------------------------------------------------------------- */

static void print_diags(const char *file, const Report *r) {
        for (size_t i = 0; i < r->n; i++) {
                const Diag *d = &r->diags[i];
                _cleanup_(freep) char *where = d->line > 0 ? strdup_printf("%s:%u:%u", file, d->line, d->column)
                                                           : strdup(file);

                fprintf(stderr, "%s: %s: %s%s%s\n", strempty(where),
                        d->severity == PROBLEM_ERROR ? "error" : "warning", d->path, isempty(d->path) ? "" : ": ",
                        d->message);
                if (d->suggestion)
                        fprintf(stderr, "%s: note: did you mean '%s'?\n", strempty(where), d->suggestion);
        }
}

static int gen_report(yajl_gen g, const char *file, const Report *r) {
        int k = gen_map_open(g);

        k = k ?: gen_key_string(g, "file", file);
        k = k ?: gen_key_bool(g, "valid", r->n_errors == 0);
        k = k ?: gen_string(g, "problems");
        k = k ?: gen_array_open(g);
        for (size_t i = 0; i < r->n; i++) {
                const Diag *d = &r->diags[i];

                k = k ?: gen_map_open(g);
                k = k ?: gen_key_string(g, "severity", d->severity == PROBLEM_ERROR ? "error" : "warning");
                k = k ?: gen_key_string(g, "path", d->path);
                k = k ?: gen_key_string(g, "message", d->message);
                if (d->line > 0) {
                        k = k ?: gen_key_uint(g, "line", d->line);
                        k = k ?: gen_key_uint(g, "column", d->column);
                }
                if (d->suggestion)
                        k = k ?: gen_key_string(g, "suggestion", d->suggestion);
                k = k ?: gen_map_close(g);
        }
        k = k ?: gen_array_close(g);
        k = k ?: gen_map_close(g);
        return k ? -ENOMEM : 0;
}

typedef struct Totals {
        size_t files, invalid, errors, warnings;
} Totals;

static int emit(yajl_gen g, const char *file, Report *r, Totals *t) {
        if (r->oom)
                return -ENOMEM;
        t->files++;
        t->invalid += r->n_errors > 0;
        t->errors += r->n_errors;
        t->warnings += r->n_warnings;
        if (g)
                return gen_report(g, file, r);
        print_diags(file, r);
        return 0;
}

/* ---- the three sources: stdin, files, a root's catalogue --------------------------------------------------- */

static int validate_stdin(yajl_gen g, const ValidateOptions *o, int root_fd, Totals *t) {
        _cleanup_(descriptor_unrefp) Descriptor *d = NULL;
        _cleanup_(freep) char *text = NULL;
        Report r = {};
        size_t size;
        int k;

        k = read_all(STDIN_FILENO, &text, &size);
        if (k < 0)
                return k;
        k = size == 0 ? descriptor_new_unreadable(empty_message, &d) : descriptor_parse(text, size, &d);
        if (k < 0)
                return k;
        report_fill(&r, d, text, size, o, root_fd);
        k = emit(g, "<stdin>", &r, t);
        report_done(&r);
        return k;
}

static int validate_file(yajl_gen g, const char *file, const ValidateOptions *o, int root_fd, Totals *t) {
        _cleanup_(freep) char *text = NULL;
        Entry e = { .path = strdup(file), .vars.ok = true };
        Report r = {};
        size_t size = 0;
        int k;

        if (!e.path)
                return -ENOMEM;
        e.name = e.path;
        k = catalogue_entry_load(&e, NULL);
        if (k >= 0 && e.state == ENTRY_MASKED)
                k = descriptor_new_unreadable(empty_message, &e.descriptor);
        if (k >= 0) {
                text = e.descriptor && !e.descriptor->unreadable ? read_text(file, &size) : NULL;
                report_fill(&r, e.descriptor, text, size, o, root_fd);
                k = emit(g, file, &r, t);
        }
        report_done(&r);
        entry_done(&e);
        return k;
}

static int validate_root(yajl_gen g, const ValidateOptions *o, int root_fd, Totals *t) {
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        int k;

        k = catalogue_build(o->dirs, o->root, NULL, &c);
        if (k < 0)
                return k;
        STRV_FOREACH(p, c->dir_problems)
                fprintf(stderr, "%s: error: %s\n", o->root, *p);
        for (size_t i = 0; i < c->n_entries && k >= 0; i++) {
                const Entry *e = &c->entries[i];
                _cleanup_(freep) char *text = NULL;
                Report r = {};
                size_t size = 0;

                if (e->state == ENTRY_MASKED)
                        continue;       /* a mask in a tree is a choice, not a mistake */
                /* a symlink's text is in the root, not where the host would find it: no line numbers */
                text = e->symlink || e->descriptor->unreadable ? NULL : read_text(e->path, &size);
                report_fill(&r, e->descriptor, text, size, o, root_fd);
                k = emit(g, e->path, &r, t);
                report_done(&r);
        }
        return k < 0 ? k : (int) strv_length(c->dir_problems);
}

int validate_run(char **files, const ValidateOptions *o) {
        _cleanup_(yajl_gen_freep) yajl_gen g = o->json ? render_gen_new(true) : NULL;
        Totals t = {};
        int root_fd, k = 0, dir_problems = 0;

        if (o->json && (!g || gen_array_open(g)))
                return -ENOMEM;
        root_fd = chase_root_open(o->root);
        if (root_fd < 0 && root_fd != AT_FDCWD) {
                fprintf(stderr, "%s: error: cannot open the root: %s\n", o->root, strerror(-root_fd));
                return 1;
        }

        if (!files[0]) {
                k = validate_root(g, o, root_fd, &t);
                dir_problems = k > 0 ? k : 0;
        }
        for (char **f = files; *f && k >= 0; f++)
                k = streq(*f, "-") ? validate_stdin(g, o, root_fd, &t) : validate_file(g, *f, o, root_fd, &t);
        chase_root_close(root_fd);
        if (k < 0)
                return k;

        if (g) {
                if (gen_array_close(g))
                        return -ENOMEM;
                _cleanup_(freep) char *s = render_gen_steal(g);
                if (!s)
                        return -ENOMEM;
                fputs(s, stdout);
                if (!endswith(s, "\n"))
                        fputc('\n', stdout);
        } else
                fprintf(stderr, "%zu file%s checked, %zu valid, %zu invalid (%zu error%s, %zu warning%s).\n",
                        t.files, t.files == 1 ? "" : "s", t.files - t.invalid, t.invalid, t.errors,
                        t.errors == 1 ? "" : "s", t.warnings, t.warnings == 1 ? "" : "s");
        return t.invalid > 0 || dir_problems > 0 ? 1 : 0;
}
