/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* fwregistryctl: validates descriptor files for packagers and queries the firmware catalogue, either through
 * fwregistryd or, with --offline, by loading the catalogue in this process. */

#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "agent.h"
#include "catalogue.h"
#include "config.h"
#include "launch.h"
#include "pager.h"
#include "render.h"
#include "remote.h"
#include "resolver.h"
#include "table.h"
#include "validate.h"

typedef enum JsonMode {
        JSON_OFF,
        JSON_PRETTY,
        JSON_SHORT,
} JsonMode;

typedef enum OutputMode {
        OUTPUT_TEXT,
        OUTPUT_QEMU,
        OUTPUT_LIBVIRT,
} OutputMode;

typedef struct Options {
        bool offline;
        bool user;
        JsonMode json;
        bool legend;
        bool pager;
        bool ask_password;
        OutputMode output;
        char *nvram;            /* the VM's varstore, absolute */
        bool wide;
        bool check_files;
        char *root;
        char *search_path;
        char **extra_dirs;
        char *qemu_dirs;
        Request request;
} Options;

static Options arg = { .legend = true, .pager = true, .ask_password = true };

static void options_done(void) {
        free(arg.nvram);
        free(arg.root);
        free(arg.search_path);
        strv_free(arg.extra_dirs);
        if (arg.request.has_nvram && arg.request.nvram_fd >= 0)
                close(arg.request.nvram_fd);
        free(arg.qemu_dirs);
        request_done(&arg.request);
}

static int help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n\n"
               "Find and check QEMU firmware descriptors.\n\n"
               "Commands:\n"
               "  status                  Show the daemon's state (the default)\n"
               "  list                    List the descriptors in rank order\n"
               "  describe NAME           Show one descriptor as JSON\n"
               "  resolve                 Pick the firmware for a request\n"
               "  explain                 Show why each descriptor matches or not\n"
               "  monitor                 Print catalogue changes as they happen\n"
               "  reload                  Ask the daemon to rescan now (needs authorization)\n"
               "  validate [FILE...]      Check descriptor files ('-': stdin; none: those below --root)\n"
               "  nvram create PATH       Make a VM's variable store from the resolved firmware's template\n"
               "  nvram inspect PATH      Show a varstore's layout and the descriptors it fits\n\n"
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
               "     --json=MODE          Print JSON: pretty (the default of --json), short or off\n"
               "     --no-legend          Print no table header and footer\n"
               "     --no-pager           Do not pipe output into a pager\n"
               "     --no-ask-password    Do not ask for a password (reload)\n"
               "     --wide               List sizes, digests and varstore layouts too\n\n"
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
               "     --nvram=PATH         A VM's varstore: only firmware whose template it fits\n"
               "     --include-invalid, --include-masked, --include-shadowed  (list)\n\n"
               "Launching (resolve):\n"
               "     --output=FORMAT      text (default), qemu (arguments for a shell) or libvirt (<os> elements)\n"
               "                          (--nvram=PATH then names the VM's variable store)\n",
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
        ARG_INCLUDE_SHADOWED,
        ARG_NO_PAGER,
        ARG_NO_ASK_PASSWORD,
        ARG_OUTPUT,
        ARG_NVRAM,
        ARG_WIDE,
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

/* Paths go to the daemon, whose working directory is not ours: relative ones are made absolute here. */
static int set_absolute_path(char **s, const char *option, const char *v) {
        _cleanup_(freep) char *cwd = NULL;

        if (isempty(v))
                return fail("%s must not be empty", option);
        if (v[0] == '/')
                return set_string(s, v);
        cwd = getcwd(NULL, 0);
        if (!cwd)
                return fail("%s: cannot make '%s' absolute: %m", option, v);
        free(*s);
        *s = strdup_printf("%s/%s", streq(cwd, "/") ? "" : cwd, v);
        return *s ? 0 : -ENOMEM;
}

static int parse_json_mode(const char *v) {
        if (!v || streq(v, "pretty"))
                arg.json = JSON_PRETTY;
        else if (streq(v, "short"))
                arg.json = JSON_SHORT;
        else if (streq(v, "off"))
                arg.json = JSON_OFF;
        else
                return fail("Unknown --json mode '%s' (expected pretty, short or off)", v);
        return 0;
}

