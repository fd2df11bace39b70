/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* fwregistryctl: validates descriptor files for packagers and queries the firmware catalogue, either through
 * fwregistryd or, with --offline, by loading the catalogue in this process. */

#include <getopt.h>
#include <stdio.h>

#include "catalogue.h"
#include "config.h"
#include "render.h"
#include "remote.h"
#include "resolver.h"
#include "table.h"
#include "validate.h"

typedef struct Options {
        bool offline;
        bool user;
        bool json;
        bool legend;
        bool check_files;
        char *root;
        char *search_path;
        char **extra_dirs;
        char *qemu_dirs;
        Request request;
} Options;

static Options arg = { .legend = true };

static void options_done(void) {
        free(arg.root);
        free(arg.search_path);
        strv_free(arg.extra_dirs);
        free(arg.qemu_dirs);
        request_done(&arg.request);
}

static int help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n\n"
               "Find and check QEMU firmware descriptors.\n\n"
               "Commands:\n"
               "  list                    List the descriptors in rank order\n"
               "  describe NAME           Show one descriptor as JSON\n"
               "  resolve                 Pick the firmware for a request\n"
               "  explain                 Show why each descriptor matches or not\n"
               "  monitor                 Print catalogue changes as they happen\n"
               "  reload                  Ask the daemon to rescan now (needs authorization)\n"
               "  validate [FILE...]      Check descriptor files ('-': stdin; none: those below --root)\n\n"
               "Options:\n"
               "  -h --help               Show this help\n"
               "     --version            Show the version\n"
               "     --offline            Load the catalogue in this process instead of asking fwregistryd\n"
               "     --system             Use the system instance and its search path (default)\n"
               "     --user               Use the user instance and its search path\n"
               "     --root=DIR           Read every search directory below DIR (offline)\n"
               "     --search-path=DIRS   Colon-separated directories, most general first (offline)\n"
               "     --extra-dir=DIR      Add a most general directory (offline)\n"
               "     --qemu-dirs=DIRS     Where the QEMU binaries that define machine aliases are\n"
               "                          (offline; default " QEMU_DIRS_DEFAULT ", none with --root)\n"
               "     --check-files        validate: referenced images must exist (below --root)\n"
               "     --json               Print JSON\n"
               "     --no-legend          Print no table header\n\n"
               "Request options (resolve, explain; list uses them as filters):\n"
               "  -a --arch=ARCH          x86_64, aarch64, i386, arm, riscv64, loongarch64\n"
               "  -m --machine=TYPE       Machine type or alias (q35, pc, virt)\n"
               "     --interface=TYPE     uefi (default), bios, openfirmware, uboot\n"
               "     --device=DEV         flash, memory, kernel or igvm\n"
               "     --mode=MODE          split, combined or stateless (flash only)\n"
               "     --format=FMT,...     Acceptable flash image formats (raw, qcow2)\n"
               "     --feature=NAME       Require a feature (repeatable)\n"
               "     --no-feature=NAME    Forbid a feature (repeatable)\n"
               "     --secure-boot / --no-secure-boot\n"
               "     --enrolled-keys / --no-enrolled-keys\n"
               "     --smm / --no-smm     Whether the machine can emulate SMM\n"
               "     --no-check-files     Do not require referenced files to exist\n"
               "     --exclude=NAME       Skip a descriptor (repeatable)\n"
               "     --executable=PATH    Only descriptors whose image is PATH\n"
               "     --nvram-template=PATH  Only descriptors whose variable store template is PATH\n"
               "     --include-invalid, --include-masked  (list)\n",
               program_invocation_short_name);
        return 0;
}

