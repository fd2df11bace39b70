/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "inspect.h"
#include "output.h"
#include "table.h"

void inspection_done(Inspection *i) {
        free(i->path);
        free(i->format);
        free(i->secure_boot);
        for (size_t k = 0; k < i->n_certificates; k++) {
                InspectCertificate *c = &i->certificates[k];
                free(c->database), free(c->id), free(c->subject), free(c->issuer), free(c->serial);
                free(c->sha256), free(c->owner);
        }
        free(i->certificates);
        for (size_t k = 0; k < i->n_hashes; k++)
                free(i->hashes[k].database);
        free(i->hashes);
        free(i->boot_order);
        for (size_t k = 0; k < i->n_boot_entries; k++)
                free(i->boot_entries[k].description), free(i->boot_entries[k].device_path);
        free(i->boot_entries);
        for (size_t k = 0; k < i->n_variables; k++)
                free(i->variables[k].name), free(i->variables[k].guid);
        free(i->variables);
        strv_free(i->fits);
        strv_free(i->warnings);
        strv_free(i->problems);
        *i = (Inspection) {};
}

static char *hex(const uint8_t *p, size_t n) {
        char *s = malloc(2 * n + 1);

        for (size_t k = 0; s && k < n; k++)
                snprintf(s + 2 * k, 3, "%02x", p[k]);
        if (s)
                s[2 * n] = 0;
        return s;
}

static int from_certificates(const VarstoreReport *r, Inspection *i) {
        i->certificates = calloc(r->n_certificates ? r->n_certificates : 1, sizeof(InspectCertificate));
        if (!i->certificates)
                return -ENOMEM;
        for (size_t k = 0; k < r->n_certificates; k++, i->n_certificates++) {
                const EfiCertificate *c = &r->certificates[k].certificate;
                InspectCertificate *o = &i->certificates[k];
                char guid[EFI_GUID_STRING_MAX];

                o->database = strdup(efi_database_to_string(r->certificates[k].database));
                o->id = strdup(c->id);
                o->subject = strdup(c->subject ?: "");
                o->issuer = strdup(c->issuer ?: "");
                o->serial = strdup(c->serial ?: "");
                o->sha256 = hex(c->sha256, sizeof(c->sha256));
                o->owner = strdup(efi_guid_to_string(&c->owner, guid));
                o->not_before = c->not_before;
                o->not_after = c->not_after;
                if (!o->database || !o->id || !o->subject || !o->issuer || !o->serial || !o->sha256 || !o->owner) {
                        i->n_certificates++;
                        return -ENOMEM;
                }
        }
        return 0;
}

static int from_boot(const VarstoreReport *r, Inspection *i) {
        if (r->n_boot_order > 0) {
                i->boot_order = malloc(r->n_boot_order * sizeof(uint16_t));
                if (!i->boot_order)
                        return -ENOMEM;
                memcpy(i->boot_order, r->boot_order, r->n_boot_order * sizeof(uint16_t));
                i->n_boot_order = r->n_boot_order;
        }
        i->boot_entries = calloc(r->n_boot_entries ? r->n_boot_entries : 1, sizeof(InspectBootEntry));
        if (!i->boot_entries)
                return -ENOMEM;
        for (size_t k = 0; k < r->n_boot_entries; k++, i->n_boot_entries++) {
                const VarstoreBootEntry *b = &r->boot_entries[k];
                InspectBootEntry *o = &i->boot_entries[k];

                o->number = b->number;
                o->active = efi_load_option_is_active(&b->option);
                o->description = strdup(b->option.description ?: "");
                o->device_path = strdup(b->option.device_path ?: "");
                if (!o->description || !o->device_path) {
                        i->n_boot_entries++;
                        return -ENOMEM;
                }
        }
        return 0;
}