static int parse_output(const char *v) {
        if (streq(v, "text"))
                arg.output = OUTPUT_TEXT;
        else if (streq(v, "qemu"))
                arg.output = OUTPUT_QEMU;
        else if (streq(v, "libvirt"))
                arg.output = OUTPUT_LIBVIRT;
        else
                return fail("Unknown --output format '%s' (expected text, qemu or libvirt)", v);
        return 0;
}

/* Opens a VM's varstore for the nvram key: the daemon gets the descriptor, offline its head is read here. */
static int open_nvram(Request *r, const char *path) {
        _cleanup_(closep) int fd = -1;
        int k;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return fail("Cannot open '%s': %s", path, strerror(errno));
        k = varstore_read_fd(fd, &r->nvram);
        if (k == -EBADFD)
                return fail("'%s' is not a regular file", path);
        if (k < 0)
                return fail("Cannot read '%s': %s", path, strerror(-k));
        if (r->has_nvram && r->nvram_fd >= 0)
                close(r->nvram_fd);
        r->has_nvram = true;
        r->nvram_fd = TAKE_FD(fd);
        return 0;
}

/* --nvram names a VM's varstore: its layout narrows the request (the nvram key). For --output, a varstore that
 * does not exist yet (libvirt makes it from the template at the first start) is only named in the output. */
static int setup_nvram(void) {
        if (!arg.nvram)
                return 0;
        if (arg.output != OUTPUT_TEXT && access(arg.nvram, F_OK) < 0 && errno == ENOENT)
                return 0;
        return open_nvram(&arg.request, arg.nvram);
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
                if (isempty(v))
                        return fail("--machine must not be empty");
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
                if (isempty(v))
                        return fail("--exclude must not be empty");
                return strv_extend(&r->exclude, v);
        case ARG_EXECUTABLE:
                return set_absolute_path(&r->executable, "--executable", v);
        case ARG_NVRAM_TEMPLATE:
                return set_absolute_path(&r->nvram_template, "--nvram-template", v);
        case ARG_INCLUDE_INVALID:
                r->include_invalid = true;
                return 0;
        case ARG_INCLUDE_MASKED:
                r->include_masked = true;
                return 0;
        case ARG_INCLUDE_SHADOWED:
                r->include_shadowed = true;
                return 0;
        default:
                return -EINVAL;
        }
}

/* The long option closest to what was typed (at most two edits away), for "did you mean". */
static const char *closest_option(const struct option *options, const char *typed) {
        const char *best = NULL;
        size_t best_distance = 3, n = strcspn(typed, "=");

        for (const struct option *o = options; o->name; o++) {
                size_t m = strlen(o->name), prev[64], cur[64];

                if (n >= ELEMENTSOF(prev) || m >= ELEMENTSOF(prev))
                        continue;
                for (size_t j = 0; j <= m; j++)
                        prev[j] = j;
                for (size_t i = 1; i <= n; i++) {       /* Levenshtein, one row at a time */
                        cur[0] = i;
                        for (size_t j = 1; j <= m; j++) {
                                size_t sub = prev[j - 1] + (typed[i - 1] != o->name[j - 1]);
                                size_t ins_del = prev[j] < cur[j - 1] ? prev[j] + 1 : cur[j - 1] + 1;
                                cur[j] = ins_del < sub ? ins_del : sub;
                        }
                        memcpy(prev, cur, sizeof(size_t) * (m + 1));
                }
                if (prev[m] < best_distance) {
                        best_distance = prev[m];
                        best = o->name;
                }
        }
        return best;
}

