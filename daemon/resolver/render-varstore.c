/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>

#include "render-varstore.h"
#include "render.h"

static int gen_key(yajl_gen g, const char *key) {
        return gen_string(g, key);
}

static int gen_uint(yajl_gen g, uint64_t v) {
        char buf[32];

        snprintf(buf, sizeof(buf), "%ju", (uintmax_t) v);
        return (int) yajl_gen_number(g, buf, strlen(buf));
}

static int gen_certificate(yajl_gen g, const VarstoreCertificate *vc) {
        const EfiCertificate *c = &vc->certificate;
        char sha256[65], owner[EFI_GUID_STRING_MAX];
        int r;

        for (size_t i = 0; i < 32; i++)
                snprintf(sha256 + 2 * i, 3, "%02x", c->sha256[i]);
        r = gen_map_open(g);
        r = r ?: gen_key_string(g, "database", efi_database_to_string(vc->database));
        r = r ?: gen_key_string(g, "id", c->id);
        r = r ?: gen_key_string(g, "subject", c->subject);
        r = r ?: gen_key_string(g, "issuer", c->issuer);
        r = r ?: gen_key_string(g, "serial", c->serial);
        r = r ?: gen_key_uint(g, "not-before", c->not_before);
        r = r ?: gen_key_uint(g, "not-after", c->not_after);
        r = r ?: gen_key_string(g, "sha256", sha256);
        r = r ?: gen_key_string(g, "owner", efi_guid_to_string(&c->owner, owner));
        return r ?: gen_map_close(g);
}

static int gen_certificates(yajl_gen g, const VarstoreReport *report) {
        int r = gen_key(g, "certificates");

        r = r ?: gen_array_open(g);
        for (size_t i = 0; i < report->n_certificates; i++)
                r = r ?: gen_certificate(g, &report->certificates[i]);
        return r ?: gen_array_close(g);
}

static int gen_hashes(yajl_gen g, const VarstoreReport *report) {
        int r = gen_key(g, "hashes");

        r = r ?: gen_map_open(g);
        for (EfiDatabase d = 0; d < _EFI_DATABASE_MAX; d++)
                if (report->databases[d].present)
                        r = r ?: gen_key_uint(g, efi_database_to_string(d), report->databases[d].sha256_count);
        return r ?: gen_map_close(g);
}

static int gen_boot(yajl_gen g, const VarstoreReport *report) {
        int r = gen_key(g, "boot-order");

        r = r ?: gen_array_open(g);
        for (size_t i = 0; i < report->n_boot_order; i++)
                r = r ?: gen_uint(g, report->boot_order[i]);
        r = r ?: gen_array_close(g);
        r = r ?: gen_key(g, "boot-entries");
        r = r ?: gen_array_open(g);
        for (size_t i = 0; i < report->n_boot_entries; i++) {
                const VarstoreBootEntry *e = &report->boot_entries[i];

                r = r ?: gen_map_open(g);
                r = r ?: gen_key_uint(g, "number", e->number);
                r = r ?: gen_key_string(g, "description", e->option.description);
                r = r ?: gen_key_bool(g, "active", efi_load_option_is_active(&e->option));
                r = r ?: gen_key_string(g, "device-path", e->option.device_path);
                r = r ?: gen_map_close(g);
        }
        return r ?: gen_array_close(g);
}

static int gen_variables(yajl_gen g, const VarstoreReport *report) {
        int r = gen_key(g, "variables");

        r = r ?: gen_array_open(g);
        for (size_t i = 0; report->variables && i < report->variables->n; i++) {
                const EfiVariable *v = &report->variables->variables[i];
                char guid[EFI_GUID_STRING_MAX];

                r = r ?: gen_map_open(g);
                r = r ?: gen_key_string(g, "name", v->name);
                r = r ?: gen_key_string(g, "guid", efi_guid_to_string(&v->guid, guid));
                r = r ?: gen_key_uint(g, "attributes", v->attributes);
                r = r ?: gen_key_uint(g, "size", v->size);
                r = r ?: gen_map_close(g);
        }
        return r ?: gen_array_close(g);
}

int render_varstore_report(yajl_gen g, const VarstoreReport *report, char * const *fits) {
        int r = gen_map_open(g);

        r = r ?: gen_key_string(g, "format", varstore_format_to_string(report->layout.format));
        r = r ?: gen_key_uint(g, "size", report->layout.size);
        r = r ?: gen_key_uint(g, "varstore-size", report->layout.volume_size);
        r = r ?: gen_key_string(g, "secure-boot", secure_boot_state_to_string(report->secure_boot));
        r = r ?: gen_certificates(g, report);
        r = r ?: gen_hashes(g, report);
        r = r ?: gen_boot(g, report);
        r = r ?: gen_variables(g, report);
        r = r ?: gen_key_strv(g, "fits", fits);
        r = r ?: gen_key_strv(g, "warnings", report->warnings);
        r = r ?: gen_key_strv(g, "problems", report->problems);
        r = r ?: gen_map_close(g);
        return r ? -ENOMEM : 0;
}

char *render_varstore(const VarstoreReport *report, char * const *fits) {
        _cleanup_(yajl_gen_freep) yajl_gen g = render_gen_new(true);

        if (!g || render_varstore_report(g, report, fits) < 0)
                return NULL;
        return render_gen_steal(g);
}
