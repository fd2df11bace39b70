/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The commands that print catalogue data: status, list, resolve, explain and describe, each answered from the
 * catalogue loaded here (--offline) or by fwregistryd, in the same words. */

#include <inttypes.h>

#include "config.h"
#include "launch.h"
#include "output.h"
#include "table.h"
#include "verbs.h"

static bool list_includes(const Options *o, const Catalogue *c, const Entry *e) {
        if (e->state == ENTRY_MASKED)
                return o->request.include_masked;
        if (e->state == ENTRY_INVALID)
                return o->request.include_invalid;
        return resolver_match(c, e, &o->request, REQUEST_FILTER, NULL) > 0;
}

/* list --wide: the facts of each descriptor's images, and the keys its template holds. */
static int print_list_wide(const Options *o, const Entry *const *entries, size_t n) {
        _cleanup_(table_freep) Table *t = NULL;
        int r = 0;

        t = table_new("RANK", "NAME", "STATE", "SIZE", "EXECUTABLE-SHA256", "VARSTORE", "VARS-SIZE",
                      "NVRAM-TEMPLATE-SHA256", "SECURE-BOOT", "CERTIFICATES", NULL);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                const Entry *e = entries[i];
                const ImageFacts *image = e->image.facts, *vars = e->vars.facts;
                _cleanup_(freep) char *rank = strdup_printf("%u", e->rank), *varstore = output_varstore(e),
                        *size = image ? strdup_printf("%" PRIu64, image->size) : strdup("-"),
                        *vars_size = vars ? strdup_printf("%" PRIu64, vars->size) : strdup("-"),
                        *certificates = output_certificates(e);

                if (!rank || !varstore || !size || !vars_size || !certificates)
                        return -ENOMEM;
                r = table_add_row(t, rank, e->name, entry_state_name(e), size,
                                  image && !isempty(image->sha256) ? image->sha256 : "-", varstore, vars_size,
                                  vars && !isempty(vars->sha256) ? vars->sha256 : "-", output_secure_boot(e),
                                  certificates, NULL);
        }
        if (r < 0)
                return r;
        r = table_print(t, stdout, o->legend);
        output_legend(o, n, "firmware descriptor", "firmware descriptors", "listed");
        return r;
}

static int print_list(const Options *o, const Entry *const *entries, size_t n, uint64_t generation) {
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        int r = 0;

        if (o->json) {
                g = output_json_gen(o);
                if (!g)
                        return -ENOMEM;
                r = gen_map_open(g);
                r = r ?: gen_key_uint(g, "generation", generation);
                r = r ?: gen_string(g, "firmwares");
                r = r ?: gen_array_open(g);
                for (size_t i = 0; i < n && r == 0; i++)
                        r = render_entry(g, entries[i], generation);
                r = r ?: gen_array_close(g);
                return output_json_end(o, g, r ?: gen_map_close(g));
        }
        if (o->wide)
                return print_list_wide(o, entries, n);

        t = table_new("RANK", "NAME", "STATE", "INTERFACE", "DEVICE", "TARGETS", "FEATURES", NULL);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n && r == 0; i++) {
                const Entry *e = entries[i];
                const Descriptor *d = e->descriptor;
                _cleanup_(freep) char *rank = strdup_printf("%u", e->rank), *targets = output_targets(d),
                        *interfaces = output_join(d ? d->interface_types : NULL, ","),
                        *features = output_join(d ? d->features : NULL, ","), *device = output_device(d);

                r = table_add_row(t, rank, e->name, entry_state_name(e), interfaces, device, targets, features, NULL);
        }
        if (r < 0)
                return r;
        r = table_print(t, stdout, o->legend);
        output_legend(o, n, "firmware descriptor", "firmware descriptors", "listed");
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

