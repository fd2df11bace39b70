/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fnmatch.h>
#include <stdio.h>

#include "descriptor.h"
#include "util/json.h"

#define DEFINE_STRING_TABLE(name, type, max, ...)                                       \
        static const char *const name##_table[max] = { __VA_ARGS__ };                   \
        const char *name##_to_string(type t) {                                          \
                return (int) t >= 0 && (int) t < (max) ? name##_table[t] : NULL;        \
        }                                                                               \
        type name##_from_string(const char *s) {                                        \
                for (int i = 0; s && i < (max); i++)                                    \
                        if (streq(name##_table[i], s))                                  \
                                return (type) i;                                        \
                return (type) -EINVAL;                                                  \
        }

DEFINE_STRING_TABLE(interface_type, InterfaceType, _INTERFACE_MAX,
                    [INTERFACE_BIOS] = "bios",
                    [INTERFACE_OPENFIRMWARE] = "openfirmware",
                    [INTERFACE_UBOOT] = "uboot",
                    [INTERFACE_UEFI] = "uefi");

DEFINE_STRING_TABLE(architecture, Architecture, _ARCH_MAX,
                    [ARCH_AARCH64] = "aarch64",
                    [ARCH_ARM] = "arm",
                    [ARCH_I386] = "i386",
                    [ARCH_LOONGARCH64] = "loongarch64",
                    [ARCH_RISCV64] = "riscv64",
                    [ARCH_X86_64] = "x86_64");

DEFINE_STRING_TABLE(device, Device, _DEVICE_MAX,
                    [DEVICE_FLASH] = "flash",
                    [DEVICE_MEMORY] = "memory",
                    [DEVICE_KERNEL] = "kernel",
                    [DEVICE_IGVM] = "igvm");

DEFINE_STRING_TABLE(flash_mode, FlashMode, _FLASH_MODE_MAX,
                    [FLASH_MODE_SPLIT] = "split",
                    [FLASH_MODE_COMBINED] = "combined",
                    [FLASH_MODE_STATELESS] = "stateless");

DEFINE_STRING_TABLE(format, Format, _FORMAT_MAX,
                    [FORMAT_RAW] = "raw",
                    [FORMAT_QCOW2] = "qcow2");

DEFINE_STRING_TABLE(feature, Feature, _FEATURE_MAX,
                    [FEATURE_ACPI_S3] = "acpi-s3",
                    [FEATURE_ACPI_S4] = "acpi-s4",
                    [FEATURE_AMD_SEV] = "amd-sev",
                    [FEATURE_AMD_SEV_ES] = "amd-sev-es",
                    [FEATURE_AMD_SEV_SNP] = "amd-sev-snp",
                    [FEATURE_INTEL_TDX] = "intel-tdx",
                    [FEATURE_ENROLLED_KEYS] = "enrolled-keys",
                    [FEATURE_REQUIRES_SMM] = "requires-smm",
                    [FEATURE_SECURE_BOOT] = "secure-boot",
                    [FEATURE_HOST_UEFI_VARS] = "host-uefi-vars",
                    [FEATURE_VERBOSE_DYNAMIC] = "verbose-dynamic",
                    [FEATURE_VERBOSE_STATIC] = "verbose-static");

const char *architecture_expected(void) {
        return "aarch64, arm, i386, loongarch64, riscv64 or x86_64";
}

char *problem_to_string(const Problem *p) {
        return strdup_printf("%s%s%s%s", p->path, isempty(p->path) ? "" : ": ",
                             p->severity == PROBLEM_WARNING ? "warning: " : "", p->message);
}

typedef struct Walker {
        Descriptor *d;
        bool oom;
} Walker;

static void problem_add(Walker *w, ProblemSeverity severity, const char *path, const char *fmt, ...)
        _printf_(4, 5);
static void problem_add(Walker *w, ProblemSeverity severity, const char *path, const char *fmt, ...) {
        _cleanup_(freep) char *msg = NULL;
        va_list ap;

        if (w->oom)
                return;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg || descriptor_add_problem(w->d, severity, path, msg) < 0)
                w->oom = true;
}

