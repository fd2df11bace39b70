/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <getopt.h>
#include <stddef.h>
#include <unistd.h>

#include "efi/known-certificates.h"
#include "config.h"
#include "output.h"

static int options_help(void) {
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
               "  nvram inspect PATH      Show what a varstore holds: layout, Secure Boot keys, boot entries,\n"
               "                          warnings, and the firmware it fits\n"
               "  nvram audit [PATH|DIR...]  One row a varstore (default " "/var/lib/libvirt/qemu/nvram" ");\n"
               "                          exit status 1 when some store has warnings\n"
               "  nvram migrate OLD [NEW] Move a varstore's variables onto the template of the firmware the\n"
               "                          request options pick (--arch required); in place without NEW\n"
               "  nvram update-keys PATH  Give a varstore the 2023 successors of the certificates it trusts,\n"
               "                          from the template of the firmware it fits, in place\n\n"
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
               "     --wide               List sizes, digests, varstore layouts and template keys too\n"
               "     --keys=KEYS          nvram migrate/update-keys: keep (the store's Secure Boot keys), template\n"
               "                          (the template's), add-missing (the store's and the 2023 successors)\n"
               "     --dry-run            nvram migrate/update-keys: say what would change, write nothing\n"
               "     --no-backup          nvram migrate/update-keys in place: keep no PATH.bak\n\n"
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
               "     --certificate=ID     Only firmware whose template holds this certificate in PK, KEK\n"
               "                          or db (repeatable): a known id (microsoft-kek-2023) or sha256:HEX\n"
               "     --include-invalid, --include-masked, --include-shadowed  (list)\n\n"
               "Launching (resolve):\n"
               "     --output=FORMAT      text (default), qemu (arguments for a shell) or libvirt (<os> elements)\n"
               "                          (--nvram=PATH then names the VM's variable store)\n",
               program_invocation_short_name);
        return 0;
}

/* What an option does with its value. Most only store it in a field of Options; the rest have code. */
typedef enum OptionKind {
        OPTION_SET,             /* a bool made true */
        OPTION_CLEAR,           /* a bool made false */
        OPTION_STRING,          /* a string: the last one counts */
        OPTION_LIST,            /* a list, one element each time */
        OPTION_PATH,            /* a path, made absolute */
        OPTION_OTHER,           /* parse_other() knows, by key */
} OptionKind;

typedef enum OptionKey {
        KEY_NONE,
        KEY_HELP,
        KEY_VERSION,
        KEY_JSON,
        KEY_OUTPUT,
        KEY_ARCH,
        KEY_INTERFACE,
        KEY_DEVICE,
        KEY_MODE,
        KEY_FORMAT,
        KEY_FEATURE,
        KEY_NO_FEATURE,
        KEY_SECURE_BOOT,
        KEY_NO_SECURE_BOOT,
        KEY_ENROLLED_KEYS,
        KEY_NO_ENROLLED_KEYS,
        KEY_SMM,
        KEY_NO_SMM,
        KEY_NO_CHECK_FILES,
        KEY_CERTIFICATE,
} OptionKey;

typedef struct OptionDef {
        const char *name;
        const char *alias;      /* another long name for the same option */
        int has_arg;
        char short_name;
        OptionKind kind;
        size_t offset;          /* of the field in Options */
        OptionKey key;          /* OPTION_OTHER */
        bool nonempty;          /* an empty value is refused */
} OptionDef;

#define SET(n, field)    { .name = n, .has_arg = no_argument, .kind = OPTION_SET, \
                           .offset = offsetof(Options, field) }
#define CLEAR(n, field)  { .name = n, .has_arg = no_argument, .kind = OPTION_CLEAR, \
                           .offset = offsetof(Options, field) }
#define STRING(n, field) { .name = n, .has_arg = required_argument, .kind = OPTION_STRING, \
                           .offset = offsetof(Options, field) }
#define LIST(n, field)   { .name = n, .has_arg = required_argument, .kind = OPTION_LIST, \
                           .offset = offsetof(Options, field) }
#define PATH(n, field)   { .name = n, .has_arg = required_argument, .kind = OPTION_PATH, \
                           .offset = offsetof(Options, field) }