static int unknown_option(const struct option *options, const char *typed) {
        const char *guess = strncmp(typed, "--", 2) == 0 ? closest_option(options, typed + 2) : NULL;

        if (guess)
                return fail("Unknown option '%s' (did you mean --%s? see --help for the options)", typed, guess);
        return fail("Unknown option '%s' (see --help for the options)", typed);
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
                { "json",             optional_argument, NULL, ARG_JSON             },
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
                { "include-shadowed", no_argument,       NULL, ARG_INCLUDE_SHADOWED },
                { "no-pager",         no_argument,       NULL, ARG_NO_PAGER         },
                { "no-ask-password",  no_argument,       NULL, ARG_NO_ASK_PASSWORD  },
                { "output",           required_argument, NULL, ARG_OUTPUT           },
                { "nvram",            required_argument, NULL, ARG_NVRAM            },
                { "wide",             no_argument,       NULL, ARG_WIDE             },
                {}
        };
        int c, r;

        opterr = 0;     /* our messages name the option and say where the choices are */
        while ((c = getopt_long(argc, argv, ":ha:m:", options, NULL)) >= 0) {
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
                        r = parse_json_mode(optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_NO_LEGEND:
                        arg.legend = false;
                        break;
                case ARG_NO_PAGER:
                        arg.pager = false;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg.ask_password = false;
                        break;
                case ARG_OUTPUT:
                        r = parse_output(optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_NVRAM:
                        r = set_absolute_path(&arg.nvram, "--nvram", optarg);
                        if (r < 0)
                                return r;
                        break;
                case ':':
                        return fail("Option '%s' needs a value (see --help)", argv[optind - 1]);
                case ARG_WIDE:
                        arg.wide = true;
                        break;
                case '?':
                        if (optopt > 0 && optopt < 0x100 && !strchr(argv[optind - 1], '='))
                                return fail("Unknown option '-%c' (see --help for the options)", optopt);
                        return unknown_option(options, argv[optind - 1]);
                default:
                        r = parse_request_option(c, optarg, &arg.request);
                        if (r < 0)
                                return r;
                }
        }
        return 1;
}

/* --json=short: the same text without the whitespace between tokens. */
static void json_compact(char *s) {
        bool in_string = false, escaped = false;
        char *out = s;

        for (; *s; s++) {
                if (in_string) {
                        in_string = escaped || *s != '"';
                        escaped = !escaped && *s == '\\';
                } else if (strchr(" \t\n\r", *s))
                        continue;
                else
                        in_string = *s == '"';
                *out++ = *s;
        }
        *out = '\0';
}

static yajl_gen json_gen_new(void) {
        return render_gen_new(arg.json != JSON_SHORT);
}

static void print_json_and_free(char *s) {
        if (s && arg.json == JSON_SHORT)
                json_compact(s);
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

/* "6 firmware descriptors listed.", after a blank line, as systemd's tools end their tables. */
static void print_legend(size_t n, const char *singular, const char *plural, const char *what) {
        if (arg.legend)
                printf("\n%zu %s %s.\n", n, n == 1 ? singular : plural, what);
}

/* The template's layout in a table cell: "edk2-authenticated/0x84000", "blank", "-" for none. */
static char *varstore_text(const Entry *e) {
        const ImageFacts *f = e->vars.facts;

        if (!f)
                return strdup("-");
        if (f->varstore.format == VARSTORE_UNKNOWN)
                return strdup("unknown");
        if (f->varstore.volume_size > 0)
                return strdup_printf("%s/0x%" PRIx64, varstore_format_to_string(f->varstore.format),
                                     f->varstore.volume_size);
        return strdup(varstore_format_to_string(f->varstore.format));
}

/* list --wide: the facts of each descriptor's images. */
static int print_list_wide(const Entry *const *entries, size_t n) {
        _cleanup_(table_freep) Table *t = NULL;
        int r = 0;

        t = table_new("RANK", "NAME", "STATE", "SIZE", "EXECUTABLE-SHA256", "VARSTORE", "VARS-SIZE",
                      "NVRAM-TEMPLATE-SHA256", NULL);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                const Entry *e = entries[i];
                const ImageFacts *image = e->image.facts, *vars = e->vars.facts;
                _cleanup_(freep) char *rank = strdup_printf("%u", e->rank), *varstore = varstore_text(e),
                        *size = image ? strdup_printf("%" PRIu64, image->size) : strdup("-"),
                        *vars_size = vars ? strdup_printf("%" PRIu64, vars->size) : strdup("-");

                if (!rank || !varstore || !size || !vars_size)
                        return -ENOMEM;
                r = table_add_row(t, rank, e->name, entry_state_name(e), size,
                                  image && !isempty(image->sha256) ? image->sha256 : "-", varstore, vars_size,
                                  vars && !isempty(vars->sha256) ? vars->sha256 : "-", NULL);
        }
        if (r < 0)
                return r;
        r = table_print(t, stdout, arg.legend);
        print_legend(n, "firmware descriptor", "firmware descriptors", "listed");
        return r;
}