enum {
        ARG_VERSION = 0x100,
        ARG_OFFLINE,
        ARG_SYSTEM,
        ARG_USER,
        ARG_ROOT,
        ARG_SEARCH_PATH,
        ARG_EXTRA_DIR,
        ARG_QEMU_DIRS,
        ARG_CHECK_FILES,
        ARG_JSON,
        ARG_NO_LEGEND,
        ARG_INTERFACE,
        ARG_DEVICE,
        ARG_MODE,
        ARG_FORMAT,
        ARG_FEATURE,
        ARG_NO_FEATURE,
        ARG_SECURE_BOOT,
        ARG_NO_SECURE_BOOT,
        ARG_ENROLLED_KEYS,
        ARG_NO_ENROLLED_KEYS,
        ARG_SMM,
        ARG_NO_SMM,
        ARG_NO_CHECK_FILES,
        ARG_EXCLUDE,
        ARG_EXECUTABLE,
        ARG_NVRAM_TEMPLATE,
        ARG_INCLUDE_INVALID,
        ARG_INCLUDE_MASKED,
};

static int fail(const char *fmt, ...) _printf_(1, 2);
static int fail(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", program_invocation_short_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -EINVAL;
}

static int set_string(char **s, const char *v) {
        free(*s);
        *s = strdup(v);
        return *s ? 0 : -ENOMEM;
}

static int parse_formats(Request *r, const char *v) {
        _cleanup_(freep) char *copy = strdup(v);
        char *state = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *f = strtok_r(copy, ",", &state); f; f = strtok_r(NULL, ",", &state)) {
                Format x = format_from_string(f);
                if (x < 0)
                        return fail("Unknown format '%s' (expected raw or qcow2)", f);
                r->formats |= 1U << x;
        }
        r->has_formats = true;
        return 0;
}