static int from_variables(const VarstoreReport *r, Inspection *i) {
        const EfiVariableList *l = r->variables;

        if (!l || l->n == 0)
                return 0;
        i->variables = calloc(l->n, sizeof(InspectVariable));
        if (!i->variables)
                return -ENOMEM;
        for (size_t k = 0; k < l->n; k++, i->n_variables++) {
                char guid[EFI_GUID_STRING_MAX];

                i->variables[k] = (InspectVariable) {
                        .name = strdup(l->variables[k].name),
                        .guid = strdup(efi_guid_to_string(&l->variables[k].guid, guid)),
                        .attributes = l->variables[k].attributes,
                        .size = l->variables[k].size,
                };
                if (!i->variables[k].name || !i->variables[k].guid) {
                        i->n_variables++;
                        return -ENOMEM;
                }
        }
        return 0;
}

static int from_hashes(const VarstoreReport *r, Inspection *i) {
        i->hashes = calloc(_EFI_DATABASE_MAX, sizeof(InspectHashes));
        if (!i->hashes)
                return -ENOMEM;
        for (EfiDatabase d = 0; d < _EFI_DATABASE_MAX; d++) {
                if (!r->databases[d].present || r->databases[d].sha256_count == 0)
                        continue;
                i->hashes[i->n_hashes].database = strdup(efi_database_to_string(d));
                i->hashes[i->n_hashes].count = r->databases[d].sha256_count;
                if (!i->hashes[i->n_hashes++].database)
                        return -ENOMEM;
        }
        return 0;
}

int inspection_from_report(const VarstoreReport *r, char * const *fits, Inspection *ret) {
        _cleanup_(inspection_done) Inspection i = {
                .format = strdup(varstore_format_to_string(r->layout.format)),
                .size = r->layout.size,
                .varstore_size = r->layout.volume_size,
                .secure_boot = strdup(secure_boot_state_to_string(r->secure_boot) ?: ""),
        };
        int k;

        if (!i.format || !i.secure_boot)
                return -ENOMEM;
        k = from_certificates(r, &i);
        k = k ?: from_hashes(r, &i);
        k = k ?: from_boot(r, &i);
        k = k ?: from_variables(r, &i);
        if (k < 0)
                return k;
        if ((fits && !(i.fits = strv_copy(fits))) || (r->warnings && !(i.warnings = strv_copy(r->warnings))) ||
            (r->problems && !(i.problems = strv_copy(r->problems))))
                return -ENOMEM;
        *ret = i;
        i = (Inspection) {};
        return 0;
}

static const char *date(uint64_t t, char buf[static 32]) {
        time_t tt = (time_t) t;
        struct tm tm;

        if (t == 0 || !gmtime_r(&tt, &tm) || strftime(buf, 32, "%Y-%m-%d", &tm) == 0)
                return "-";
        return buf;
}

static void print_certificates(const Inspection *i) {
        time_t now = time(NULL);

        if (i->n_certificates == 0)
                return;
        printf("\nCertificates:\n");
        for (size_t k = 0; k < i->n_certificates; k++) {
                const InspectCertificate *c = &i->certificates[k];
                bool expired = c->not_after > 0 && (time_t) c->not_after < now;
                char buf[32];

                printf("  %-4s %s%s\n", c->database, c->id, expired ? "  (expired)" : "");
                printf("       subject %s\n", c->subject);
                printf("       issuer  %s\n", c->issuer);
                printf("       valid until %s, owner %s\n", date(c->not_after, buf), c->owner);
        }
}

static void print_boot(const Inspection *i) {
        if (i->n_boot_entries == 0 && i->n_boot_order == 0)
                return;
        printf("\nBoot entries (BootOrder first):\n");
        /* BootOrder's entries in its order (marked *), then those it does not name */
        for (size_t o = 0; o <= i->n_boot_order; o++)
                for (size_t k = 0; k < i->n_boot_entries; k++) {
                        const InspectBootEntry *b = &i->boot_entries[k];
                        bool ordered = false;

                        for (size_t p = 0; p < i->n_boot_order; p++)
                                ordered = ordered || i->boot_order[p] == b->number;
                        if (o < i->n_boot_order ? i->boot_order[o] != b->number : ordered)
                                continue;
                        printf("  Boot%04X%s %s%s\n", b->number, o < i->n_boot_order ? "*" : " ", b->description,
                               b->active ? "" : "  (inactive)");
                        printf("           %s\n", b->device_path);
                }
}

