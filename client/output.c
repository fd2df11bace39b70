/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdarg.h>

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