/* Each request option sets exactly one request key, under the same name as on the bus. */
static int parse_request_option(int c, const char *v, Request *r) {
        switch (c) {
        case 'a':
                r->architecture = architecture_from_string(v);
                if (r->architecture < 0)
                        return fail("Unknown architecture '%s' (expected %s)", v, architecture_expected());
                r->has_architecture = true;
                return 0;
        case 'm':
                return set_string(&r->machine, v);
        case ARG_INTERFACE:
                r->interface = interface_type_from_string(v);
                if (r->interface < 0)
                        return fail("Unknown interface '%s' (expected uefi, bios, openfirmware or uboot)", v);
                r->has_interface = true;
                return 0;
        case ARG_DEVICE:
                r->device = device_from_string(v);
                if (r->device < 0)
                        return fail("Unknown device '%s' (expected flash, memory, kernel or igvm)", v);
                r->has_device = true;
                return 0;
        case ARG_MODE:
                r->mode = flash_mode_from_string(v);
                if (r->mode < 0)
                        return fail("Unknown mode '%s' (expected split, combined or stateless)", v);
                r->has_mode = true;
                return 0;
        case ARG_FORMAT:
                return parse_formats(r, v);
        case ARG_FEATURE:
        case ARG_NO_FEATURE:
                if (isempty(v))
                        return fail("Empty feature name");
                return request_set_feature(r, v, c == ARG_FEATURE);
        case ARG_SECURE_BOOT:
        case ARG_NO_SECURE_BOOT:
                return request_set_feature(r, "secure-boot", c == ARG_SECURE_BOOT);
        case ARG_ENROLLED_KEYS:
        case ARG_NO_ENROLLED_KEYS:
                return request_set_feature(r, "enrolled-keys", c == ARG_ENROLLED_KEYS);
        case ARG_SMM:
        case ARG_NO_SMM:
                r->has_smm = true;
                r->smm = c == ARG_SMM;
                return 0;
        case ARG_NO_CHECK_FILES:
                r->has_check_files = true;
                r->check_files = false;
                return 0;
        case ARG_EXCLUDE:
                return strv_extend(&r->exclude, v);
        case ARG_EXECUTABLE:
                return set_string(&r->executable, v);
        case ARG_NVRAM_TEMPLATE:
                return set_string(&r->nvram_template, v);
        case ARG_INCLUDE_INVALID:
                r->include_invalid = true;
                return 0;
        case ARG_INCLUDE_MASKED:
                r->include_masked = true;
                return 0;
        default:
                return -EINVAL;
        }
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help",             no_argument,       NULL, 'h'                  },
                { "version",          no_argument,       NULL, ARG_VERSION          },
                { "offline",          no_argument,       NULL, ARG_OFFLINE          },
                { "system",           no_argument,       NULL, ARG_SYSTEM           },
                { "user",             no_argument,       NULL, ARG_USER             },
                { "root",             required_argument, NULL, ARG_ROOT             },
                { "search-path",      required_argument, NULL, ARG_SEARCH_PATH      },
                { "extra-dir",        required_argument, NULL, ARG_EXTRA_DIR        },
                { "qemu-dirs",        required_argument, NULL, ARG_QEMU_DIRS        },
                { "check-files",      no_argument,       NULL, ARG_CHECK_FILES      },
                { "json",             no_argument,       NULL, ARG_JSON             },
                { "no-legend",        no_argument,       NULL, ARG_NO_LEGEND        },
                { "arch",             required_argument, NULL, 'a'                  },
                { "architecture",     required_argument, NULL, 'a'                  },
                { "machine",          required_argument, NULL, 'm'                  },
                { "interface",        required_argument, NULL, ARG_INTERFACE        },
                { "device",           required_argument, NULL, ARG_DEVICE           },
                { "mode",             required_argument, NULL, ARG_MODE             },
                { "format",           required_argument, NULL, ARG_FORMAT           },
                { "formats",          required_argument, NULL, ARG_FORMAT           },
                { "feature",          required_argument, NULL, ARG_FEATURE          },
                { "no-feature",       required_argument, NULL, ARG_NO_FEATURE       },
                { "secure-boot",      no_argument,       NULL, ARG_SECURE_BOOT      },
                { "no-secure-boot",   no_argument,       NULL, ARG_NO_SECURE_BOOT   },
                { "enrolled-keys",    no_argument,       NULL, ARG_ENROLLED_KEYS    },
                { "no-enrolled-keys", no_argument,       NULL, ARG_NO_ENROLLED_KEYS },
                { "smm",              no_argument,       NULL, ARG_SMM              },
                { "no-smm",           no_argument,       NULL, ARG_NO_SMM           },
                { "no-check-files",   no_argument,       NULL, ARG_NO_CHECK_FILES   },
                { "exclude",          required_argument, NULL, ARG_EXCLUDE          },
                { "executable",       required_argument, NULL, ARG_EXECUTABLE       },
                { "nvram-template",   required_argument, NULL, ARG_NVRAM_TEMPLATE   },
                { "include-invalid",  no_argument,       NULL, ARG_INCLUDE_INVALID  },
                { "include-masked",   no_argument,       NULL, ARG_INCLUDE_MASKED   },
                {}
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "ha:m:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("fwregistryctl %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_OFFLINE:
                        arg.offline = true;
                        break;
                case ARG_SYSTEM:
                case ARG_USER:
                        arg.user = c == ARG_USER;
                        break;
                case ARG_ROOT:
                        r = set_string(&arg.root, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_SEARCH_PATH:
                        r = set_string(&arg.search_path, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_EXTRA_DIR:
                        r = strv_extend(&arg.extra_dirs, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_QEMU_DIRS:
                        r = set_string(&arg.qemu_dirs, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_CHECK_FILES:
                        arg.check_files = true;
                        break;
                case ARG_JSON:
                        arg.json = true;
                        break;
                case ARG_NO_LEGEND:
                        arg.legend = false;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        r = parse_request_option(c, optarg, &arg.request);
                        if (r < 0)
                                return r;
                }
        }
        return 1;
}

static void print_json_and_free(char *s) {
        if (s) {
                fputs(s, stdout);
                if (!endswith(s, "\n"))
                        fputc('\n', stdout);
        }
        free(s);
}

/* validate [FILE...]: see validate.c. Without files, a root's search directories. */
static int verb_validate(char **files) {
        _cleanup_(strv_freep) char **dirs = NULL;
        int r;

        if (!files[0] && !arg.root)
                return fail("validate needs at least one file, '-' for stdin, or --root=DIR");
        if (files[0] && (arg.search_path || arg.extra_dirs))
                return fail("validate checks the files it is given: --search-path and --extra-dir do not apply");
        r = catalogue_search_path(arg.user, arg.search_path, arg.extra_dirs, &dirs);
        if (r == -EINVAL)
                return fail("Search directories must be absolute paths");
        if (r < 0)
                return r;
        return validate_run(files, &(ValidateOptions) { .json = arg.json, .check_files = arg.check_files,
                                                        .root = arg.root, .dirs = dirs });
}

static int load_catalogue(Catalogue **ret) {
        _cleanup_(strv_freep) char **dirs = NULL;
        Catalogue *c;
        int r;

        r = catalogue_search_path(arg.user, arg.search_path, arg.extra_dirs, &dirs);
        if (r == -EINVAL)
                return fail("Search directories must be absolute paths");
        if (r < 0)
                return r;
        r = catalogue_build(dirs, arg.root, NULL, &c);
        if (r < 0)
                return r;
        STRV_FOREACH(p, c->dir_problems)
                fprintf(stderr, "Failed to read directory %s, skipping.\n", *p);
        *ret = c;
        return 0;
}

/* The machine aliases the daemon would use, from the same QEMU binaries, so that both answer alike. */
static int load_machines(QemuMachines **ret) {
        _cleanup_(strv_freep) char **dirs = NULL;
        int r;

        r = qemu_dirs_parse(arg.qemu_dirs ?: arg.root ? "" : QEMU_DIRS_DEFAULT, &dirs);
        if (r == -EINVAL)
                return fail("QEMU directories must be absolute paths");
        if (r < 0)
                return r;
        return qemu_machines_probe(dirs, QEMU_TIMEOUT_USEC_DEFAULT, ret);
}

static char *targets_to_string(const Descriptor *d) {
        StrBuf b = {};

        for (size_t i = 0; d && i < d->n_targets; i++) {
                strbuf_printf(&b, "%s%s:", i > 0 ? " " : "",
                              strempty(architecture_to_string(d->targets[i].architecture)));
                STRV_FOREACH(m, d->targets[i].machines)
                        strbuf_printf(&b, "%s%s", m == d->targets[i].machines ? "" : ",", *m);
        }
        return strbuf_steal(&b);
}

static char *strv_join(char * const *l, const char *sep) {
        StrBuf b = {};

        STRV_FOREACH(s, l)
                strbuf_printf(&b, "%s%s", s == l ? "" : sep, *s);
        return strbuf_steal(&b);
}

static bool list_includes(const Catalogue *c, const Entry *e) {
        if (e->state == ENTRY_MASKED)
                return arg.request.include_masked;
        if (e->state == ENTRY_INVALID)
                return arg.request.include_invalid;
        return resolver_match(c, e, &arg.request, REQUEST_FILTER, NULL) > 0;
}

static char *device_text(const Descriptor *d) {
        if (!d || d->device < 0)
                return strdup("-");
        if (d->device == DEVICE_FLASH && d->mode >= 0)
                return strdup_printf("%s/%s", device_to_string(d->device), flash_mode_to_string(d->mode));
        return strdup(device_to_string(d->device));
}

static int print_list(const Entry *const *entries, size_t n, uint64_t generation) {
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        int r = 0;

        if (arg.json) {
                g = render_gen_new(true);
                if (!g)
                        return -ENOMEM;
                r = gen_map_open(g);
                r = r ?: gen_key_uint(g, "generation", generation);
                r = r ?: gen_string(g, "firmwares");
                r = r ?: gen_array_open(g);
                for (size_t i = 0; i < n && r == 0; i++)
                        r = render_entry(g, entries[i], generation);
                r = r ?: gen_array_close(g);
                r = r ?: gen_map_close(g);
                if (r)
                        return -ENOMEM;
                print_json_and_free(render_gen_steal(g));
                return 0;
        }

        t = table_new("RANK", "NAME", "STATE", "INTERFACE", "DEVICE", "TARGETS", "FEATURES", NULL);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n && r == 0; i++) {
                const Entry *e = entries[i];
                const Descriptor *d = e->descriptor;
                _cleanup_(freep) char *rank = strdup_printf("%u", e->rank), *targets = targets_to_string(d),
                        *interfaces = strv_join(d ? d->interface_types : NULL, ","),
                        *features = strv_join(d ? d->features : NULL, ","), *device = device_text(d);
                const char *state = e->state != ENTRY_VALID ? entry_state_to_string(e->state) :
                                    entry_files_ok(e) ? "ok" : "files-missing";

                r = table_add_row(t, rank, e->name, state, interfaces, device, targets, features, NULL);
        }
        if (r < 0)
                return r;
        return table_print(t, stdout, arg.legend);
}

static int verb_list(const Catalogue *c, sd_bus *bus) {
        _cleanup_(freep) const Entry **entries = NULL;
        RemoteEntry *remote = NULL;
        uint64_t generation = 0;
        size_t n = 0;
        int r;

        if (c) {
                entries = calloc(c->n_entries + 1, sizeof(Entry *));
                if (!entries)
                        return -ENOMEM;
                for (size_t i = 0; i < c->n_entries; i++)
                        if (list_includes(c, &c->entries[i]))
                                entries[n++] = &c->entries[i];
                return print_list(entries, n, 0);
        }

        r = remote_list(bus, &arg.request, &generation, &remote, &n);
        if (r < 0)
                return r;
        entries = calloc(n + 1, sizeof(Entry *));
        if (entries) {
                for (size_t i = 0; i < n; i++)
                        entries[i] = &remote[i].entry;
                r = print_list(entries, n, generation);
        } else
                r = -ENOMEM;
        remote_entries_free(remote, n);
        return r;
}

static void print_field(const char *key, const char *value) {
        if (!isempty(value))
                printf("%15s: %s\n", key, value);
}

static int print_entry(const Entry *e) {
        const Descriptor *d = e->descriptor;
        _cleanup_(freep) char *targets = targets_to_string(d), *features = strv_join(d->features, " "),
                *interfaces = strv_join(d->interface_types, " "), *rank = strdup_printf("%u", e->rank),
                *exe = NULL, *vars = NULL;

        if (d->device == DEVICE_FLASH) {
                exe = strdup_printf("%s (%s)", d->executable.filename, format_to_string(d->executable.format));
                if (d->nvram_template.filename)
                        vars = strdup_printf("%s (%s)", d->nvram_template.filename,
                                             format_to_string(d->nvram_template.format));
        } else {
                exe = strdup(d->filename);
                if (d->uefi_vars_template)
                        vars = strdup(d->uefi_vars_template);
        }
        print_field("name", e->name);
        print_field("path", e->path);
        print_field("rank", rank);
        print_field("description", d->description);
        print_field("interface-types", interfaces);
        print_field("device", device_to_string(d->device));
        if (d->device == DEVICE_FLASH)
                print_field("mode", flash_mode_to_string(d->mode));
        print_field("executable", exe);
        print_field(d->device == DEVICE_FLASH ? "nvram-template" : "uefi-vars", vars);
        print_field("targets", targets);
        print_field("features", features);
        print_field("files-ok", entry_files_ok(e) ? "yes" : "no");
        return 0;
}

static int require_architecture(void) {
        if (!arg.request.has_architecture)
                return fail("A request needs an architecture: use --arch (for example --arch=x86_64)");
        return 0;
}

static int print_resolved(const Entry *e, uint64_t generation) {
        if (arg.json) {
                _cleanup_(yajl_gen_freep) yajl_gen g = render_gen_new(true);

                if (!g || render_entry(g, e, generation) < 0)
                        return -ENOMEM;
                print_json_and_free(render_gen_steal(g));
                return 0;
        }
        return print_entry(e);
}

static int verb_resolve(const Catalogue *c, sd_bus *bus) {
        const Entry *e = NULL;
        RemoteEntry remote = {};
        uint64_t generation = 0;
        int r;

        r = require_architecture();
        if (r < 0)
                return r;
        if (bus) {
                r = remote_resolve(bus, &arg.request, &generation, &remote);
                if (r == -ENOENT)
                        return 2;
                if (r < 0)
                        return r;
                r = print_resolved(&remote.entry, generation);
                remote_entry_done(&remote);
                return r;
        }

        r = resolver_resolve(c, &arg.request, &e);
        if (r < 0)
                return r;
        if (r == 0) {
                _cleanup_(explanation_done) Explanation x = {};
                _cleanup_(freep) char *msg = NULL;

                r = resolver_explain(c, &arg.request, &x);
                if (r < 0)
                        return r;
                msg = explanation_summary(&x, &arg.request);
                fprintf(stderr, "%s\n", strempty(msg));
                return 2;
        }
        return print_resolved(e, 0);
}

/* One row of Explain output, borrowed from an Explanation or from the daemon's reply. */
typedef struct VerdictView {
        const char *name;
        const char *verdict;
        char * const *reasons;
} VerdictView;

static int print_verdicts(const char *selected, const VerdictView *v, size_t n) {
        _cleanup_(table_freep) Table *t = NULL;
        int r = 0;

        if (arg.json) {
                _cleanup_(yajl_gen_freep) yajl_gen g = render_gen_new(true);

                if (!g)
                        return -ENOMEM;
                r = gen_map_open(g);
                r = r ?: gen_key_string(g, "selected", strempty(selected));
                r = r ?: gen_string(g, "verdicts");
                r = r ?: gen_array_open(g);
                for (size_t i = 0; i < n; i++) {
                        r = r ?: gen_map_open(g);
                        r = r ?: gen_key_string(g, "name", v[i].name);
                        r = r ?: gen_key_string(g, "verdict", v[i].verdict);
                        r = r ?: gen_key_strv(g, "reasons", v[i].reasons);
                        r = r ?: gen_map_close(g);
                }
                r = r ?: gen_array_close(g);
                r = r ?: gen_map_close(g);
                if (r)
                        return -ENOMEM;
                print_json_and_free(render_gen_steal(g));
                return 0;
        }

        t = table_new("NAME", "VERDICT", "REASONS", NULL);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_(freep) char *reasons = strv_join(v[i].reasons, " ");
                r = table_add_row(t, v[i].name, v[i].verdict, isempty(reasons) ? "-" : reasons, NULL);
        }
        if (r < 0)
                return r;
        return table_print(t, stdout, arg.legend);
}

