/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What fwregistryctl does with a VM's varstore beyond making one: nvram inspect (what it holds), nvram audit
 * (a row a store, for a host's VMs), and nvram migrate and nvram update-keys (its variables onto another
 * template, in place without losing anything). Each asks the daemon, or with --offline does the same work here
 * with the core library, and prints alike. */

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "efi/convert-fd.h"
#include "inspect.h"
#include "output.h"
#include "remote-varstore.h"
#include "replace.h"
#include "resolver/varstore-fit.h"
#include "table.h"
#include "util/chase.h"
#include "verbs.h"

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

#define AUDIT_DEFAULT_DIR "/var/lib/libvirt/qemu/nvram"

static int open_store(const char *path, int *ret_fd, struct stat *ret_st) {
        _cleanup_(closep) int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;

        if (fd < 0)
                return output_fail("Cannot open '%s': %m", path);
        if (fstat(fd, &st) < 0)
                return output_fail("Cannot stat '%s': %m", path);
        if (!S_ISREG(st.st_mode))
                return output_fail("'%s' is not a regular file", path);
        *ret_fd = TAKE_FD(fd);
        if (ret_st)
                *ret_st = st;
        return 0;
}

/* The same report InspectVarstore gives, made here: the store read, the firmware it fits, and the first
 * one's template compared with it. */
/* The template compared with last: an audit compares many stores with the same one. */
static TemplateReportCache templates;

static int inspect_local(const Catalogue *c, int fd, Inspection *ret) {
        _cleanup_(varstore_report_freep) VarstoreReport *report = NULL;
        VarstoreReport *template = NULL;
        _cleanup_(freep) const Entry **fits = NULL;
        _cleanup_(strv_freep) char **names = NULL;
        uint64_t now = (uint64_t) time(NULL);
        size_t n = 0;
        int r;

        r = varstore_report_read_fd(fd, now, &report);
        if (r < 0)
                return r;
        r = resolver_varstore_fits(c, &report->layout, &fits, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (strv_extend(&names, fits[i]->name) < 0)
                        return -ENOMEM;
        if (n > 0 && report->variables && resolver_template_report(c, fits[0], now, &templates, &template) >= 0) {
                r = varstore_report_compare(report, template);
                if (r < 0)
                        return r;
        }
        return inspection_from_report(report, names, ret);
}

static int inspect_path(const Catalogue *c, sd_bus *bus, const char *path, Inspection *ret) {
        _cleanup_(closep) int fd = -1;
        int r;

        r = open_store(path, &fd, NULL);
        if (r < 0)
                return r;
        r = bus ? remote_inspect_varstore(bus, fd, ret) : inspect_local(c, fd, ret);
        if (r < 0 && !bus && r != -ENOMEM)
                return output_fail("Cannot read '%s': %s", path, strerror(-r));
        if (r < 0)
                return r;
        free(ret->path);
        ret->path = strdup(path);
        return ret->path ? 0 : -ENOMEM;
}

int verb_nvram_inspect(Options *o, const Catalogue *c, sd_bus *bus, const char *path) {
        _cleanup_(inspection_done) Inspection i = {};
        int r;

        r = inspect_path(c, bus, path, &i);
        template_report_cache_done(&templates);
        if (r < 0)
                return r;
        return inspection_print(o, &i);
}

/* ---- audit --------------------------------------------------------------------------------------------- */

static int compare_str(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* The stores an argument names: the file itself, or a directory's regular files (not hidden, no subdirectories),
 * sorted. Returns 0 or a negative errno with a message printed. */
static int audit_expand(const char *arg, char ***paths) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct stat st;
        size_t first = strv_length(*paths);
        struct dirent *de;

        if (stat(arg, &st) < 0)
                return output_fail("Cannot read '%s': %m", arg);
        if (!S_ISDIR(st.st_mode))
                return strv_extend(paths, arg);
        d = opendir(arg);
        if (!d)
                return output_fail("Cannot read directory '%s': %m", arg);
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
                        continue;
                if (strv_consume(paths, path_join(arg, de->d_name)) < 0)
                        return -ENOMEM;
        }
        qsort(*paths + first, strv_length(*paths) - first, sizeof(char *), compare_str);
        return 0;
}