int entry_list_fetch(const Options *o, const Catalogue *c, sd_bus *bus, EntryList *ret) {
        EntryList l = {};
        int r;

        if (!c) {
                r = remote_list(bus, &o->request, &l.generation, &l.remote, &l.n);
                if (r < 0)
                        return r;
        }
        l.entries = calloc((c ? c->n_entries : l.n) + 1, sizeof(Entry *));
        if (!l.entries) {
                entry_list_done(&l);
                return -ENOMEM;
        }
        if (c) {
                for (size_t i = 0; i < c->n_entries; i++)
                        if (list_includes(o, c, &c->entries[i]))
                                l.entries[l.n++] = &c->entries[i];
        } else
                for (size_t i = 0; i < l.n; i++)
                        l.entries[i] = &l.remote[i].entry;
        *ret = l;
        return 0;
}

void entry_list_done(EntryList *l) {
        free(l->entries);
        remote_entries_free(l->remote, l->remote ? l->n : 0);
        *l = (EntryList) {};
}

/* list --include-shadowed --offline: each file behind an entry right after it, in rank order, as the daemon
 * lists them. */
static int list_with_shadows(const Options *o, const Catalogue *c) {
        _cleanup_(freep) const Entry **entries = NULL;
        Entry *shadows = NULL;
        size_t n = 0, n_shadows = 0, k = 0;
        int r;

        r = shadow_entries(c, &shadows, &n_shadows);
        if (r < 0)
                return r;
        entries = calloc(c->n_entries + n_shadows + 1, sizeof(Entry *));
        for (size_t i = 0; entries && i < c->n_entries; i++) {
                if (list_includes(o, c, &c->entries[i]))
                        entries[n++] = &c->entries[i];
                for (; k < n_shadows && streq(shadows[k].name, c->entries[i].name); k++)
                        entries[n++] = &shadows[k];
        }
        r = entries ? print_list(o, entries, n, 0) : -ENOMEM;
        for (size_t i = 0; i < n_shadows; i++)
                descriptor_unref(shadows[i].descriptor);
        free(shadows);
        return r;
}

int verb_list(const Options *o, const Catalogue *c, sd_bus *bus) {
        _cleanup_(entry_list_done) EntryList l = {};
        int r;

        if (c && o->request.include_shadowed)
                return list_with_shadows(o, c);
        r = entry_list_fetch(o, c, bus, &l);
        if (r < 0)
                return r;
        return print_list(o, l.entries, l.n, l.generation);
}

/* Sizes, digests, the template's layout and keys (--json has them under the keys of the bus API). */
static int print_entry_facts(const Entry *e) {
        const ImageFacts *image = e->image.facts, *vars = e->vars.facts;
        _cleanup_(freep) char *size = image ? strdup_printf("%" PRIu64, image->size) : NULL,
                *vars_size = vars ? strdup_printf("%" PRIu64, vars->size) : NULL,
                *layout = vars ? varstore_to_string(&vars->varstore) : NULL;

        if ((image && !size) || (vars && (!vars_size || !layout)))
                return -ENOMEM;
        /* shorter than the bus keys, so that the labels stay aligned */
        output_field("image size", size);
        output_field("image sha256", image ? image->sha256 : NULL);
        output_field("template size", vars_size);
        output_field("template sha256", vars ? vars->sha256 : NULL);
        output_field("varstore", layout);
        output_field("secure boot", vars ? secure_boot_state_to_string(vars->secure_boot) : NULL);
        output_lines("certificates", vars ? vars->certificates : NULL);
        return 0;
}

static int print_entry(const Entry *e) {
        const Descriptor *d = e->descriptor;
        _cleanup_(freep) char *targets = output_targets(d), *features = output_join(d->features, " "),
                *interfaces = output_join(d->interface_types, " "), *rank = strdup_printf("%u", e->rank),
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
        output_field("name", e->name);
        output_field("path", e->path);
        output_field("rank", rank);
        output_field("description", d->description);
        output_field("interface-types", interfaces);
        output_field("device", device_to_string(d->device));
        if (d->device == DEVICE_FLASH)
                output_field("mode", flash_mode_to_string(d->mode));
        output_field("executable", exe);
        output_field(d->device == DEVICE_FLASH ? "nvram-template" : "uefi-vars", vars);
        output_field("targets", targets);
        output_field("features", features);
        output_field("files-ok", entry_files_ok(e) ? "yes" : "no");
        output_field("state", entry_state_name(e));
        return print_entry_facts(e);
}