#define OTHER(n, arg, k) { .name = n, .has_arg = arg, .kind = OPTION_OTHER, .key = k }

/* In the order --help lists them, which is also the order "did you mean" prefers. */
static const OptionDef option_defs[] = {
        { .name = "help", .has_arg = no_argument, .short_name = 'h', .kind = OPTION_OTHER, .key = KEY_HELP },
        OTHER("version", no_argument, KEY_VERSION),
        SET("offline", offline),
        CLEAR("system", user),
        SET("user", user),
        STRING("root", root),
        STRING("search-path", search_path),
        LIST("extra-dir", extra_dirs),
        STRING("qemu-dirs", qemu_dirs),
        SET("check-files", check_files),
        OTHER("json", optional_argument, KEY_JSON),
        CLEAR("no-legend", legend),
        { .name = "arch", .alias = "architecture", .has_arg = required_argument, .short_name = 'a',
          .kind = OPTION_OTHER, .key = KEY_ARCH },
        { .name = "machine", .has_arg = required_argument, .short_name = 'm', .kind = OPTION_STRING,
          .offset = offsetof(Options, request.machine), .nonempty = true },
        OTHER("interface", required_argument, KEY_INTERFACE),
        OTHER("device", required_argument, KEY_DEVICE),
        OTHER("mode", required_argument, KEY_MODE),
        { .name = "format", .alias = "formats", .has_arg = required_argument, .kind = OPTION_OTHER,
          .key = KEY_FORMAT },
        OTHER("feature", required_argument, KEY_FEATURE),
        OTHER("no-feature", required_argument, KEY_NO_FEATURE),
        OTHER("secure-boot", no_argument, KEY_SECURE_BOOT),
        OTHER("no-secure-boot", no_argument, KEY_NO_SECURE_BOOT),
        OTHER("enrolled-keys", no_argument, KEY_ENROLLED_KEYS),
        OTHER("no-enrolled-keys", no_argument, KEY_NO_ENROLLED_KEYS),
        OTHER("smm", no_argument, KEY_SMM),
        OTHER("no-smm", no_argument, KEY_NO_SMM),
        OTHER("no-check-files", no_argument, KEY_NO_CHECK_FILES),
        { .name = "exclude", .has_arg = required_argument, .kind = OPTION_LIST,
          .offset = offsetof(Options, request.exclude), .nonempty = true },
        PATH("executable", request.executable),
        PATH("nvram-template", request.nvram_template),
        { .name = "certificate", .alias = "certificates", .has_arg = required_argument, .kind = OPTION_OTHER,
          .key = KEY_CERTIFICATE },
        SET("include-invalid", request.include_invalid),
        SET("include-masked", request.include_masked),
        SET("include-shadowed", request.include_shadowed),
        CLEAR("no-pager", pager),
        CLEAR("no-ask-password", ask_password),
        OTHER("output", required_argument, KEY_OUTPUT),
        PATH("nvram", nvram),
        SET("wide", wide),
        STRING("keys", keys),
        SET("dry-run", dry_run),
        CLEAR("no-backup", backup),
};

/* getopt_long() returns this plus the index in option_defs for an option without a short name. */
#define OPTION_VAL_BASE 0x100

static const OptionDef *option_def_find(int c) {
        if (c >= OPTION_VAL_BASE && (size_t) (c - OPTION_VAL_BASE) < ELEMENTSOF(option_defs))
                return &option_defs[c - OPTION_VAL_BASE];
        for (size_t i = 0; i < ELEMENTSOF(option_defs); i++)
                if (option_defs[i].short_name == c)
                        return &option_defs[i];
        return NULL;
}

/* getopt_long()'s table from option_defs: an alias right after its option, with the same value, so that
 * getopt_long() takes an abbreviation of both as one option. */
static void option_table_fill(struct option *table) {
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(option_defs); i++) {
                const OptionDef *d = &option_defs[i];
                int val = d->short_name ?: OPTION_VAL_BASE + (int) i;

                table[n++] = (struct option) { d->name, d->has_arg, NULL, val };
                if (d->alias)
                        table[n++] = (struct option) { d->alias, d->has_arg, NULL, val };
        }
        table[n] = (struct option) {};
}