int descriptor_add_problem(Descriptor *d, ProblemSeverity severity, const char *path, const char *message) {
        _cleanup_(freep) char *p = NULL, *m = NULL;
        Problem *n;

        /* a file can only say so much: past this, further problems are noise (errors still count) */
        if (d->n_problems >= DESCRIPTOR_PROBLEMS_MAX) {
                d->n_errors += severity == PROBLEM_ERROR;
                return 0;
        }
        p = strdup(path);
        m = strdup(message);
        n = realloc(d->problems, sizeof(Problem) * (d->n_problems + 1));
        if (n)
                d->problems = n;
        if (!p || !m || !n)
                return -ENOMEM;
        d->problems[d->n_problems++] = (Problem) { .severity = severity, .path = TAKE_PTR(p),
                                                   .message = TAKE_PTR(m) };
        d->n_errors += severity == PROBLEM_ERROR;
        return 0;
}

/* A value quoted for a message: at most 64 bytes, cut on a UTF-8 boundary, control characters replaced. */
typedef struct Quoted {
        char buf[80];
} Quoted;

static const char *quote(Quoted *q, const char *s) {
        size_t n = strlen(s), max = 64;

        if (n > max) {
                n = max;
                while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
                        n--;
        }
        for (size_t i = 0; i < n; i++)
                q->buf[i] = (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
        strcpy(q->buf + n, strlen(s) > n ? "..." : "");
        return q->buf;
}

/* Child paths are built in fixed buffers: member names are quoted, so a path never exceeds them. */
typedef struct PathBuf {
        char buf[256];
} PathBuf;

/* Paths are built for every member on the good path too, so this avoids printf: a plain copy. Names from
 * the file (unknown members) go through path_member_quoted() instead. */
static const char *path_member(PathBuf *b, const char *parent, const char *name) {
        size_t lp = strlen(parent), ln = strlen(name);

        if (lp + ln + 2 > sizeof(b->buf))
                ln = lp + 2 < sizeof(b->buf) ? sizeof(b->buf) - lp - 2 : 0;
        if (lp + 2 > sizeof(b->buf))
                lp = sizeof(b->buf) - 2;
        memcpy(b->buf, parent, lp);
        if (lp > 0)
                b->buf[lp++] = '.';
        memcpy(b->buf + lp, name, ln);
        b->buf[lp + ln] = 0;
        return b->buf;
}

static const char *path_member_quoted(PathBuf *b, const char *parent, const char *name) {
        Quoted q;
        return path_member(b, parent, quote(&q, name));
}

static const char *path_index(PathBuf *b, const char *parent, size_t i) {
        char digits[24];
        size_t n = 0, lp = strlen(parent);

        do
                digits[n++] = (char) ('0' + i % 10);
        while ((i /= 10) > 0);
        if (lp + n + 3 > sizeof(b->buf))
                lp = sizeof(b->buf) - n - 3;
        memcpy(b->buf, parent, lp);
        b->buf[lp++] = '[';
        while (n > 0)
                b->buf[lp++] = digits[--n];
        b->buf[lp++] = ']';
        b->buf[lp] = 0;
        return b->buf;
}

static bool expect_type(Walker *w, const char *path, const JsonValue *v, JsonType type) {
        if (v->type == type)
                return true;
        problem_add(w, PROBLEM_ERROR, path, "expected %s, got %s", json_type_to_string(type),
                    json_type_to_string(v->type));
        return false;
}

static const JsonValue *member_required(Walker *w, const char *parent, const JsonValue *obj, const char *name,
                                        JsonType type, const char *why) {
        const JsonValue *v = json_object_get(obj, name);
        PathBuf p;

        if (!v) {
                problem_add(w, PROBLEM_ERROR, path_member(&p, parent, name), "missing member%s", strempty(why));
                return NULL;
        }
        return expect_type(w, path_member(&p, parent, name), v, type) ? v : NULL;
}

static char *dup_or_oom(Walker *w, const char *s) {
        char *c = strdup(s);
        if (!c)
                w->oom = true;
        return c;
}

/* A string naming an absolute path. Returns a copy, or NULL after reporting what is wrong. */
static char *parse_filename(Walker *w, const char *path, const JsonValue *v) {
        if (!expect_type(w, path, v, JSON_STRING))
                return NULL;
        if (isempty(v->string))
                problem_add(w, PROBLEM_ERROR, path, "empty file name");
        else if (v->string[0] != '/') {
                Quoted q;
                problem_add(w, PROBLEM_ERROR, path, "'%s' is not an absolute path", quote(&q, v->string));
        } else if (strlen(v->string) >= DESCRIPTOR_PATH_MAX)
                problem_add(w, PROBLEM_ERROR, path, "file name longer than %u bytes", DESCRIPTOR_PATH_MAX - 1);
        else
                return dup_or_oom(w, v->string);
        return NULL;
}

/* Looks a string up in one of the tables above; reports "unknown WHAT 'x' (expected ...)". */
static int parse_enum(Walker *w, const char *path, const JsonValue *v, const char *what, int (*lookup)(const char *),
                      const char *expected) {
        int i;

        if (!expect_type(w, path, v, JSON_STRING))
                return -EINVAL;
        i = lookup(v->string);
        if (i < 0) {
                Quoted q;
                problem_add(w, PROBLEM_ERROR, path, "unknown %s '%s' (expected %s)", what, quote(&q, v->string),
                            expected);
        }
        return i;
}

static int lookup_format(const char *s) { return format_from_string(s); }
static int lookup_mode(const char *s) { return flash_mode_from_string(s); }
static int lookup_device(const char *s) { return device_from_string(s); }
static int lookup_architecture(const char *s) { return architecture_from_string(s); }

static void warn_unknown_members(Walker *w, const char *parent, const JsonValue *obj, const char *const *known,
                                 const char *const *foreign, const char *what) {
        for (size_t i = 0; i < obj->object.n; i++) {
                const char *k = obj->object.keys[i];
                bool found = false;
                PathBuf p;

                for (const char *const *s = known; *s && !found; s++)
                        found = streq(*s, k);
                if (found)
                        continue;
                for (const char *const *s = foreign; s && *s && !found; s++)
                        found = streq(*s, k);
                if (found)
                        problem_add(w, PROBLEM_ERROR, path_member_quoted(&p, parent, k), "member does not belong in %s",
                                    what);
                else
                        problem_add(w, PROBLEM_WARNING, path_member_quoted(&p, parent, k), "unknown member, ignored");
        }
}

/* An array of strings, each checked by the callback (which may be NULL). Returns a strv, or NULL. */
static char **parse_string_list(Walker *w, const char *path, const JsonValue *v,
                                void (*check)(Walker *w, const char *path, const char *s, void *userdata),
                                void *userdata) {
        _cleanup_(strv_freep) char **l = NULL;

        if (!expect_type(w, path, v, JSON_ARRAY))
                return NULL;
        l = calloc(v->array.n + 1, sizeof(char *));
        if (!l) {
                w->oom = true;
                return NULL;
        }
        for (size_t i = 0, n = 0; i < v->array.n; i++) {
                const JsonValue *item = v->array.items[i];
                PathBuf p;

                if (!expect_type(w, path_index(&p, path, i), item, JSON_STRING))
                        continue;
                if (check)
                        check(w, p.buf, item->string, userdata);
                if (strv_contains(l, item->string)) {
                        Quoted q;
                        problem_add(w, PROBLEM_WARNING, p.buf, "duplicate entry '%s'", quote(&q, item->string));
                        continue;
                }
                l[n] = dup_or_oom(w, item->string);
                if (!l[n])
                        return NULL;
                n++;
        }
        return TAKE_PTR(l);
}

static void check_interface(Walker *w, const char *path, const char *s, void *userdata) {
        uint32_t *mask = userdata;
        InterfaceType t = interface_type_from_string(s);

        if (t < 0) {
                Quoted q;
                problem_add(w, PROBLEM_ERROR, path, "unknown interface type '%s' (expected bios, openfirmware, "
                            "uboot or uefi)", quote(&q, s));
        } else
                *mask |= 1U << t;
}

static void check_feature(Walker *w, const char *path, const char *s, void *userdata) {
        uint64_t *mask = userdata;
        Feature f = feature_from_string(s);

        if (f >= 0)
                *mask |= UINT64_C(1) << f;
        else if (isempty(s))
                problem_add(w, PROBLEM_ERROR, path, "empty feature name");
        else {
                Quoted q;
                problem_add(w, PROBLEM_WARNING, path, "unknown feature '%s', kept for matching", quote(&q, s));
        }
}

static void check_machine(Walker *w, const char *path, const char *s, void *userdata) {
        if (isempty(s))
                problem_add(w, PROBLEM_ERROR, path, "empty machine type");
}

static void parse_flash_file(Walker *w, const char *parent, const JsonValue *mapping, const char *name,
                             FlashFile *ret) {
        static const char *const known[] = { "filename", "format", NULL };
        const JsonValue *v;
        PathBuf p, q;

        v = member_required(w, parent, mapping, name, JSON_OBJECT, NULL);
        if (!v)
                return;
        path_member(&p, parent, name);
        warn_unknown_members(w, p.buf, v, known, NULL, "a flash file");

        const JsonValue *f = member_required(w, p.buf, v, "filename", JSON_STRING, NULL);
        if (f)
                ret->filename = parse_filename(w, path_member(&q, p.buf, "filename"), f);
        f = json_object_get(v, "format");
        if (!f)
                problem_add(w, PROBLEM_ERROR, path_member(&q, p.buf, "format"), "missing member");
        else
                ret->format = parse_enum(w, path_member(&q, p.buf, "format"), f, "format", lookup_format,
                                         "raw or qcow2");
}

static const char *const members_flash[] = { "device", "mode", "executable", "nvram-template", NULL };
static const char *const members_memory[] = { "device", "filename", "uefi-vars", NULL };
static const char *const members_file[] = { "device", "filename", NULL };
static const char *const members_all[] = { "mode", "executable", "nvram-template", "filename", "uefi-vars",
                                           NULL };

static void parse_mapping_flash(Walker *w, const JsonValue *m) {
        Descriptor *d = w->d;
        const JsonValue *mode = json_object_get(m, "mode");
        bool has_template = json_object_get(m, "nvram-template");

        d->mode_explicit = mode;
        d->mode = mode ? parse_enum(w, "mapping.mode", mode, "flash mode", lookup_mode,
                                    "split, combined or stateless")
                       : FLASH_MODE_SPLIT;
        parse_flash_file(w, "mapping", m, "executable", &d->executable);

        if (d->mode == FLASH_MODE_SPLIT)
                parse_flash_file(w, "mapping", m, "nvram-template", &d->nvram_template);
        else if (d->mode >= 0 && has_template)
                problem_add(w, PROBLEM_ERROR, "mapping.nvram-template",
                            "not allowed in %s mode (present exactly when the mode is split)",
                            flash_mode_to_string(d->mode));
}

static void parse_mapping_memory(Walker *w, const JsonValue *m) {
        static const char *const known[] = { "template", NULL };
        Descriptor *d = w->d;
        const JsonValue *v;

        v = member_required(w, "mapping", m, "filename", JSON_STRING, NULL);
        if (v)
                d->filename = parse_filename(w, "mapping.filename", v);

        v = json_object_get(m, "uefi-vars");
        if (!v || !expect_type(w, "mapping.uefi-vars", v, JSON_OBJECT))
                return;
        warn_unknown_members(w, "mapping.uefi-vars", v, known, NULL, "uefi-vars");
        const JsonValue *t = member_required(w, "mapping.uefi-vars", v, "template", JSON_STRING, NULL);
        if (t)
                d->uefi_vars_template = parse_filename(w, "mapping.uefi-vars.template", t);
}

static void parse_mapping(Walker *w, const JsonValue *root) {
        Descriptor *d = w->d;
        const JsonValue *m, *v;

        m = member_required(w, "", root, "mapping", JSON_OBJECT, NULL);
        if (!m)
                return;

        v = member_required(w, "mapping", m, "device", JSON_STRING, NULL);
        if (!v)
                return;
        d->device = parse_enum(w, "mapping.device", v, "device", lookup_device, "flash, memory, kernel or igvm");

        switch (d->device) {
        case DEVICE_FLASH:
                warn_unknown_members(w, "mapping", m, members_flash, members_all, "a flash mapping");
                parse_mapping_flash(w, m);
                break;
        case DEVICE_MEMORY:
                warn_unknown_members(w, "mapping", m, members_memory, members_all, "a memory mapping");
                parse_mapping_memory(w, m);
                break;
        case DEVICE_KERNEL:
        case DEVICE_IGVM:
                warn_unknown_members(w, "mapping", m, members_file, members_all,
                                     d->device == DEVICE_KERNEL ? "a kernel mapping" : "an igvm mapping");
                v = member_required(w, "mapping", m, "filename", JSON_STRING, NULL);
                if (v)
                        d->filename = parse_filename(w, "mapping.filename", v);
                break;
        default:
                break;
        }
}

static void parse_target(Walker *w, const char *path, const JsonValue *t, Target *ret) {
        static const char *const known[] = { "architecture", "machines", NULL };
        const JsonValue *v;
        PathBuf p;

        ret->architecture = _ARCH_INVALID;
        if (!expect_type(w, path, t, JSON_OBJECT))
                return;
        warn_unknown_members(w, path, t, known, NULL, "a target");

        v = member_required(w, path, t, "architecture", JSON_STRING, NULL);
        if (v) {
                ret->architecture = parse_enum(w, path_member(&p, path, "architecture"), v, "architecture",
                                               lookup_architecture, architecture_expected());
                if (ret->architecture >= 0)
                        w->d->architecture_mask |= 1U << ret->architecture;
        }

        v = member_required(w, path, t, "machines", JSON_ARRAY, NULL);
        if (!v)
                return;
        path_member(&p, path, "machines");
        ret->machines = parse_string_list(w, p.buf, v, check_machine, NULL);
        if (ret->machines && !ret->machines[0])
                problem_add(w, PROBLEM_WARNING, p.buf, "no machine types: this target only matches requests that name no machine");
}

static void parse_targets(Walker *w, const JsonValue *root) {
        Descriptor *d = w->d;
        const JsonValue *v;

        v = member_required(w, "", root, "targets", JSON_ARRAY, NULL);
        if (!v)
                return;
        if (v->array.n == 0) {
                problem_add(w, PROBLEM_WARNING, "targets", "empty list: the descriptor never matches");
                return;
        }
        d->targets = calloc(v->array.n, sizeof(Target));
        if (!d->targets) {
                w->oom = true;
                return;
        }
        d->n_targets = v->array.n;
        for (size_t i = 0; i < v->array.n; i++) {
                PathBuf p;
                parse_target(w, path_index(&p, "targets", i), v->array.items[i], &d->targets[i]);
        }
}

static bool targets_have_x86(const Descriptor *d) {
        return d->architecture_mask & ((1U << ARCH_X86_64) | (1U << ARCH_I386));
}

/* Combinations the schema allows but that are almost certainly mistakes. Matching never infers anything from
 * them: a warning is all they get. */
static void check_feature_relations(Walker *w) {
        Descriptor *d = w->d;

        if (descriptor_has_feature(d, FEATURE_ENROLLED_KEYS) && !descriptor_has_feature(d, FEATURE_SECURE_BOOT))
                problem_add(w, PROBLEM_WARNING, "features", "'enrolled-keys' without 'secure-boot'");
        if (descriptor_has_feature(d, FEATURE_VERBOSE_DYNAMIC) && descriptor_has_feature(d, FEATURE_VERBOSE_STATIC))
                problem_add(w, PROBLEM_WARNING, "features",
                            "'verbose-dynamic' and 'verbose-static' exclude each other");
        if (descriptor_has_feature(d, FEATURE_SECURE_BOOT) && !descriptor_has_feature(d, FEATURE_REQUIRES_SMM) &&
            d->device == DEVICE_FLASH && targets_have_x86(d))
                problem_add(w, PROBLEM_WARNING, "features",
                            "'secure-boot' on x86 flash without 'requires-smm': the varstore is not protected "
                            "from the guest");
        if (d->uefi_vars_template && (!(d->interface_mask & (1U << INTERFACE_UEFI)) ||
                                      !descriptor_has_feature(d, FEATURE_HOST_UEFI_VARS)))
                problem_add(w, PROBLEM_ERROR, "mapping.uefi-vars",
                            "allowed only when interface-types lists 'uefi' and features lists 'host-uefi-vars'");
}

static void walk(Walker *w, const JsonValue *root) {
        static const char *const known[] = { "description", "interface-types", "mapping", "targets", "features",
                                             "tags", NULL };
        Descriptor *d = w->d;
        const JsonValue *v;

        if (root->type != JSON_OBJECT) {
                problem_add(w, PROBLEM_ERROR, "", "expected an object at the top level, got %s",
                            json_type_to_string(root->type));
                return;
        }
        warn_unknown_members(w, "", root, known, NULL, "a descriptor");

        v = json_object_get(root, "description");
        if (!v)
                problem_add(w, PROBLEM_WARNING, "description", "missing member (the schema requires it)");
        else if (expect_type(w, "description", v, JSON_STRING))
                d->description = dup_or_oom(w, v->string);

        v = member_required(w, "", root, "interface-types", JSON_ARRAY, NULL);
        if (v) {
                d->interface_types = parse_string_list(w, "interface-types", v, check_interface,
                                                       &d->interface_mask);
                if (v->array.n == 0)
                        problem_add(w, PROBLEM_ERROR, "interface-types", "empty list (at least one is required)");
        }

        parse_mapping(w, root);
        parse_targets(w, root);

        v = member_required(w, "", root, "features", JSON_ARRAY, NULL);
        if (v)
                d->features = parse_string_list(w, "features", v, check_feature, &d->feature_mask);

        v = json_object_get(root, "tags");
        if (!v)
                problem_add(w, PROBLEM_WARNING, "tags", "missing member (the schema requires it)");
        else
                d->tags = parse_string_list(w, "tags", v, NULL, NULL);

        check_feature_relations(w);
}

Descriptor *descriptor_new(void) {
        Descriptor *d = calloc(1, sizeof(Descriptor));

        if (!d)
                return NULL;
        d->n_ref = 1;
        d->device = _DEVICE_INVALID;
        d->mode = _FLASH_MODE_INVALID;
        d->executable.format = _FORMAT_INVALID;
        d->nvram_template.format = _FORMAT_INVALID;
        return d;
}

static const JsonLimits descriptor_limits = {
        .max_depth = DESCRIPTOR_DEPTH_MAX,
        .max_elements = DESCRIPTOR_LIST_MAX,
        .max_string = DESCRIPTOR_STRING_MAX,
        .max_values = 100000,
};

int descriptor_parse(const char *data, size_t size, Descriptor **ret) {
        _cleanup_(descriptor_unrefp) Descriptor *d = NULL;
        _cleanup_(json_value_freep) JsonValue *root = NULL;
        _cleanup_(freep) char *error = NULL;
        Walker w;
        const char *nul;
        int r;

        d = descriptor_new();
        if (!d)
                return -ENOMEM;
        w = (Walker) { .d = d };

        /* editors on some systems write one; JSON texts have none, but RFC 8259 lets a reader skip it */
        if (size >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
                problem_add(&w, PROBLEM_WARNING, "", "starts with a UTF-8 byte-order mark, ignored (other readers "
                            "of descriptors may refuse it)");
                data += 3;
                size -= 3;
        }
        if (size > DESCRIPTOR_SIZE_MAX)
                problem_add(&w, PROBLEM_ERROR, "", "larger than %u bytes (%zu bytes)", DESCRIPTOR_SIZE_MAX, size);
        else if ((nul = memchr(data, 0, size)))
                problem_add(&w, PROBLEM_ERROR, "", "contains a NUL byte at offset %zu: not a JSON text",
                            (size_t) (nul - data));
        else {
                r = json_parse(data, size, &descriptor_limits, &root, &error);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        problem_add(&w, PROBLEM_ERROR, "", "%s", error);
                else
                        walk(&w, root);
        }
        if (w.oom)
                return -ENOMEM;

        *ret = TAKE_PTR(d);
        return 0;
}

int descriptor_new_unreadable(const char *message, Descriptor **ret) {
        _cleanup_(descriptor_unrefp) Descriptor *d = descriptor_new();
        Walker w = { .d = d };

        if (!d)
                return -ENOMEM;
        d->unreadable = true;
        problem_add(&w, PROBLEM_ERROR, "", "%s", message);
        if (w.oom)
                return -ENOMEM;
        *ret = TAKE_PTR(d);
        return 0;
}

Descriptor *descriptor_ref(Descriptor *d) {
        if (d)
                d->n_ref++;
        return d;
}

Descriptor *descriptor_unref(Descriptor *d) {
        if (!d || --d->n_ref > 0)
                return NULL;

        free(d->description);
        strv_free(d->interface_types);
        free(d->executable.filename);
        free(d->nvram_template.filename);
        free(d->filename);
        free(d->uefi_vars_template);
        for (size_t i = 0; i < d->n_targets; i++)
                strv_free(d->targets[i].machines);
        free(d->targets);
        strv_free(d->features);
        strv_free(d->tags);
        for (size_t i = 0; i < d->n_problems; i++) {
                free(d->problems[i].path);
                free(d->problems[i].message);
        }
        free(d->problems);
        free(d);
        return NULL;
}

const char *descriptor_image(const Descriptor *d) {
        return d->device == DEVICE_FLASH ? d->executable.filename : d->filename;
}

const char *descriptor_vars_template(const Descriptor *d) {
        return d->device == DEVICE_FLASH ? d->nvram_template.filename : d->uefi_vars_template;
}

bool descriptor_matches_target(const Descriptor *d, Architecture a, const char *machine) {
        for (size_t i = 0; i < d->n_targets; i++) {
                const Target *t = &d->targets[i];

                if (t->architecture != a)
                        continue;
                if (!machine)
                        return true;
                STRV_FOREACH(g, t->machines)
                        if (fnmatch(*g, machine, 0) == 0)
                                return true;
        }
        return false;
}