static int print_list(const Entry *const *entries, size_t n, uint64_t generation) {
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        int r = 0;

        if (arg.json) {
                g = json_gen_new();
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
        if (arg.wide)
                return print_list_wide(entries, n);

        t = table_new("RANK", "NAME", "STATE", "INTERFACE", "DEVICE", "TARGETS", "FEATURES", NULL);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n && r == 0; i++) {
                const Entry *e = entries[i];
                const Descriptor *d = e->descriptor;
                _cleanup_(freep) char *rank = strdup_printf("%u", e->rank), *targets = targets_to_string(d),
                        *interfaces = strv_join(d ? d->interface_types : NULL, ","),
                        *features = strv_join(d ? d->features : NULL, ","), *device = device_text(d);

                r = table_add_row(t, rank, e->name, entry_state_name(e), interfaces, device, targets, features, NULL);
        }
        if (r < 0)
                return r;
        r = table_print(t, stdout, arg.legend);
        print_legend(n, "firmware descriptor", "firmware descriptors", "listed");
        return r;
}

/* What the daemon lists for include-shadowed: each file behind an entry, as an invalid entry that says by
 * which file it is shadowed. */
static int shadow_entries(const Catalogue *c, Entry **ret, size_t *ret_n) {
        Entry *shadows = NULL;
        size_t n = 0;

        for (size_t i = 0; i < c->n_entries; i++) {
                const Entry *e = &c->entries[i];

                if (e->state == ENTRY_MASKED)
                        continue;
                STRV_FOREACH(p, e->shadowed) {
                        _cleanup_(freep) char *why = strdup_printf("shadowed by '%s'", e->path);
                        Entry *x = realloc(shadows, sizeof(Entry) * (n + 1));

                        if (!x || !why) {
                                free(x ?: shadows);
                                return -ENOMEM;
                        }
                        shadows = x;
                        shadows[n] = (Entry) { .path = *p, .name = e->name, .rank = e->rank, .state = ENTRY_SHADOWED };
                        if (descriptor_new_unreadable(why, &shadows[n].descriptor) < 0) {
                                free(shadows);
                                return -ENOMEM;
                        }
                        n++;
                }
        }
        *ret = shadows;
        *ret_n = n;
        return 0;
}