static int require_architecture(const Options *o) {
        if (!o->request.has_architecture)
                return output_fail("A request needs an architecture: use --arch (for example --arch=x86_64)");
        return 0;
}

static int print_resolved(const Options *o, const Entry *e, uint64_t generation) {
        if (o->output == OUTPUT_QEMU)
                return launch_print_qemu(e, o->request.machine, o->nvram, stdout);
        if (o->output == OUTPUT_LIBVIRT)
                return launch_print_libvirt(e, o->nvram, stdout);
        if (o->json) {
                _cleanup_(yajl_gen_freep) yajl_gen g = output_json_gen(o);

                if (!g || render_entry(g, e, generation) < 0)
                        return -ENOMEM;
                output_json(o, render_gen_steal(g));
                return 0;
        }
        return print_entry(e);
}

int verb_resolve_entry(const Options *o, const Catalogue *c, sd_bus *bus, RemoteEntry *remote,
                       uint64_t *generation, const Entry **ret) {
        const Entry *e = NULL;
        int r;

        r = require_architecture(o);
        if (r < 0)
                return r;
        if (bus) {
                r = remote_resolve(bus, &o->request, generation, remote);
                if (r == -ENOENT)
                        return 2;
                if (r < 0)
                        return r;
                *ret = &remote->entry;
                return 1;
        }

        r = resolver_resolve(c, &o->request, &e);
        if (r < 0)
                return r;
        if (r == 0) {
                _cleanup_(explanation_done) Explanation x = {};
                _cleanup_(freep) char *msg = NULL;

                r = resolver_explain(c, &o->request, &x);
                if (r < 0)
                        return r;
                msg = explanation_summary(&x, &o->request);
                fprintf(stderr, "%s\n", strempty(msg));
                return 2;
        }
        *ret = e;
        return 1;
}

int verb_resolve(const Options *o, const Catalogue *c, sd_bus *bus) {
        RemoteEntry remote = {};
        uint64_t generation = 0;
        const Entry *e;
        int r;

        r = verb_resolve_entry(o, c, bus, &remote, &generation, &e);
        if (r != 1)
                return r;
        r = print_resolved(o, e, generation);
        if (bus)
                remote_entry_done(&remote);
        return r;
}

/* One row of Explain output, borrowed from an Explanation or from the daemon's reply. */
typedef struct VerdictView {
        const char *name;
        const char *verdict;
        char * const *reasons;
} VerdictView;

static int print_verdicts(const Options *o, const char *selected, const VerdictView *v, size_t n) {
        _cleanup_(table_freep) Table *t = NULL;
        int r = 0;

        if (o->json) {
                _cleanup_(yajl_gen_freep) yajl_gen g = output_json_gen(o);

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
                return output_json_end(o, g, r ?: gen_map_close(g));
        }

        t = table_new("NAME", "VERDICT", "REASONS", NULL);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_(freep) char *reasons = output_join(v[i].reasons, " ");
                r = table_add_row(t, v[i].name, v[i].verdict, isempty(reasons) ? "-" : reasons, NULL);
        }
        if (r < 0)
                return r;
        r = table_print(t, stdout, o->legend);
        output_legend(o, n, "descriptor", "descriptors",
                      selected ? "explained, one selected" : "explained, none selected");
        return r;
}

