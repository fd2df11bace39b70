/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* fwregistryctl: validates descriptor files for packagers and queries the firmware catalogue, either through
 * fwregistryd or, with --offline, by loading the catalogue in this process. This file picks the command,
 * checks what it was given and where its answers come from; the commands live in verbs-*.c. */

#include <limits.h>
#include <unistd.h>

#include "agent.h"
#include "config.h"
#include "efi/convert.h"
#include "output.h"
#include "pager.h"
#include "validate.h"
#include "verbs.h"

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
        { "nvram",    1, UINT_MAX, "create|inspect|audit|migrate|update-keys", false },
        { "validate", 0, UINT_MAX, "FILE...", false },    /* says itself what it misses */
};

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

/* nvram's commands and what each takes. */
static int check_nvram_arguments(char **args, size_t n) {
        static const struct {
                const char *name, *args;
                size_t min, max;
        } commands[] = {
                { "create", "PATH", 1, 1 },
                { "inspect", "PATH", 1, 1 },
                { "audit", "[PATH|DIR...]", 0, SIZE_MAX },
                { "migrate", "OLD [NEW]", 1, 2 },
                { "update-keys", "PATH", 1, 1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                if (!streq(commands[i].name, args[0]))
                        continue;
                if (n - 1 < commands[i].min)
                        return output_fail("nvram %s needs %s", args[0], commands[i].args);
                if (n - 1 > commands[i].max)
                        return output_fail("Unexpected argument '%s': nvram %s takes %s", args[commands[i].max + 1],
                                           args[0], commands[i].args);
                return 0;
        }
        return output_fail("Unknown nvram command '%s' (expected create, inspect, audit, migrate or update-keys)",
                           args[0]);
}

static int check_arguments(const Options *o, const Verb *v, char **args) {
        size_t n = strv_length(args);
        _cleanup_(freep) char *extra = NULL;

        if (streq(v->name, "nvram") && n >= 1)
                return check_nvram_arguments(args, n);
        if (n < v->min_args)
                return output_fail("%s needs %s", v->name, v->args);
        if (n <= v->max_args)
                return 0;
        extra = output_join(args + v->max_args, "' '");
        if (v->max_args == 0)   /* "resolve x86_64 q35": requests are options */
                return output_fail("Unexpected argument%s '%s': %s takes options only%s", n > 1 ? "s" : "", extra,
                                   v->name, o->request.has_architecture || architecture_from_string(args[0]) < 0 ?
                                   "" : " (--arch=ARCH --machine=TYPE ...)");
        return output_fail("Unexpected argument%s '%s': %s takes %s", n - v->max_args > 1 ? "s" : "", extra,
                           v->name, v->args);
}

/* Options that only one verb reads are refused elsewhere rather than ignored. */
static int check_options(const Options *o, const Verb *v) {
        if (o->output != OUTPUT_TEXT && !streq(v->name, "resolve"))
                return output_fail("--output applies to resolve only");
        if (o->output != OUTPUT_TEXT && o->json)
                return output_fail("--output and --json do not go together");
        if ((o->keys || o->dry_run || !o->backup) && !streq(v->name, "nvram"))
                return output_fail("--keys, --dry-run and --no-backup apply to nvram migrate and update-keys only");
        if (o->keys && convert_keys_from_string(o->keys) < 0)
                return output_fail("Unknown --keys '%s' (expected keep, template or add-missing)", o->keys);
        if ((o->request.include_invalid || o->request.include_masked || o->request.include_shadowed) &&
            !streq(v->name, "list"))
                return output_fail("--include-invalid, --include-masked and --include-shadowed apply to list only");
        return 0;
}

static bool verb_pages(const Options *o, const Verb *v) {
        return strv_contains((char **) (const char *[]) { "status", "list", "describe", "explain", NULL }, v->name) ||
                (streq(v->name, "resolve") && o->output == OUTPUT_TEXT);
}

/* The search directories of --user, --search-path and --extra-dir. */
static int search_dirs(const Options *o, char ***ret) {
        int r = catalogue_search_path(o->user, o->search_path, o->extra_dirs, ret);

        if (r == -EINVAL)
                return output_fail("Search directories must be absolute paths");
        return r;
}

/* validate [FILE...]: see validate.c. Without files, a root's search directories. */
static int verb_validate(const Options *o, char **files) {
        _cleanup_(strv_freep) char **dirs = NULL;
        int r;

        if (!files[0] && !o->root)
                return output_fail("validate needs at least one file, '-' for stdin, or --root=DIR");
        if (files[0] && (o->search_path || o->extra_dirs))
                return output_fail("validate checks the files it is given: --search-path and --extra-dir do not "
                                   "apply");
        r = search_dirs(o, &dirs);
        if (r < 0)
                return r;
        return validate_run(files, &(ValidateOptions) { .json = o->json, .check_files = o->check_files,
                                                        .root = o->root, .dirs = dirs });
}

static int load_catalogue(const Options *o, Catalogue **ret) {
        _cleanup_(strv_freep) char **dirs = NULL;
        Catalogue *c;
        int r;

        r = search_dirs(o, &dirs);
        if (r < 0)
                return r;
        r = catalogue_build(dirs, o->root, NULL, &c);
        if (r < 0)
                return r;
        STRV_FOREACH(p, c->dir_problems)
                fprintf(stderr, "Failed to read directory %s, skipping.\n", *p);
        *ret = c;
        return 0;
}

/* The machine aliases the daemon would use, from the same QEMU binaries, so that both answer alike. */
static int load_machines(const Options *o, QemuMachines **ret) {
        _cleanup_(strv_freep) char **dirs = NULL;
        int r;

        r = path_list_parse(o->qemu_dirs ?: o->root ? "" : QEMU_DIRS_DEFAULT, &dirs);
        if (r == -EINVAL)
                return output_fail("QEMU directories must be absolute paths");
        if (r < 0)
                return r;
        return qemu_machines_probe(dirs, QEMU_TIMEOUT_USEC_DEFAULT, ret);
}

/* Where the answers come from: the catalogue and machine aliases loaded here, or a connection to the daemon. */
static int open_source(Options *o, const Verb *verb, Catalogue **ret_c, QemuMachines **ret_machines,
                       sd_bus **ret_bus) {
        _cleanup_(freep) char *message = NULL;
        int r;

        if (!o->offline) {
                if (o->root || o->search_path || o->extra_dirs || o->qemu_dirs)
                        return output_fail("--root, --search-path, --extra-dir and --qemu-dirs go with --offline");
                return remote_connect(o->user, ret_bus);
        }
        if (verb->daemon_only)
                return output_fail("'%s' needs the daemon: drop --offline", verb->name);
        r = load_catalogue(o, ret_c);
        if (r >= 0)
                r = load_machines(o, ret_machines);
        o->request.machines = *ret_machines;
        if (r < 0)
                return r;
        r = request_check(&o->request, &message);       /* the daemon refuses it the same way */
        if (r == -EINVAL)
                return output_fail("%s", message);
        return r;
}

static int verb_reload(const Options *o, sd_bus *bus) {
        int r;

        /* systemd's way: a text agent for this process, in case polkit wants to ask the user */
        if (o->ask_password)
                (void) agent_open();
        r = remote_reload(bus, o->ask_password);
        agent_close();
        return r;
}

static int verb_run(Options *o, const Verb *verb, char **args, const Catalogue *c, sd_bus *bus) {
        if (streq(verb->name, "status"))
                return verb_status(o, c, bus);
        if (streq(verb->name, "list"))
                return verb_list(o, c, bus);
        if (streq(verb->name, "resolve"))
                return verb_resolve(o, c, bus);
        if (streq(verb->name, "explain"))
                return verb_explain(o, c, bus);
        if (streq(verb->name, "describe"))
                return verb_describe(o, c, bus, args[0]);
        if (streq(verb->name, "nvram") && streq(args[0], "create"))
                return verb_nvram_create(o, c, bus, args[1]);
        if (streq(verb->name, "nvram") && streq(args[0], "inspect"))
                return verb_nvram_inspect(o, c, bus, args[1]);
        if (streq(verb->name, "nvram") && streq(args[0], "audit"))
                return verb_nvram_audit(o, c, bus, args + 1);
        if (streq(verb->name, "nvram") && streq(args[0], "migrate"))
                return verb_nvram_migrate(o, c, bus, args[1], args[2]);
        if (streq(verb->name, "nvram"))
                return verb_nvram_update_keys(o, c, bus, args[1]);
        if (streq(verb->name, "monitor"))
                return remote_monitor(bus, o->json);
        return verb_reload(o, bus);
}

static int run(Options *o, int argc, char *argv[]) {
        _cleanup_(qemu_machines_freep) QemuMachines *machines = NULL;
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *name;
        const Verb *verb;
        char **args;
        int r;

        r = options_parse(o, argc, argv);
        if (r <= 0)
                return r;
        name = argv[optind] ?: "status";
        args = argv[optind] ? argv + optind + 1 : argv + optind;
        verb = verb_find(name);
        if (!verb)
                return output_fail("Unknown command '%s' (expected status, list, describe, resolve, explain, "
                                   "monitor, reload, validate or nvram)", name);
        r = check_arguments(o, verb, args);
        if (r < 0)
                return r;
        r = check_options(o, verb);
        if (r < 0)
                return r;
        r = verb_nvram_setup(o);
        if (r < 0)
                return r;

        if (streq(verb->name, "validate"))
                return verb_validate(o, args);
        r = open_source(o, verb, &c, &machines, &bus);
        if (r < 0)
                return r;
        if (verb_pages(o, verb)) {
                r = pager_open(o->pager);
                if (r < 0)
                        return r;
        }
        return verb_run(o, verb, args, c, bus);
}

int main(int argc, char *argv[]) {
        Options o = OPTIONS_INIT;
        int r = run(&o, argc, argv);

        pager_close();
        options_done(&o);
        if (r == -ENOMEM)
                fprintf(stderr, "%s: out of memory\n", program_invocation_short_name);
        return r < 0 ? 1 : r;
}