static void audit_progress(size_t done, size_t total, struct timespec *start, bool *shown) {
        struct timespec now;

        if (!isatty(STDERR_FILENO))
                return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!*shown && (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000 < 1000)
                return;
        *shown = true;
        fprintf(stderr, "\r\033[KInspecting varstores: %zu of %zu", done, total);
        if (done == total)
                fprintf(stderr, "\r\033[K");
}

int verb_nvram_audit(Options *o, const Catalogue *c, sd_bus *bus, char **args) {
        _cleanup_(strv_freep) char **paths = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        struct timespec start;
        bool warned = false, failed = false, shown = false;
        size_t total;
        int r = 0;

        if (!args[0])
                r = audit_expand(AUDIT_DEFAULT_DIR, &paths);
        for (char **a = args; *a && r >= 0; a++)
                r = audit_expand(*a, &paths);
        if (r < 0)
                return r == -ENOMEM ? r : 2;
        total = strv_length(paths);
        t = o->json ? NULL : inspection_audit_table();
        g = o->json ? output_json_gen(o) : NULL;
        if ((!o->json && !t) || (o->json && (!g || gen_array_open(g))))
                return -ENOMEM;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (size_t k = 0; k < total; k++) {
                _cleanup_(inspection_done) Inspection i = {};

                audit_progress(k, total, &start, &shown);
                r = inspect_path(c, bus, paths[k], &i);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        failed = true;
                        continue;
                }
                warned = warned || i.warnings;
                r = o->json ? inspection_gen(g, &i) : inspection_audit_row(t, &i);
                if (r != 0)
                        return -ENOMEM;
        }
        audit_progress(total, total, &start, &shown);
        template_report_cache_done(&templates);
        if (o->json)
                r = output_json_end(o, g, gen_array_close(g));
        else {
                r = table_print(t, stdout, o->legend);
                output_legend(o, total, "varstore", "varstores", "audited");
        }
        if (r < 0)
                return r;
        return failed ? 2 : warned ? 1 : 0;
}

/* ---- migrate and update-keys --------------------------------------------------------------------------- */

/* update-keys picks the firmware itself: the first whose template the store fits and that has enrolled keys
 * (narrowed by any request option given). The request it returns names that firmware by its files. */
static int update_keys_request(Options *o, const Catalogue *c, sd_bus *bus, int fd, const char *path,
                               Request *ret) {
        _cleanup_(entry_list_done) EntryList l = {};
        const Descriptor *d;
        int r;

        r = varstore_read_fd(fd, &o->request.nvram);
        if (r < 0)
                return output_fail("Cannot read '%s': %s", path, strerror(-r));
        o->request.has_nvram = true;
        o->request.nvram_fd = fd;               /* borrowed: nothing closes it before the caller does */
        r = request_set_feature(&o->request, "enrolled-keys", true);
        if (r >= 0)
                r = entry_list_fetch(o, c, bus, &l);
        o->request.has_nvram = false;
        o->request.nvram_fd = -1;
        if (r < 0)
                return r;
        if (l.n == 0 || !(d = l.entries[0]->descriptor) || d->n_targets == 0)
                return output_fail("'%s' fits the template of no firmware with enrolled keys: nvram update-keys "
                                   "needs one (or name it with request options)", path);
        *ret = (Request) {
                .has_architecture = true,
                .architecture = d->targets[0].architecture,
                .executable = strdup(descriptor_image(d)),
                .nvram_template = descriptor_vars_template(d) ? strdup(descriptor_vars_template(d)) : NULL,
                .nvram_fd = -1,
        };
        if (!ret->executable || (descriptor_vars_template(d) && !ret->nvram_template))
                return -ENOMEM;
        return request_set_feature(ret, "enrolled-keys", true);
}