static int set_string(char **s, const char *v) {
        free(*s);
        *s = strdup(v);
        return *s ? 0 : -ENOMEM;
}

int options_absolute_path(char **s, const char *option, const char *v) {
        _cleanup_(freep) char *cwd = NULL;

        if (isempty(v))
                return output_fail("%s must not be empty", option);
        if (v[0] == '/')
                return set_string(s, v);
        cwd = getcwd(NULL, 0);
        if (!cwd)
                return output_fail("%s: cannot make '%s' absolute: %m", option, v);
        free(*s);
        *s = strdup_printf("%s/%s", streq(cwd, "/") ? "" : cwd, v);
        return *s ? 0 : -ENOMEM;
}

/* The index of v in names, or -1. */
static int name_index(const char *const *names, size_t n, const char *v) {
        for (size_t i = 0; i < n; i++)
                if (streq(names[i], v))
                        return (int) i;
        return -1;
}

static int parse_formats(Request *r, const char *v) {
        _cleanup_(freep) char *copy = strdup(v);
        char *state = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *f = strtok_r(copy, ",", &state); f; f = strtok_r(NULL, ",", &state)) {
                Format x = format_from_string(f);
                if (x < 0)
                        return output_fail("Unknown format '%s' (expected raw or qcow2)", f);
                r->formats |= 1U << x;
        }
        r->has_formats = true;
        return 0;
}

static int parse_certificate(Request *r, const char *v) {
        if (!certificate_id_is_valid(v)) {
                _cleanup_(strv_freep) char **ids = NULL;
                _cleanup_(freep) char *known = NULL;

                for (size_t i = 0; i < n_known_certificates; i++)
                        if (strv_extend(&ids, known_certificates[i].id) < 0)
                                return -ENOMEM;
                known = output_join(ids, ", ");
                return output_fail("Unknown certificate '%s' (expected sha256: and 64 lower-case hex digits, or "
                                   "one of %s)", v, strna(known));
        }
        if (strv_contains(r->certificates, v))
                return 0;
        return strv_extend(&r->certificates, v);
}

/* The request options with one value of a closed set: value is what the lookup made of v. */
static int check_choice(int value, const char *what, const char *v, const char *expected, bool *has) {
        if (value < 0)
                return output_fail("Unknown %s '%s' (expected %s)", what, v, expected);
        *has = true;
        return 0;
}

/* The options with code of their own. Each request option sets exactly one request key, under the same name
 * as on the bus. */
static int parse_other(Options *o, OptionKey key, const char *v) {
        static const char *const json_modes[] = { [JSON_OFF] = "off", [JSON_PRETTY] = "pretty",
                                                  [JSON_SHORT] = "short" };
        static const char *const outputs[] = { [OUTPUT_TEXT] = "text", [OUTPUT_QEMU] = "qemu",
                                               [OUTPUT_LIBVIRT] = "libvirt" };
        Request *r = &o->request;
        int i;

        switch (key) {
        case KEY_JSON:
                i = v ? name_index(json_modes, ELEMENTSOF(json_modes), v) : JSON_PRETTY;
                if (i < 0)
                        return output_fail("Unknown --json mode '%s' (expected pretty, short or off)", v);
                o->json = i;
                return 0;
        case KEY_OUTPUT:
                i = name_index(outputs, ELEMENTSOF(outputs), v);
                if (i < 0)
                        return output_fail("Unknown --output format '%s' (expected text, qemu or libvirt)", v);
                o->output = i;
                return 0;
        case KEY_ARCH:
                r->architecture = architecture_from_string(v);
                return check_choice(r->architecture, "architecture", v, architecture_expected(),
                                    &r->has_architecture);
        case KEY_INTERFACE:
                r->interface = interface_type_from_string(v);
                return check_choice(r->interface, "interface", v, "uefi, bios, openfirmware or uboot",
                                    &r->has_interface);
        case KEY_DEVICE:
                r->device = device_from_string(v);
                return check_choice(r->device, "device", v, "flash, memory, kernel or igvm", &r->has_device);
        case KEY_MODE:
                r->mode = flash_mode_from_string(v);
                return check_choice(r->mode, "mode", v, "split, combined or stateless", &r->has_mode);
        case KEY_FORMAT:
                return parse_formats(r, v);
        case KEY_FEATURE:
        case KEY_NO_FEATURE:
                if (isempty(v))
                        return output_fail("Empty feature name");
                return request_set_feature(r, v, key == KEY_FEATURE);
        case KEY_SECURE_BOOT:
        case KEY_NO_SECURE_BOOT:
                return request_set_feature(r, "secure-boot", key == KEY_SECURE_BOOT);
        case KEY_ENROLLED_KEYS:
        case KEY_NO_ENROLLED_KEYS:
                return request_set_feature(r, "enrolled-keys", key == KEY_ENROLLED_KEYS);
        case KEY_SMM:
        case KEY_NO_SMM:
                r->has_smm = true;
                r->smm = key == KEY_SMM;
                return 0;
        case KEY_NO_CHECK_FILES:
                r->has_check_files = true;
                r->check_files = false;
                return 0;
        case KEY_CERTIFICATE:
                return parse_certificate(r, v);
        default:
                return -EINVAL;
        }
}

