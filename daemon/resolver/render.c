/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>

#include "render.h"

yajl_gen render_gen_new(bool pretty) {
        yajl_gen g = yajl_gen_alloc(NULL);

        if (!g)
                return NULL;
        if (pretty) {
                yajl_gen_config(g, yajl_gen_beautify, 1);
                yajl_gen_config(g, yajl_gen_indent_string, "  ");
        }
        return g;
}

char *render_gen_steal(yajl_gen g) {
        const unsigned char *buf;
        size_t len;

        if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return NULL;
        return strndup((const char *) buf, len);
}

int gen_string(yajl_gen g, const char *s) {
        s = strempty(s);
        return (int) yajl_gen_string(g, (const unsigned char *) s, strlen(s));
}

int gen_key_string(yajl_gen g, const char *key, const char *value) {
        int r = gen_string(g, key);
        return r ?: gen_string(g, value);
}

int gen_key_bool(yajl_gen g, const char *key, bool value) {
        int r = gen_string(g, key);
        return r ?: gen_bool(g, value);
}

int gen_key_uint(yajl_gen g, const char *key, uint64_t value) {
        char buf[32];
        int r = gen_string(g, key);

        snprintf(buf, sizeof(buf), "%ju", (uintmax_t) value);
        return r ?: (int) yajl_gen_number(g, buf, strlen(buf));
}

int gen_key_strv(yajl_gen g, const char *key, char * const *l) {
        int r = gen_string(g, key);

        r = r ?: gen_array_open(g);
        STRV_FOREACH(s, l)
                r = r ?: gen_string(g, *s);
        return r ?: gen_array_close(g);
}

static int gen_flash_file(yajl_gen g, const char *key, const FlashFile *f) {
        int r = gen_string(g, key);

        r = r ?: gen_map_open(g);
        r = r ?: gen_key_string(g, "filename", f->filename);
        if (f->format >= 0)
                r = r ?: gen_key_string(g, "format", format_to_string(f->format));
        return r ?: gen_map_close(g);
}

static int gen_targets(yajl_gen g, const Descriptor *d) {
        int r = gen_string(g, "targets");

        r = r ?: gen_array_open(g);
        for (size_t i = 0; i < d->n_targets; i++) {
                const Target *t = &d->targets[i];

                r = r ?: gen_map_open(g);
                r = r ?: gen_key_string(g, "architecture", strempty(architecture_to_string(t->architecture)));
                r = r ?: gen_key_strv(g, "machines", t->machines);
                r = r ?: gen_map_close(g);
        }
        return r ?: gen_array_close(g);
}

/* The six members as parsed; what could not be parsed is left out. */
static int gen_descriptor(yajl_gen g, const Descriptor *d) {
        int r = 0;

        if (d->description)
                r = gen_key_string(g, "description", d->description);
        r = r ?: gen_key_strv(g, "interface-types", d->interface_types);
        if (d->device >= 0) {
                r = r ?: gen_string(g, "mapping");
                r = r ?: gen_map_open(g);
                r = r ?: gen_key_string(g, "device", device_to_string(d->device));
                if (d->device == DEVICE_FLASH) {
                        if (d->mode >= 0 && d->mode_explicit)
                                r = r ?: gen_key_string(g, "mode", flash_mode_to_string(d->mode));
                        if (d->executable.filename)
                                r = r ?: gen_flash_file(g, "executable", &d->executable);
                        if (d->nvram_template.filename)
                                r = r ?: gen_flash_file(g, "nvram-template", &d->nvram_template);
                } else if (d->filename)
                        r = r ?: gen_key_string(g, "filename", d->filename);
                if (d->uefi_vars_template) {
                        r = r ?: gen_string(g, "uefi-vars");
                        r = r ?: gen_map_open(g);
                        r = r ?: gen_key_string(g, "template", d->uefi_vars_template);
                        r = r ?: gen_map_close(g);
                }
                r = r ?: gen_map_close(g);
        }
        r = r ?: gen_targets(g, d);
        r = r ?: gen_key_strv(g, "features", d->features);
        return r ?: gen_key_strv(g, "tags", d->tags);
}

int render_problems(yajl_gen g, const Descriptor *d) {
        int r = gen_array_open(g);

        for (size_t i = 0; d && i < d->n_problems; i++) {
                const Problem *p = &d->problems[i];

                r = r ?: gen_map_open(g);
                r = r ?: gen_key_string(g, "severity", p->severity == PROBLEM_ERROR ? "error" : "warning");
                r = r ?: gen_key_string(g, "path", p->path);
                r = r ?: gen_key_string(g, "message", p->message);
                r = r ?: gen_map_close(g);
        }
        r = r ?: gen_array_close(g);
        return r ? -ENOMEM : 0;
}

static int gen_problem_strings(yajl_gen g, const Entry *e) {
        int r = gen_string(g, "problems");

        r = r ?: gen_array_open(g);
        if (e->state == ENTRY_MASKED) {
                _cleanup_(freep) char *s = strdup_printf("masked by '%s'", e->path);
                r = r ?: gen_string(g, s);
        }
        for (size_t i = 0; e->descriptor && i < e->descriptor->n_problems; i++) {
                _cleanup_(freep) char *s = problem_to_string(&e->descriptor->problems[i]);
                if (!s)
                        return -ENOMEM;
                r = r ?: gen_string(g, s);
        }
        return r ?: gen_array_close(g);
}