/* What a warning code means for the person reading it. */
static const char *warning_text(const char *w) {
        if (streq(w, "setup-mode"))
                return "no PK enrolled: the guest can enroll any key and nothing is enforced";
        if (streq(w, "secure-boot-disabled"))
                return "PK enrolled, but Secure Boot is turned off";
        if (streq(w, "kek-2011-only"))
                return "KEK holds Microsoft's KEK CA 2011 without its 2023 successor (nvram update-keys adds it)";
        if (streq(w, "db-2011-only"))
                return "db holds a Microsoft 2011 CA without its 2023 successor (nvram update-keys adds it)";
        if (strncmp(w, "expired:", 8) == 0)
                return "past its not-after date";
        if (strncmp(w, "template-drift:", 15) == 0)
                return "the template of the firmware it fits holds this certificate; the store does not";
        if (strncmp(w, "dbx-drift:", 10) == 0)
                return "revocations in the template's dbx that the store lacks";
        if (streq(w, "unreadable"))
                return "some variables could not be read: see the problems";
        return "";
}

static void print_text(const Inspection *i) {
        printf("%s: %s", i->path, i->format[0] ? i->format : "unknown layout");
        if (i->varstore_size > 0)
                printf(" volume 0x%" PRIx64, i->varstore_size);
        printf(", %" PRIu64 " bytes\n", i->size);
        if (i->secure_boot[0])
                printf("Secure Boot: %s\n", i->secure_boot);
        if (i->n_variables > 0)
                printf("Variables: %zu\n", i->n_variables);
        print_certificates(i);
        for (size_t k = 0; k < i->n_hashes; k++)
                printf("%s%-4s %" PRIu32 " SHA-256 entries\n", k == 0 ? "\n" : "", i->hashes[k].database,
                       i->hashes[k].count);
        print_boot(i);
        if (i->warnings) {
                printf("\nWarnings:\n");
                STRV_FOREACH(w, i->warnings)
                        printf("  %s: %s\n", *w, warning_text(*w));
        }
        if (i->problems) {
                printf("\nProblems:\n");
                STRV_FOREACH(p, i->problems)
                        printf("  %s\n", *p);
        }
        printf("\n");
        if (!i->fits)
                printf("It fits no installed descriptor's nvram template.\n");
        else {
                printf("Fits the nvram template of:\n");
                STRV_FOREACH(f, i->fits)
                        printf("  %s\n", *f);
        }
}