static int verb_explain(const Catalogue *c, sd_bus *bus) {
        _cleanup_(explanation_done) Explanation x = {};
        _cleanup_(freep) VerdictView *views = NULL;
        _cleanup_(freep) char *selected = NULL;
        RemoteVerdict *remote = NULL;
        size_t n = 0;
        int r;

        r = require_architecture();
        if (r < 0)
                return r;
        if (bus) {
                r = remote_explain(bus, &arg.request, &selected, &remote, &n);
                if (r < 0)
                        return r;
        } else {
                r = resolver_explain(c, &arg.request, &x);
                if (r < 0)
                        return r;
                n = x.n_verdicts;
        }

        views = calloc(n + 1, sizeof(VerdictView));
        if (!views) {
                remote_verdicts_free(remote, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                views[i] = bus ? (VerdictView) { remote[i].name, remote[i].verdict, remote[i].reasons }
                               : (VerdictView) { x.verdicts[i].entry->name,
                                                 verdict_kind_to_string(x.verdicts[i].kind), x.verdicts[i].reasons };
        r = print_verdicts(bus ? selected : x.selected ? x.selected->name : NULL, views, n);
        remote_verdicts_free(remote, bus ? n : 0);
        return r;
}

#define FIRMWARE_OBJECT_PREFIX "/io/github/fwregistryd/FirmwareRegistry1/firmware"

static int verb_describe(const Catalogue *c, sd_bus *bus, const char *name) {
        char *json = NULL;
        const Entry *e;
        int r;

        if (!name)
                return fail("describe needs a descriptor name");
        if (bus) {
                r = remote_describe(bus, name, &json);
                if (r < 0)
                        return r;
                print_json_and_free(json);
                return 0;
        }
        if (strncmp(name, FIRMWARE_OBJECT_PREFIX "/", strlen(FIRMWARE_OBJECT_PREFIX "/")) == 0) {
                /* an object path, as the daemon takes it */
                _cleanup_(freep) char *decoded = NULL;

                if (sd_bus_path_decode(name, FIRMWARE_OBJECT_PREFIX, &decoded) <= 0)
                        return fail("'%s' is not the object path of a firmware descriptor", name);
                e = catalogue_find(c, decoded);
        } else if (name[0] == '/') {    /* a descriptor file: the one that won */
                e = catalogue_find(c, strrchr(name, '/') + 1);
                if (!e || !streq(e->path, name))
                        return fail("No firmware descriptor file '%s' in the catalogue%s%s%s", name,
                                    e ? " (the descriptor of that name is '" : "", e ? e->path : "", e ? "')" : "");
        } else
                e = catalogue_find(c, name);
        if (!e)
                return fail("No descriptor called '%s'", name);
        print_json_and_free(render_describe(e, arg.user ? "user" : "system", 0));
        return 0;
}

static const char *const verbs[] = { "list", "describe", "resolve", "explain", "monitor", "reload", NULL };

static int run(int argc, char *argv[]) {
        _cleanup_(qemu_machines_freep) QemuMachines *machines = NULL;
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *verb;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        verb = argv[optind];
        if (!verb)
                return fail("Missing command; see --help");

        if (streq(verb, "validate"))
                return verb_validate(argv + optind + 1);
        if (!strv_contains((char **) verbs, verb))
                return fail("Unknown command '%s'; see --help", verb);

        if (arg.offline) {
                if (streq(verb, "monitor") || streq(verb, "reload"))
                        return fail("'%s' needs the daemon: drop --offline", verb);
                r = load_catalogue(&c);
                if (r >= 0)
                        r = load_machines(&machines);
                arg.request.machines = machines;
        } else {
                if (arg.root || arg.search_path || arg.extra_dirs || arg.qemu_dirs)
                        return fail("--root, --search-path, --extra-dir and --qemu-dirs go with --offline");
                r = remote_connect(arg.user, &bus);
        }
        if (r < 0)
                return r;
        if (c) {        /* the daemon refuses it the same way */
                _cleanup_(freep) char *message = NULL;

                r = request_check(&arg.request, &message);
                if (r == -EINVAL)
                        return fail("%s", message);
                if (r < 0)
                        return r;
        }

        if (streq(verb, "list"))
                return verb_list(c, bus);
        if (streq(verb, "resolve"))
                return verb_resolve(c, bus);
        if (streq(verb, "explain"))
                return verb_explain(c, bus);
        if (streq(verb, "describe"))
                return verb_describe(c, bus, argv[optind + 1]);
        if (streq(verb, "monitor"))
                return remote_monitor(bus, arg.json);
        return remote_reload(bus);
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);

        options_done();
        if (r == -ENOMEM)
                fprintf(stderr, "%s: out of memory\n", program_invocation_short_name);
        return r < 0 ? 1 : r;
}
