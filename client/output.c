/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdarg.h>

#include "efi/known-certificates.h"
#include "output.h"

int output_fail(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", program_invocation_short_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -EINVAL;
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

yajl_gen output_json_gen(const Options *o) {
        return render_gen_new(o->json != JSON_SHORT);
}

void output_json(const Options *o, char *s) {
        if (s && o->json == JSON_SHORT)
                json_compact(s);
        if (s) {
                fputs(s, stdout);
                if (!endswith(s, "\n"))
                        fputc('\n', stdout);
        }
        free(s);
}

int output_json_end(const Options *o, yajl_gen g, int r) {
        if (r)
                return -ENOMEM;
        output_json(o, render_gen_steal(g));
        return 0;
}

void output_legend(const Options *o, size_t n, const char *singular, const char *plural, const char *what) {
        if (o->legend)
                printf("\n%zu %s %s.\n", n, n == 1 ? singular : plural, what);
}

void output_field(const char *key, const char *value) {
        if (!isempty(value))
                printf("%15s: %s\n", key, value);
}

void output_lines(const char *key, char * const *l) {
        if (!l || !l[0])
                return;
        printf("%15s: %s\n", key, l[0]);
        STRV_FOREACH(p, l + 1)
                printf("%15s  %s\n", "", *p);
}

char *output_join(char * const *l, const char *sep) {
        StrBuf b = {};

        STRV_FOREACH(s, l)
                strbuf_printf(&b, "%s%s", s == l ? "" : sep, *s);
        return strbuf_steal(&b);
}

char *output_targets(const Descriptor *d) {
        StrBuf b = {};

        for (size_t i = 0; d && i < d->n_targets; i++) {
                strbuf_printf(&b, "%s%s:", i > 0 ? " " : "",
                              strempty(architecture_to_string(d->targets[i].architecture)));
                STRV_FOREACH(m, d->targets[i].machines)
                        strbuf_printf(&b, "%s%s", m == d->targets[i].machines ? "" : ",", *m);
        }
        return strbuf_steal(&b);
}

char *output_device(const Descriptor *d) {
        if (!d || d->device < 0)
                return strdup("-");
        if (d->device == DEVICE_FLASH && d->mode >= 0)
                return strdup_printf("%s/%s", device_to_string(d->device), flash_mode_to_string(d->mode));
        return strdup(device_to_string(d->device));
}

char *output_varstore(const Entry *e) {
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

/* Whether the template's database db holds a known certificate the table names successors for, and none of
 * them: what the kek-2011-only and db-2011-only warnings of a store say. */
static bool database_lacks_successor(char * const *certificates, const char *db) {
        size_t n = strlen(db);

        STRV_FOREACH(c, certificates) {
                bool has_successors = false, has_one = false;

                if (strncmp(*c, db, n) != 0 || (*c)[n] != ':')
                        continue;
                for (size_t k = 0; k < n_known_certificates; k++) {
                        _cleanup_(freep) char *successor = NULL;

                        if (!streq_ptr(known_certificates[k].succeeds, *c + n + 1))
                                continue;
                        has_successors = true;
                        successor = strdup_printf("%s:%s", db, known_certificates[k].id);
                        has_one = has_one || strv_contains(certificates, strempty(successor));
                }
                if (has_successors && !has_one)
                        return true;
        }
        return false;
}

char *output_certificates(const Entry *e) {
        static const char *const databases[] = { "PK", "KEK", "db" };
        const ImageFacts *f = e->vars.facts;
        StrBuf b = {};

        if (!f || !f->certificates)
                return strdup("-");
        for (size_t i = 0; i < ELEMENTSOF(databases); i++) {
                size_t n = 0, k = strlen(databases[i]);

                STRV_FOREACH(c, f->certificates)
                        n += strncmp(*c, databases[i], k) == 0 && (*c)[k] == ':';
                strbuf_printf(&b, "%s%s %zu", i > 0 ? ", " : "", databases[i], n);
                if (i > 0 && database_lacks_successor(f->certificates, databases[i]))
                        strbuf_puts(&b, " (2011 only)");
        }
        return strbuf_steal(&b);
}

const char *output_secure_boot(const Entry *e) {
        const ImageFacts *f = e->vars.facts;
        const char *s = f ? secure_boot_state_to_string(f->secure_boot) : NULL;

        return isempty(s) ? "-" : s;
}