static int verb_list(const Catalogue *c, sd_bus *bus) {
        _cleanup_(freep) const Entry **entries = NULL;
        RemoteEntry *remote = NULL;
        uint64_t generation = 0;
        size_t n = 0;
        int r;

        if (c) {
                Entry *shadows = NULL;
                size_t n_shadows = 0, k = 0;

                if (arg.request.include_shadowed) {
                        r = shadow_entries(c, &shadows, &n_shadows);
                        if (r < 0)
                                return r;
                }
                entries = calloc(c->n_entries + n_shadows + 1, sizeof(Entry *));
                for (size_t i = 0; entries && i < c->n_entries; i++) {
                        if (list_includes(c, &c->entries[i]))
                                entries[n++] = &c->entries[i];
                        /* after their entry, in rank order, as the daemon lists them */
                        for (; k < n_shadows && streq(shadows[k].name, c->entries[i].name); k++)
                                entries[n++] = &shadows[k];
                }
                r = entries ? print_list(entries, n, 0) : -ENOMEM;
                for (size_t i = 0; i < n_shadows; i++)
                        descriptor_unref(shadows[i].descriptor);
                free(shadows);
                return r;
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

/* Sizes, digests and the template's layout (--json has them under the keys of the bus API). */
static int print_entry_facts(const Entry *e) {
        const ImageFacts *image = e->image.facts, *vars = e->vars.facts;
        _cleanup_(freep) char *size = image ? strdup_printf("%" PRIu64, image->size) : NULL,
                *vars_size = vars ? strdup_printf("%" PRIu64, vars->size) : NULL,
                *layout = vars ? varstore_to_string(&vars->varstore) : NULL;

        if ((image && !size) || (vars && (!vars_size || !layout)))
                return -ENOMEM;
        /* shorter than the bus keys, so that the labels stay aligned */
        print_field("image size", size);
        print_field("image sha256", image ? image->sha256 : NULL);
        print_field("template size", vars_size);
        print_field("template sha256", vars ? vars->sha256 : NULL);
        print_field("varstore", layout);
        return 0;
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
        print_field("state", entry_state_name(e));
        return print_entry_facts(e);
}

static int require_architecture(void) {
        if (!arg.request.has_architecture)
                return fail("A request needs an architecture: use --arch (for example --arch=x86_64)");
        return 0;
}

static int print_resolved(const Entry *e, uint64_t generation) {
        if (arg.output == OUTPUT_QEMU)
                return launch_print_qemu(e, arg.request.machine, arg.nvram, stdout);
        if (arg.output == OUTPUT_LIBVIRT)
                return launch_print_libvirt(e, arg.nvram, stdout);
        if (arg.json) {
                _cleanup_(yajl_gen_freep) yajl_gen g = json_gen_new();

                if (!g || render_entry(g, e, generation) < 0)
                        return -ENOMEM;
                print_json_and_free(render_gen_steal(g));
                return 0;
        }
        return print_entry(e);
}

/* Resolves locally or through the daemon: 1 with *ret set (remote holds it when from the daemon), 2 when
 * nothing matches (the reasons printed), or -errno. */
static int resolve_entry(const Catalogue *c, sd_bus *bus, RemoteEntry *remote, uint64_t *generation,
                         const Entry **ret) {
        const Entry *e = NULL;
        int r;

        r = require_architecture();
        if (r < 0)
                return r;
        if (bus) {
                r = remote_resolve(bus, &arg.request, generation, remote);
                if (r == -ENOENT)
                        return 2;
                if (r < 0)
                        return r;
                *ret = &remote->entry;
                return 1;
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
        *ret = e;
        return 1;
}

static int verb_resolve(const Catalogue *c, sd_bus *bus) {
        RemoteEntry remote = {};
        uint64_t generation = 0;
        const Entry *e;
        int r;

        r = resolve_entry(c, bus, &remote, &generation, &e);
        if (r != 1)
                return r;
        r = print_resolved(e, generation);
        if (bus)
                remote_entry_done(&remote);
        return r;
}

/* nvram create PATH: the VM's own varstore, from the template of what resolve picks for the request. */
static int verb_nvram_create(const Catalogue *c, sd_bus *bus, const char *path) {
        _cleanup_(freep) char *absolute = NULL;
        RemoteEntry remote = {};
        uint64_t generation = 0;
        const Entry *e;
        bool reflinked;
        int r;

        r = set_absolute_path(&absolute, "nvram create", path);
        if (r < 0)
                return r;
        r = resolve_entry(c, bus, &remote, &generation, &e);
        if (r != 1)
                return r;
        r = launch_nvram_create(e, absolute, &reflinked);
        if (r == -EEXIST)
                fail("'%s' exists already: nvram create never overwrites a varstore", absolute);
        else if (r < 0 && r != -EINVAL)
                fail("Failed to create '%s' from %s: %s", absolute, e->name, strerror(-r));
        else if (r >= 0 && arg.legend)
                fprintf(stderr, "Created '%s' from %s (%s).\n", absolute, e->name, reflinked ? "reflink" : "copy");
        if (bus)
                remote_entry_done(&remote);
        return r < 0 ? -EINVAL : 0;
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
                _cleanup_(yajl_gen_freep) yajl_gen g = json_gen_new();

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
        r = table_print(t, stdout, arg.legend);
        print_legend(n, "descriptor", "descriptors", selected ? "explained, one selected" : "explained, none selected");
        return r;
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

static void print_lines(const char *key, char * const *l) {
        if (!l || !l[0])
                return;
        printf("%15s: %s\n", key, l[0]);
        STRV_FOREACH(p, l + 1)
                printf("%15s  %s\n", "", *p);
}

static int print_status(const Status *st) {
        _cleanup_(freep) char *generation = strdup_printf("%" PRIu64, st->generation),
                *count = strdup_printf("%u valid, %u invalid", st->count, st->invalid_count),
                *archs = strv_join(st->architectures, " "), *features = strv_join(st->features, " ");
        _cleanup_(strv_freep) char **watched = NULL;
        int r;

        STRV_FOREACH(d, st->search_path)
                if (!strv_contains(st->unwatched, *d)) {
                        r = strv_extend(&watched, *d);
                        if (r < 0)
                                return r;
                }
        if (arg.json) {
                _cleanup_(yajl_gen_freep) yajl_gen g = json_gen_new();

                r = !g || gen_map_open(g);
                r = r ?: gen_key_string(g, "version", st->version);
                r = r ?: gen_key_string(g, "scope", st->scope);
                r = r ?: gen_key_strv(g, "search-path", st->search_path);
                r = r ?: st->online ? gen_key_uint(g, "generation", st->generation) : 0;
                r = r ?: st->instance_id ? gen_key_string(g, "instance-id", st->instance_id) : 0;
                r = r ?: gen_key_uint(g, "count", st->count);
                r = r ?: gen_key_uint(g, "invalid-count", st->invalid_count);
                r = r ?: gen_key_strv(g, "architectures", st->architectures);
                r = r ?: gen_key_strv(g, "features", st->features);
                r = r ?: st->online ? gen_key_strv(g, "watched-directories", watched) : 0;
                r = r ?: st->online ? gen_key_strv(g, "unwatched-directories", st->unwatched) : 0;
                r = r ?: gen_map_close(g);
                if (r)
                        return -ENOMEM;
                print_json_and_free(render_gen_steal(g));
                return 0;
        }
        print_field("Version", st->version);
        print_field("Scope", st->online ? st->scope : "offline (read by fwregistryctl)");
        print_lines("Search path", st->search_path);
        if (st->online) {
                print_field("Generation", generation);
                print_field("Instance", st->instance_id);
        }
        print_field("Descriptors", count);
        print_field("Architectures", archs);
        print_field("Features", features);
        if (st->online) {
                print_lines("Watching", watched);
                print_lines("Polling", st->unwatched);      /* where a watch failed */
        }
        return 0;
}

/* status without the daemon: the same facts, counted from the catalogue read here. */
static int offline_status(const Catalogue *c, Status *st) {
        uint32_t archs = 0;
        uint64_t features = 0;
        int r;

        st->version = strdup(PACKAGE_VERSION);
        st->scope = strdup(arg.user ? "user" : "system");
        st->search_path = strv_copy(c->dirs);
        if (!st->version || !st->scope || !st->search_path)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_entries; i++) {
                const Entry *e = &c->entries[i];

                if (e->state == ENTRY_MASKED)
                        continue;
                if (e->state != ENTRY_VALID) {  /* counted apart, as the daemon's Count does */
                        st->invalid_count++;
                        continue;
                }
                st->count++;
                archs |= e->descriptor->architecture_mask;
                features |= e->descriptor->feature_mask;
        }
        for (int a = 0; a < _ARCH_MAX; a++)
                if (archs & (1U << a) && (r = strv_extend(&st->architectures, architecture_to_string(a))) < 0)
                        return r;
        for (int f = 0; f < _FEATURE_MAX; f++)
                if (features & (UINT64_C(1) << f) && (r = strv_extend(&st->features, feature_to_string(f))) < 0)
                        return r;
        return 0;
}

static int verb_status(const Catalogue *c, sd_bus *bus) {
        _cleanup_(status_done) Status st = {};
        int r;

        r = bus ? remote_status(bus, &st) : offline_status(c, &st);
        if (r < 0)
                return r;
        return print_status(&st);
}

static int verb_reload(sd_bus *bus) {
        int r;

        /* systemd's way: a text agent for this process, in case polkit wants to ask the user */
        if (arg.ask_password)
                (void) agent_open();
        r = remote_reload(bus, arg.ask_password);
        agent_close();
        return r;
}

static int print_inspection(const char *path, const Varstore *v, const Entry *const *fits, size_t n) {
        _cleanup_(freep) char *layout = varstore_to_string(v);
        _cleanup_(table_freep) Table *t = NULL;
        int r = 0;

        if (!layout)
                return -ENOMEM;
        if (arg.json) {
                _cleanup_(yajl_gen_freep) yajl_gen g = render_gen_new(true);

                r = g ? gen_map_open(g) : -ENOMEM;
                r = r ?: gen_key_string(g, "path", path);
                r = r ?: gen_key_string(g, "varstore-format", varstore_format_to_string(v->format));
                r = r ?: gen_key_uint(g, "varstore-size", v->volume_size);
                r = r ?: gen_key_uint(g, "size", v->size);
                r = r ?: gen_string(g, "fits");
                r = r ?: gen_array_open(g);
                for (size_t i = 0; i < n; i++)
                        r = r ?: gen_string(g, fits[i]->name);
                r = r ?: gen_array_close(g);
                r = r ?: gen_map_close(g);
                if (r)
                        return -ENOMEM;
                print_json_and_free(render_gen_steal(g));
                return 0;
        }
        printf("%s: %s\n", path, layout);
        if (n == 0) {
                printf("It fits no installed descriptor's nvram template.\n");
                return 0;
        }
        t = table_new("RANK", "NAME", "STATE", "NVRAM-TEMPLATE", "VARSTORE", NULL);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_(freep) char *rank = strdup_printf("%u", fits[i]->rank),
                        *varstore = varstore_text(fits[i]);
                const Descriptor *d = fits[i]->descriptor;

                if (!rank || !varstore)
                        return -ENOMEM;
                r = table_add_row(t, rank, fits[i]->name, entry_state_name(fits[i]),
                                  d && d->nvram_template.filename ? d->nvram_template.filename : "-", varstore,
                                  NULL);
        }
        if (r < 0)
                return r;
        return table_print(t, stdout, arg.legend);
}

/* nvram inspect PATH: the layout of a VM's varstore, and every descriptor (rank order) whose template it
 * fits. The request options given narrow the list, as for list. */
static int verb_nvram_inspect(const Catalogue *c, sd_bus *bus, const char *path) {
        _cleanup_(freep) const Entry **entries = NULL;
        RemoteEntry *remote = NULL;
        uint64_t generation = 0;
        size_t n = 0;
        int r;

        r = open_nvram(&arg.request, path);
        if (r < 0)
                return r;
        if (c) {
                entries = calloc(c->n_entries + 1, sizeof(Entry *));
                if (!entries)
                        return -ENOMEM;
                for (size_t i = 0; i < c->n_entries; i++)
                        if (list_includes(c, &c->entries[i]))
                                entries[n++] = &c->entries[i];
                return print_inspection(path, &arg.request.nvram, entries, n);
        }
        r = remote_list(bus, &arg.request, &generation, &remote, &n);
        if (r < 0)
                return r;
        entries = calloc(n + 1, sizeof(Entry *));
        if (entries) {
                for (size_t i = 0; i < n; i++)
                        entries[i] = &remote[i].entry;
                r = print_inspection(path, &arg.request.nvram, entries, n);
        } else
                r = -ENOMEM;
        remote_entries_free(remote, n);
        return r;
}

/* Every verb, with the positional arguments it takes. */
typedef struct Verb {
        const char *name;
        unsigned min_args, max_args;
        const char *args;               /* for messages */
        bool daemon_only;
} Verb;

static const Verb verbs[] = {
        { "status",   0, 0, NULL,            false },
        { "list",     0, 0, NULL,            false },
        { "describe", 1, 1, "NAME",          false },
        { "resolve",  0, 0, NULL,            false },
        { "explain",  0, 0, NULL,            false },
        { "monitor",  0, 0, NULL,            true  },
        { "reload",   0, 0, NULL,            true  },
        { "nvram",    2, 2, "create|inspect PATH", false },
        { "validate", 0, UINT_MAX, "FILE...", false },    /* says itself what it misses */
};

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

static int check_arguments(const Verb *v, char **args) {
        size_t n = strv_length(args);
        _cleanup_(freep) char *extra = NULL;

        if (streq(v->name, "nvram") && n >= 1 && !streq(args[0], "create") && !streq(args[0], "inspect"))
                return fail("Unknown nvram command '%s' (expected create or inspect)", args[0]);
        if (n < v->min_args)
                return fail("%s needs %s", v->name, v->args);
        if (n <= v->max_args)
                return 0;
        extra = strv_join(args + v->max_args, "' '");
        if (v->max_args == 0)   /* "resolve x86_64 q35": requests are options */
                return fail("Unexpected argument%s '%s': %s takes options only%s", n > 1 ? "s" : "", extra, v->name,
                            arg.request.has_architecture || architecture_from_string(args[0]) < 0 ? "" :
                            " (--arch=ARCH --machine=TYPE ...)");
        return fail("Unexpected argument%s '%s': %s takes %s", n - v->max_args > 1 ? "s" : "", extra, v->name,
                    v->args);
}

/* Options that only one verb reads are refused elsewhere rather than ignored. */
static int check_options(const Verb *v) {
        if (arg.output != OUTPUT_TEXT && !streq(v->name, "resolve"))
                return fail("--output applies to resolve only");
        if (arg.output != OUTPUT_TEXT && arg.json)
                return fail("--output and --json do not go together");
        if ((arg.request.include_invalid || arg.request.include_masked || arg.request.include_shadowed) &&
            !streq(v->name, "list"))
                return fail("--include-invalid, --include-masked and --include-shadowed apply to list only");
        return 0;
}

static bool verb_pages(const Verb *v) {
        return strv_contains((char **) (const char *[]) { "status", "list", "describe", "explain", NULL }, v->name) ||
                (streq(v->name, "resolve") && arg.output == OUTPUT_TEXT);
}

static int run(int argc, char *argv[]) {
        _cleanup_(qemu_machines_freep) QemuMachines *machines = NULL;
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *name;
        const Verb *verb;
        char **args;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        name = argv[optind] ?: "status";
        args = argv[optind] ? argv + optind + 1 : argv + optind;
        verb = verb_find(name);
        if (!verb)
                return fail("Unknown command '%s' (expected status, list, describe, resolve, explain, monitor, "
                            "reload, validate or nvram)", name);
        r = check_arguments(verb, args);
        if (r < 0)
                return r;
        r = check_options(verb);
        if (r < 0)
                return r;
        r = setup_nvram();
        if (r < 0)
                return r;

        if (streq(verb->name, "validate"))
                return verb_validate(args);

        if (arg.offline) {
                if (verb->daemon_only)
                        return fail("'%s' needs the daemon: drop --offline", verb->name);
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

        if (verb_pages(verb)) {
                r = pager_open(arg.pager);
                if (r < 0)
                        return r;
        }
        if (streq(verb->name, "status"))
                return verb_status(c, bus);
        if (streq(verb->name, "list"))
                return verb_list(c, bus);
        if (streq(verb->name, "resolve"))
                return verb_resolve(c, bus);
        if (streq(verb->name, "explain"))
                return verb_explain(c, bus);
        if (streq(verb->name, "describe"))
                return verb_describe(c, bus, args[0]);
        if (streq(verb->name, "nvram"))
                return streq(args[0], "create") ? verb_nvram_create(c, bus, args[1]) :
                                                  verb_nvram_inspect(c, bus, args[1]);
        if (streq(verb->name, "monitor"))
                return remote_monitor(bus, arg.json);
        return verb_reload(bus);
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);

        pager_close();
        options_done();
        if (r == -ENOMEM)
                fprintf(stderr, "%s: out of memory\n", program_invocation_short_name);
        return r < 0 ? 1 : r;
}
