/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stddef.h>
#include <stdio.h>

#include "remote-reply.h"

static int read_strv_value(sd_bus_message *m, char ***ret) {
        strv_free(*ret);
        *ret = NULL;
        return sd_bus_message_read_strv(m, ret);
}

static int read_string_value(sd_bus_message *m, char **ret) {
        const char *s;
        int r = sd_bus_message_read_basic(m, 's', &s);

        if (r < 0)
                return r;
        free(*ret);
        *ret = isempty(s) ? NULL : strdup(s);
        return !isempty(s) && !*ret ? -ENOMEM : 0;
}

static int read_targets(sd_bus_message *m, Descriptor *d) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(sas)");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'r', "sas")) > 0) {
                const char *arch;
                Target *t = realloc(d->targets, sizeof(Target) * (d->n_targets + 1));

                if (!t)
                        return -ENOMEM;
                d->targets = t;
                t = &d->targets[d->n_targets++];
                *t = (Target) { .architecture = _ARCH_INVALID };
                r = sd_bus_message_read_basic(m, 's', &arch);
                if (r >= 0) {
                        t->architecture = architecture_from_string(arch);
                        if (t->architecture >= 0)
                                d->architecture_mask |= 1U << t->architecture;
                        r = sd_bus_message_read_strv(m, &t->machines);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

static int set_problems(Descriptor *d, char **problems) {
        STRV_FOREACH(p, problems) {
                const char *w = strstr(*p, ": warning: ");
                _cleanup_(freep) char *path = NULL;
                int r;

                if (strncmp(*p, "warning: ", 9) == 0)
                        r = descriptor_add_problem(d, PROBLEM_WARNING, "", *p + 9);
                else if (w) {
                        path = strndup(*p, (size_t) (w - *p));
                        if (!path)
                                return -ENOMEM;
                        r = descriptor_add_problem(d, PROBLEM_WARNING, path, w + strlen(": warning: "));
                } else
                        r = descriptor_add_problem(d, PROBLEM_ERROR, "", *p);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct Fields {
        char *name, *path, *description, *device, *mode, *executable, *exe_format, *nvram, *nvram_format, *vars;
        char *state, *exe_sha256, *nvram_sha256, *varstore_format, *secure_boot;
        char **interfaces, **features, **tags, **problems, **certificates;
        uint32_t rank;
        int valid, files_ok;
        uint64_t exe_size, nvram_size, varstore_size;
} Fields;

static void fields_done(Fields *f) {
        free(f->name), free(f->path), free(f->description), free(f->device), free(f->mode), free(f->executable);
        free(f->exe_format), free(f->nvram), free(f->nvram_format), free(f->vars);
        free(f->state), free(f->exe_sha256), free(f->nvram_sha256), free(f->varstore_format);
        free(f->secure_boot);
        strv_free(f->interfaces), strv_free(f->features), strv_free(f->tags), strv_free(f->problems);
        strv_free(f->certificates);
}

int remote_read_field(sd_bus_message *m, const char *key, const RemoteField *table, size_t n, void *base) {
        for (size_t i = 0; i < n; i++) {
                void *field = (uint8_t *) base + table[i].offset;
                int r;

                if (!streq(key, table[i].key))
                        continue;
                if (table[i].type == 's')
                        r = read_string_value(m, field);
                else if (table[i].type == 'a')
                        r = read_strv_value(m, field);
                else
                        r = sd_bus_message_read_basic(m, table[i].type, field);
                return r < 0 ? r : 1;
        }
        return 0;
}

int remote_read_dict(sd_bus_message *m, RemoteDictRead read, void *userdata) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, *contents;

                r = sd_bus_message_read_basic(m, 's', &key);
                if (r >= 0)
                        r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r >= 0)
                        r = sd_bus_message_enter_container(m, 'v', contents);
                if (r >= 0)
                        r = read(m, key, userdata);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

/* What read_field() decodes into, before it becomes an entry. */
typedef struct EntryReader {
        Fields fields;
        Descriptor *descriptor;
        uint64_t *generation;
} EntryReader;

static int read_field(sd_bus_message *m, const char *key, void *userdata) {
        static const RemoteField fields[] = {
                { "name", 's', offsetof(Fields, name) },
                { "path", 's', offsetof(Fields, path) },
                { "description", 's', offsetof(Fields, description) },
                { "device", 's', offsetof(Fields, device) },
                { "mode", 's', offsetof(Fields, mode) },
                { "executable", 's', offsetof(Fields, executable) },
                { "executable-format", 's', offsetof(Fields, exe_format) },
                { "nvram-template", 's', offsetof(Fields, nvram) },
                { "nvram-template-format", 's', offsetof(Fields, nvram_format) },
                { "uefi-vars-template", 's', offsetof(Fields, vars) },
                { "state", 's', offsetof(Fields, state) },
                { "executable-sha256", 's', offsetof(Fields, exe_sha256) },
                { "nvram-template-sha256", 's', offsetof(Fields, nvram_sha256) },
                { "varstore-format", 's', offsetof(Fields, varstore_format) },
                { "nvram-template-secure-boot", 's', offsetof(Fields, secure_boot) },
                { "nvram-template-certificates", 'a', offsetof(Fields, certificates) },
                { "interface-types", 'a', offsetof(Fields, interfaces) },
                { "features", 'a', offsetof(Fields, features) },
                { "tags", 'a', offsetof(Fields, tags) },
                { "problems", 'a', offsetof(Fields, problems) },
                { "executable-size", 't', offsetof(Fields, exe_size) },
                { "nvram-template-size", 't', offsetof(Fields, nvram_size) },
                { "varstore-size", 't', offsetof(Fields, varstore_size) },
                { "rank", 'u', offsetof(Fields, rank) },
                { "valid", 'b', offsetof(Fields, valid) },
                { "files-ok", 'b', offsetof(Fields, files_ok) },
        };
        EntryReader *e = userdata;
        int r;

        r = remote_read_field(m, key, fields, ELEMENTSOF(fields), &e->fields);
        if (r != 0)
                return r;
        if (streq(key, "generation"))
                return sd_bus_message_read_basic(m, 't', e->generation);
        if (streq(key, "targets"))
                return read_targets(m, e->descriptor);
        return sd_bus_message_skip(m, NULL);    /* keys of newer daemons */
}

static uint32_t strv_mask(char **l, int (*lookup)(const char *)) {
        uint32_t mask = 0;
        STRV_FOREACH(s, l)
                if (lookup(*s) >= 0)
                        mask |= 1U << lookup(*s);
        return mask;
}

static int lookup_interface(const char *s) { return interface_type_from_string(s); }
static int lookup_feature(const char *s) { return feature_from_string(s); }

/* Image facts as the daemon reported them; NULL when it reported none (no such file). */
static int facts_from_fields(uint64_t size, char *sha256, const char *format, uint64_t volume_size,
                             ImageFacts **ret) {
        ImageFacts *f;

        *ret = NULL;
        if (size == 0 && isempty(sha256) && isempty(format))
                return 0;
        f = image_facts_new();
        if (!f)
                return -ENOMEM;
        f->size = size;
        snprintf(f->sha256, sizeof(f->sha256), "%s", strempty(sha256));
        f->varstore = (Varstore) { .format = VARSTORE_UNKNOWN, .file_size = size, .size = size,
                                   .volume_size = volume_size };
        if (format && varstore_format_from_string(format) >= 0)
                f->varstore.format = varstore_format_from_string(format);
        *ret = f;
        return 0;
}

/* The template's keys as the daemon reported them, onto its facts. */
static void facts_set_keys(ImageFacts *f, Fields *fields) {
        if (!f)
                return;
        for (SecureBootState s = 0; s < _SECURE_BOOT_STATE_MAX; s++)
                if (streq(secure_boot_state_to_string(s), strempty(fields->secure_boot)))
                        f->secure_boot = s;
        f->certificates = TAKE_PTR(fields->certificates);
}

/* Moves the decoded fields into the entry and its descriptor. */
static int fields_to_entry(Fields *f, Descriptor *d, RemoteEntry *ret) {
        bool masked = !f->valid && f->problems && strncmp(f->problems[0], "masked by '", 11) == 0;
        _cleanup_(image_facts_unrefp) ImageFacts *image = NULL, *vars = NULL;
        int r;

        if (!f->name || !f->path)
                return -EBADMSG;
        r = facts_from_fields(f->exe_size, f->exe_sha256, NULL, 0, &image);
        if (r >= 0)
                r = facts_from_fields(f->nvram_size, f->nvram_sha256, f->varstore_format, f->varstore_size, &vars);
        if (r < 0)
                return r;
        facts_set_keys(vars, f);
        d->description = TAKE_PTR(f->description);
        d->interface_types = TAKE_PTR(f->interfaces);
        d->interface_mask = strv_mask(d->interface_types, lookup_interface);
        d->device = device_from_string(f->device);
        d->mode = flash_mode_from_string(f->mode);
        d->mode_explicit = true;
        if (d->device == DEVICE_FLASH) {
                d->executable = (FlashFile) { TAKE_PTR(f->executable), format_from_string(f->exe_format) };
                d->nvram_template = (FlashFile) { TAKE_PTR(f->nvram), format_from_string(f->nvram_format) };
        } else
                d->filename = TAKE_PTR(f->executable);
        d->uefi_vars_template = TAKE_PTR(f->vars);
        d->features = TAKE_PTR(f->features);
        d->feature_mask = strv_mask(d->features, lookup_feature);
        d->tags = TAKE_PTR(f->tags);
        r = set_problems(d, masked ? NULL : f->problems);
        if (r < 0)
                return r;

        ret->name = TAKE_PTR(f->name);
        ret->entry = (Entry) {
                .path = TAKE_PTR(f->path),
                .name = ret->name,
                .rank = f->rank,
                .state = masked ? ENTRY_MASKED : f->valid ? ENTRY_VALID : ENTRY_INVALID,
                .descriptor = masked ? descriptor_unref(d) : d,
                .image.ok = f->files_ok,
                .vars.ok = true,
        };
        if (streq_ptr(f->state, "shadowed"))
                ret->entry.state = ENTRY_SHADOWED;
        ret->entry.image.facts = TAKE_PTR(image);
        ret->entry.vars.facts = TAKE_PTR(vars);
        return 0;
}

int remote_read_entry(sd_bus_message *m, uint64_t *generation, RemoteEntry *ret) {
        _cleanup_(descriptor_unrefp) Descriptor *d = descriptor_new();
        EntryReader e = { .descriptor = d, .generation = generation };
        int r;

        if (!d)
                return -ENOMEM;
        r = remote_read_dict(m, read_field, &e);
        if (r >= 0) {
                r = fields_to_entry(&e.fields, d, ret);
                if (r >= 0)
                        TAKE_PTR(d);
        }
        fields_done(&e.fields);
        return r;
}

void remote_entry_done(RemoteEntry *e) {
        e->entry.name = NULL;           /* points to e->name */
        entry_done(&e->entry);
        free(e->name);
        e->name = NULL;
}

void remote_entries_free(RemoteEntry *entries, size_t n) {
        for (size_t i = 0; i < n; i++)
                remote_entry_done(&entries[i]);
        free(entries);
}

int remote_read_list_page(sd_bus_message *reply, uint64_t *ret_generation, RemoteEntry **entries, size_t *n,
                          size_t *ret_items) {
        size_t items = 0;
        int r;

        r = sd_bus_message_read_basic(reply, 't', ret_generation);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(oa{sv})");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'r', "oa{sv}")) > 0) {
                RemoteEntry *e = realloc(*entries, sizeof(RemoteEntry) * (*n + 1));
                uint64_t ignored;

                if (!e)
                        return -ENOMEM;
                *entries = e;
                r = sd_bus_message_skip(reply, "o");
                if (r >= 0)
                        r = remote_read_entry(reply, &ignored, &(*entries)[*n]);
                if (r >= 0) {
                        (*n)++;
                        items++;
                        r = sd_bus_message_exit_container(reply);
                }
        }
        *ret_items = items;
        return r;
}