/* The conversion made here: the firmware resolved from this catalogue, its template read inside the root. */
static int convert_local(const Catalogue *c, const Request *req, int source, int target, const char *keys,
                         Conversion *ret) {
        _cleanup_(convert_result_freep) ConvertResult *result = NULL;
        _cleanup_(freep) char *error = NULL;
        _cleanup_(closep) int root_fd = -1, template = -1;
        const char *path;
        EfiStoreSpace space = {};
        const Entry *e;
        int r;

        r = resolver_resolve(c, req, &e);
        if (r < 0)
                return output_fail("Cannot resolve the firmware: %s", strerror(-r));
        if (r == 0)
                return output_fail("No firmware matches the request (fwregistryctl explain says why)");
        path = e->descriptor ? descriptor_vars_template(e->descriptor) : NULL;
        if (!path)
                return output_fail("%s has no variable store template to move the variables onto", e->name);
        root_fd = chase_root_open(c->root);
        template = chase_open(root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
        if (root_fd == AT_FDCWD)
                root_fd = -1;
        if (template < 0)
                return output_fail("Cannot open %s's template '%s': %s", e->name, path, strerror(-template));
        r = varstore_convert_fd(source, template, target, convert_keys_from_string(keys ?: "keep"), &result,
                                &space, &error);
        if (r == -ENOSPC)
                return output_fail("The variables do not fit %s's template: %" PRIu64 " bytes needed, the store "
                                   "has %" PRIu64, e->name, space.needed, space.available), -ENOSPC;
        if (r < 0)
                return output_fail("Cannot convert: %s", error ?: strerror(-r));
        *ret = (Conversion) {
                .firmware = strdup(e->name),
                .carried = result->carried,
                .added_certificates = TAKE_PTR(result->added_certificates),
                .dropped = TAKE_PTR(result->dropped),
                .warnings = TAKE_PTR(result->warnings),
                .bytes_used = result->bytes_used,
                .bytes_free = result->bytes_free,
        };
        return ret->firmware ? 0 : -ENOMEM;
}

static int print_conversion(const Options *o, const Conversion *c, const char *source, const char *target,
                            bool dry_run, const char *backup) {
        if (o->json) {
                _cleanup_(yajl_gen_freep) yajl_gen g = output_json_gen(o);
                int r;

                if (!g)
                        return -ENOMEM;
                r = gen_map_open(g);
                r = r ?: gen_key_string(g, "source", source);
                r = r ?: gen_key_string(g, "target", dry_run ? "" : target);
                r = r ?: gen_key_string(g, "backup", backup ?: "");
                r = r ?: gen_key_string(g, "firmware", c->firmware);
                r = r ?: gen_key_uint(g, "carried", c->carried);
                r = r ?: gen_key_strv(g, "added-certificates", c->added_certificates);
                r = r ?: gen_key_strv(g, "dropped", c->dropped);
                r = r ?: gen_key_uint(g, "bytes-used", c->bytes_used);
                r = r ?: gen_key_uint(g, "bytes-free", c->bytes_free);
                r = r ?: gen_key_strv(g, "warnings", c->warnings);
                return output_json_end(o, g, r ?: gen_map_close(g));
        }
        printf("%s '%s' onto the template of %s%s\n", dry_run ? "Would write" : "Wrote", target, c->firmware,
               dry_run ? " (dry run: nothing written)" : "");
        printf("  %u variables carried from '%s'\n", c->carried, source);
        STRV_FOREACH(a, c->added_certificates)
                printf("  certificate added: %s\n", *a);
        STRV_FOREACH(d, c->dropped)
                printf("  dropped: %s\n", *d);
        printf("  %" PRIu64 " bytes used, %" PRIu64 " free\n", c->bytes_used, c->bytes_free);
        STRV_FOREACH(w, c->warnings)
                printf("  warning: %s%s\n", *w, streq(*w, "pcr7-changes") ?
                       ": PK, KEK, db or dbx changed; a guest that seals secrets to PCR 7 (BitLocker, systemd-cryptenroll "
                       "--tpm2-pcrs=7) will ask for its recovery key at its next boot" : "");
        if (backup)
                printf("  the old store is kept as '%s'\n", backup);
        return 0;
}

/* The work of migrate and update-keys: source converted into target (NULL: in place), per DESIGN 11. */
static int convert_store(Options *o, const Catalogue *c, sd_bus *bus, const char *source, const char *target,
                         bool update_keys) {
        _cleanup_(replacement_done) Replacement rep = { .fd = -1, .dir_fd = -1 };
        _cleanup_(conversion_done) Conversion conv = {};
        _cleanup_(request_done) Request picked = {};
        _cleanup_(closep) int fd = -1, scratch = -1;
        _cleanup_(freep) char *comm = NULL, *backup = NULL;
        const char *keys = o->keys ?: update_keys ? "add-missing" : "keep";
        bool in_place = !target;
        const Request *req = &o->request;
        struct stat st;
        pid_t pid;
        int r, out;

        r = open_store(source, &fd, &st);
        if (r < 0)
                return r;
        r = lock_holder(&st, &pid, &comm);
        if (r > 0)
                return pid > 0 ? output_fail("'%s' is in use by %s (PID %d), which holds a lock on it: a running "
                                             "QEMU does; shut the VM down first", source, comm ?: "?", (int) pid) :
                                 output_fail("'%s' is locked by a running process: shut the VM down first", source);
        if (update_keys && !o->request.has_architecture) {
                r = update_keys_request(o, c, bus, fd, source, &picked);
                if (r < 0)
                        return r;
                req = &picked;
        } else if (!o->request.has_architecture)
                return output_fail("nvram migrate needs --arch (and request options that pick the target firmware)");

        if (o->dry_run) {
                scratch = memfd_create("fwregistryctl-dry-run", MFD_CLOEXEC);
                if (scratch < 0)
                        return output_fail("Cannot make a scratch file: %m");
                out = scratch;
        } else {
                r = replacement_begin(in_place ? source : target, in_place ? &st : NULL, in_place && o->backup,
                                      &rep);
                if (r == -EEXIST)
                        return output_fail("'%s%s' exists already: %s", in_place ? source : target,
                                           in_place ? ".bak" : "", in_place ? "move it away, or use --no-backup" :
                                           "nvram migrate never overwrites a store");
                if (r < 0)
                        return output_fail("Cannot make the new store beside '%s': %s", in_place ? source : target,
                                           strerror(-r));
                out = rep.fd;
        }
        r = bus ? remote_convert_varstore(bus, fd, out, req, keys, &conv) : convert_local(c, req, fd, out, keys, &conv);
        if (r < 0)
                return r;
        if (!o->dry_run) {
                /* the VM may have started since the first look */
                if (lock_holder(&st, &pid, &comm) > 0)
                        return output_fail("'%s' was locked by a running process meanwhile: nothing changed", source);
                r = replacement_commit(&rep, in_place && o->backup);
                if (r < 0)
                        return output_fail("Cannot put the new store in place of '%s': %s (nothing changed)",
                                           in_place ? source : target, strerror(-r));
                if (in_place && o->backup && !(backup = strdup_printf("%s.bak", source)))
                        return -ENOMEM;
        }
        return print_conversion(o, &conv, source, target ?: source, o->dry_run, backup);
}

int verb_nvram_migrate(Options *o, const Catalogue *c, sd_bus *bus, const char *source, const char *target) {
        return convert_store(o, c, bus, source, target, false);
}

int verb_nvram_update_keys(Options *o, const Catalogue *c, sd_bus *bus, const char *path) {
        return convert_store(o, c, bus, path, NULL, true);
}