int inspection_gen(yajl_gen g, const Inspection *i) {
        int r = gen_map_open(g);

        r = r ?: gen_key_string(g, "path", i->path);
        r = r ?: gen_key_string(g, "format", i->format);
        r = r ?: gen_key_uint(g, "size", i->size);
        r = r ?: gen_key_uint(g, "varstore-size", i->varstore_size);
        r = r ?: gen_key_string(g, "secure-boot", i->secure_boot);
        r = r ?: gen_string(g, "certificates") ?: gen_array_open(g);
        for (size_t k = 0; k < i->n_certificates && !r; k++) {
                const InspectCertificate *c = &i->certificates[k];

                r = gen_map_open(g);
                r = r ?: gen_key_string(g, "database", c->database);
                r = r ?: gen_key_string(g, "id", c->id);
                r = r ?: gen_key_string(g, "subject", c->subject);
                r = r ?: gen_key_string(g, "issuer", c->issuer);
                r = r ?: gen_key_string(g, "serial", c->serial);
                r = r ?: gen_key_uint(g, "not-before", c->not_before);
                r = r ?: gen_key_uint(g, "not-after", c->not_after);
                r = r ?: gen_key_string(g, "sha256", c->sha256);
                r = r ?: gen_key_string(g, "owner", c->owner);
                r = r ?: gen_map_close(g);
        }
        r = r ?: gen_array_close(g);
        r = r ?: gen_string(g, "hashes") ?: gen_map_open(g);
        for (size_t k = 0; k < i->n_hashes && !r; k++)
                r = gen_key_uint(g, i->hashes[k].database, i->hashes[k].count);
        r = r ?: gen_map_close(g);
        r = r ?: gen_string(g, "boot-order") ?: gen_array_open(g);
        for (size_t k = 0; k < i->n_boot_order && !r; k++)
                r = (int) yajl_gen_integer(g, i->boot_order[k]);
        r = r ?: gen_array_close(g);
        r = r ?: gen_string(g, "boot-entries") ?: gen_array_open(g);
        for (size_t k = 0; k < i->n_boot_entries && !r; k++) {
                const InspectBootEntry *b = &i->boot_entries[k];

                r = gen_map_open(g);
                r = r ?: gen_key_uint(g, "number", b->number);
                r = r ?: gen_key_string(g, "description", b->description);
                r = r ?: gen_key_bool(g, "active", b->active);
                r = r ?: gen_key_string(g, "device-path", b->device_path);
                r = r ?: gen_map_close(g);
        }
        r = r ?: gen_array_close(g);
        r = r ?: gen_string(g, "variables") ?: gen_array_open(g);
        for (size_t k = 0; k < i->n_variables && !r; k++) {
                const InspectVariable *v = &i->variables[k];

                r = gen_map_open(g);
                r = r ?: gen_key_string(g, "name", v->name);
                r = r ?: gen_key_string(g, "guid", v->guid);
                r = r ?: gen_key_uint(g, "attributes", v->attributes);
                r = r ?: gen_key_uint(g, "size", v->size);
                r = r ?: gen_map_close(g);
        }
        r = r ?: gen_array_close(g);
        r = r ?: gen_key_strv(g, "fits", i->fits);
        r = r ?: gen_key_strv(g, "warnings", i->warnings);
        r = r ?: gen_key_strv(g, "problems", i->problems);
        return r ?: gen_map_close(g);
}

int inspection_print(const Options *o, const Inspection *i) {
        if (o->json) {
                _cleanup_(yajl_gen_freep) yajl_gen g = output_json_gen(o);

                if (!g)
                        return -ENOMEM;
                return output_json_end(o, g, inspection_gen(g, i));
        }
        print_text(i);
        return 0;
}

Table *inspection_audit_table(void) {
        return table_new("PATH", "LAYOUT", "SECURE-BOOT", "PK", "KEK-2023", "DB-2023", "WARNINGS", "FITS", NULL);
}

static bool holds(const Inspection *i, const char *database, const char *id) {
        for (size_t k = 0; k < i->n_certificates; k++)
                if (streq(i->certificates[k].database, database) && streq(i->certificates[k].id, id))
                        return true;
        return false;
}

int inspection_audit_row(Table *t, const Inspection *i) {
        _cleanup_(freep) char *warnings = output_join(i->warnings, ","), *pk_cn = NULL;
        const char *pk = "-";
        bool db2023 = holds(i, "db", "windows-uefi-ca-2023") || holds(i, "db", "microsoft-uefi-ca-2023");

        if (!warnings)
                return -ENOMEM;
        for (size_t k = 0; k < i->n_certificates; k++)
                if (streq(i->certificates[k].database, "PK")) {
                        pk = i->certificates[k].subject;
                        break;
                }
        /* the subject's common name, which is what tells keys apart in a row */
        {
                const char *cn = strstr(pk, "CN=");

                if (cn && (cn == pk || cn[-1] == ',')) {
                        size_t len = strcspn(cn + 3, ",");
                        pk_cn = strndup(cn + 3, len);
                        if (!pk_cn)
                                return -ENOMEM;
                        pk = pk_cn;
                }
        }
        return table_add_row(t, i->path, i->format[0] ? i->format : "unknown",
                             i->secure_boot[0] ? i->secure_boot : "-", pk,
                             holds(i, "KEK", "microsoft-kek-2023") ? "yes" : "no", db2023 ? "yes" : "no",
                             warnings[0] ? warnings : "-", i->fits ? i->fits[0] : "-", NULL);
}