/* The facts of the image and of the template (DESIGN section 5): sizes, digests, the template's layout and
 * keys. */
static int gen_image_facts(yajl_gen g, const Entry *e) {
        const ImageFacts *image = e->image.facts, *vars = e->vars.facts;
        int r = gen_key_string(g, "state", entry_state_name(e));

        r = r ?: gen_key_uint(g, "executable-size", image ? image->size : 0);
        r = r ?: gen_key_uint(g, "nvram-template-size", vars ? vars->size : 0);
        r = r ?: gen_key_string(g, "executable-sha256", image ? image->sha256 : "");
        r = r ?: gen_key_string(g, "nvram-template-sha256", vars ? vars->sha256 : "");
        r = r ?: gen_key_string(g, "varstore-format",
                                vars ? varstore_format_to_string(vars->varstore.format) : "");
        r = r ?: gen_key_uint(g, "varstore-size", vars ? vars->varstore.volume_size : 0);
        r = r ?: gen_key_string(g, "nvram-template-secure-boot",
                                vars ? secure_boot_state_to_string(vars->secure_boot) : "");
        return r ?: gen_key_strv(g, "nvram-template-certificates", vars ? vars->certificates : NULL);
}

int render_entry(yajl_gen g, const Entry *e, uint64_t generation) {
        const Descriptor *d = e->descriptor;
        const FlashFile none = { .format = _FORMAT_INVALID };
        const FlashFile *exe = d && d->device == DEVICE_FLASH ? &d->executable : &none;
        const FlashFile *nvram = d && d->device == DEVICE_FLASH ? &d->nvram_template : &none;
        int r = gen_map_open(g);

        r = r ?: gen_key_string(g, "name", e->name);
        r = r ?: gen_key_string(g, "path", e->path);
        r = r ?: gen_key_uint(g, "rank", e->rank);
        r = r ?: gen_key_uint(g, "generation", generation);
        r = r ?: gen_key_string(g, "description", d ? d->description : NULL);
        r = r ?: gen_key_strv(g, "interface-types", d ? d->interface_types : NULL);
        r = r ?: gen_key_string(g, "device", d && d->device >= 0 ? device_to_string(d->device) : "");
        r = r ?: gen_key_string(g, "mode", d && d->device == DEVICE_FLASH && d->mode >= 0 ?
                                           flash_mode_to_string(d->mode) : "");
        r = r ?: gen_key_string(g, "executable", d ? descriptor_image(d) : NULL);
        r = r ?: gen_key_string(g, "executable-format", exe->format >= 0 ? format_to_string(exe->format) : "");
        r = r ?: gen_key_string(g, "nvram-template", nvram->filename);
        r = r ?: gen_key_string(g, "nvram-template-format",
                                nvram->format >= 0 ? format_to_string(nvram->format) : "");
        r = r ?: gen_key_string(g, "uefi-vars-template", d ? d->uefi_vars_template : NULL);
        r = r ?: gen_key_strv(g, "features", d ? d->features : NULL);
        r = r ?: gen_key_bool(g, "requires-smm", d && descriptor_has_feature(d, FEATURE_REQUIRES_SMM));
        r = r ?: gen_targets(g, d ? d : &(Descriptor) {});
        r = r ?: gen_key_strv(g, "tags", d ? d->tags : NULL);
        r = r ?: gen_key_bool(g, "valid", e->state == ENTRY_VALID);
        r = r ?: gen_problem_strings(g, e);
        r = r ?: gen_key_bool(g, "files-ok", e->state == ENTRY_VALID && entry_files_ok(e));
        r = r ?: gen_image_facts(g, e);
        r = r ?: gen_map_close(g);
        return r ? -ENOMEM : 0;
}

char *render_describe(const Entry *e, const char *scope, uint64_t generation) {
        _cleanup_(yajl_gen_freep) yajl_gen g = render_gen_new(true);
        int r;

        if (!g)
                return NULL;
        r = gen_map_open(g);
        if (e->descriptor)
                r = r ?: gen_descriptor(g, e->descriptor);
        r = r ?: gen_key_string(g, "name", e->name);
        r = r ?: gen_key_string(g, "path", e->path);
        r = r ?: gen_key_uint(g, "rank", e->rank);
        r = r ?: gen_key_uint(g, "generation", generation);
        r = r ?: gen_key_bool(g, "valid", e->state == ENTRY_VALID);
        r = r ?: gen_key_bool(g, "masked", e->state == ENTRY_MASKED);
        r = r ?: gen_key_bool(g, "files-ok", e->state == ENTRY_VALID && entry_files_ok(e));
        r = r ?: gen_image_facts(g, e);
        r = r ?: gen_problem_strings(g, e);
        r = r ?: gen_key_strv(g, "shadowed-paths", e->shadowed);
        r = r ?: gen_key_string(g, "scope", scope);
        r = r ?: gen_map_close(g);
        if (r)
                return NULL;
        return render_gen_steal(g);
}