/* Stores one option's value (v: its argument, or NULL) where its definition says. */
static int option_apply(Options *o, const OptionDef *d, const char *v) {
        void *field = (uint8_t *) o + d->offset;
        char name[64];

        snprintf(name, sizeof(name), "--%s", d->name);
        if (d->nonempty && isempty(v))
                return output_fail("%s must not be empty", name);
        switch (d->kind) {
        case OPTION_SET:
        case OPTION_CLEAR:
                *(bool *) field = d->kind == OPTION_SET;
                return 0;
        case OPTION_STRING:
                return set_string(field, v);
        case OPTION_LIST:
                return strv_extend(field, v);
        case OPTION_PATH:
                return options_absolute_path(field, name, v);
        default:
                return parse_other(o, d->key, v);
        }
}

/* The long option closest to what was typed (at most two edits away), for "did you mean". */
static const char *closest_option(const struct option *options, const char *typed) {
        const char *best = NULL;
        size_t best_distance = 3, n = strcspn(typed, "=");

        for (const struct option *o = options; o->name; o++) {
                size_t d = string_distance(typed, n, o->name);

                if (d < best_distance) {
                        best_distance = d;
                        best = o->name;
                }
        }
        return best;
}

static int unknown_option(const struct option *options, const char *typed) {
        const char *guess = strncmp(typed, "--", 2) == 0 ? closest_option(options, typed + 2) : NULL;

        if (guess)
                return output_fail("Unknown option '%s' (did you mean --%s? see --help for the options)", typed,
                                   guess);
        return output_fail("Unknown option '%s' (see --help for the options)", typed);
}

int options_parse(Options *o, int argc, char *argv[]) {
        struct option options[2 * ELEMENTSOF(option_defs) + 1];
        const OptionDef *d;
        int c, r;

        option_table_fill(options);
        opterr = 0;     /* our messages name the option and say where the choices are */
        while ((c = getopt_long(argc, argv, ":ha:m:", options, NULL)) >= 0) {
                if (c == ':')
                        return output_fail("Option '%s' needs a value (see --help)", argv[optind - 1]);
                d = option_def_find(c);
                if (!d) {
                        if (optopt > 0 && optopt < 0x100 && !strchr(argv[optind - 1], '='))
                                return output_fail("Unknown option '-%c' (see --help for the options)", optopt);
                        return unknown_option(options, argv[optind - 1]);
                }
                if (d->key == KEY_HELP)
                        return options_help();
                if (d->key == KEY_VERSION) {
                        printf("fwregistryctl %s\n", PACKAGE_VERSION);
                        return 0;
                }
                r = option_apply(o, d, optarg);
                if (r < 0)
                        return r;
        }
        return 1;
}

void options_done(Options *o) {
        free(o->nvram);
        free(o->keys);
        free(o->root);
        free(o->search_path);
        strv_free(o->extra_dirs);
        if (o->request.has_nvram && o->request.nvram_fd >= 0)
                close(o->request.nvram_fd);
        free(o->qemu_dirs);
        request_done(&o->request);
}