int verb_explain(const Options *o, const Catalogue *c, sd_bus *bus) {
        _cleanup_(explanation_done) Explanation x = {};
        _cleanup_(freep) VerdictView *views = NULL;
        _cleanup_(freep) char *selected = NULL;
        RemoteVerdict *remote = NULL;
        size_t n = 0;
        int r;

        r = require_architecture(o);
        if (r < 0)
                return r;
        if (bus) {
                r = remote_explain(bus, &o->request, &selected, &remote, &n);
                if (r < 0)
                        return r;
        } else {
                r = resolver_explain(c, &o->request, &x);
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
        r = print_verdicts(o, bus ? selected : x.selected ? x.selected->name : NULL, views, n);
        remote_verdicts_free(remote, bus ? n : 0);
        return r;
}

#define FIRMWARE_OBJECT_PREFIX "/io/github/fwregistryd/FirmwareRegistry1/firmware"

int verb_describe(const Options *o, const Catalogue *c, sd_bus *bus, const char *name) {
        char *json = NULL;
        const Entry *e;
        int r;

        if (!name)
                return output_fail("describe needs a descriptor name");
        if (bus) {
                r = remote_describe(bus, name, &json);
                if (r < 0)
                        return r;
                output_json(o, json);
                return 0;
        }
        if (strncmp(name, FIRMWARE_OBJECT_PREFIX "/", strlen(FIRMWARE_OBJECT_PREFIX "/")) == 0) {
                /* an object path, as the daemon takes it */
                _cleanup_(freep) char *decoded = NULL;

                if (sd_bus_path_decode(name, FIRMWARE_OBJECT_PREFIX, &decoded) <= 0)
                        return output_fail("'%s' is not the object path of a firmware descriptor", name);
                e = catalogue_find(c, decoded);
        } else if (name[0] == '/') {    /* a descriptor file: the one that won */
                e = catalogue_find(c, strrchr(name, '/') + 1);
                if (!e || !streq(e->path, name))
                        return output_fail("No firmware descriptor file '%s' in the catalogue%s%s%s", name,
                                           e ? " (the descriptor of that name is '" : "", e ? e->path : "",
                                           e ? "')" : "");
        } else
                e = catalogue_find(c, name);
        if (!e)
                return output_fail("No descriptor called '%s'", name);
        output_json(o, render_describe(e, o->user ? "user" : "system", 0));
        return 0;
}

static int print_status(const Options *o, const Status *st) {
        _cleanup_(freep) char *generation = strdup_printf("%" PRIu64, st->generation),
                *count = strdup_printf("%u valid, %u invalid", st->count, st->invalid_count),
                *archs = output_join(st->architectures, " "), *features = output_join(st->features, " ");
        _cleanup_(strv_freep) char **watched = NULL;
        int r;

        STRV_FOREACH(d, st->search_path)
                if (!strv_contains(st->unwatched, *d)) {
                        r = strv_extend(&watched, *d);
                        if (r < 0)
                                return r;
                }
        if (o->json) {
                _cleanup_(yajl_gen_freep) yajl_gen g = output_json_gen(o);

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
                return output_json_end(o, g, r ?: gen_map_close(g));
        }
        output_field("Version", st->version);
        output_field("Scope", st->online ? st->scope : "offline (read by fwregistryctl)");
        output_lines("Search path", st->search_path);
        if (st->online) {
                output_field("Generation", generation);
                output_field("Instance", st->instance_id);
        }
        output_field("Descriptors", count);
        output_field("Architectures", archs);
        output_field("Features", features);
        if (st->online) {
                output_lines("Watching", watched);
                output_lines("Polling", st->unwatched);      /* where a watch failed */
        }
        return 0;
}

/* status without the daemon: the same facts, counted from the catalogue read here. */
static int offline_status(const Options *o, const Catalogue *c, Status *st) {
        uint32_t archs = 0;
        uint64_t features = 0;
        int r;

        st->version = strdup(PACKAGE_VERSION);
        st->scope = strdup(o->user ? "user" : "system");
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

int verb_status(const Options *o, const Catalogue *c, sd_bus *bus) {
        _cleanup_(status_done) Status st = {};
        int r;

        r = bus ? remote_status(bus, &st) : offline_status(o, c, &st);
        if (r < 0)
                return r;
        return print_status(o, &st);
}
