/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <malloc.h>
#include <stdio.h>
#include <time.h>

#include "util.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **s = l; *s; s++)
                free(*s);
        free(l);
        return NULL;
}

size_t strv_length(char * const *l) {
        size_t n = 0;

        if (l)
                while (l[n])
                        n++;
        return n;
}

bool strv_contains(char * const *l, const char *s) {
        STRV_FOREACH(i, l)
                if (streq(*i, s))
                        return true;
        return false;
}

int strv_consume(char ***l, char *s) {
        size_t n = strv_length(*l);
        char **t;

        if (!s)
                return -ENOMEM;

        t = realloc(*l, sizeof(char *) * (n + 2));
        if (!t) {
                free(s);
                return -ENOMEM;
        }
        t[n] = s;
        t[n + 1] = NULL;
        *l = t;
        return 0;
}

int strv_extend(char ***l, const char *s) {
        return strv_consume(l, strdup(s));
}

char **strv_copy(char * const *l) {
        _cleanup_(strv_freep) char **c = NULL;
        size_t n = strv_length(l);

        c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(l[i]);
                if (!c[i])
                        return NULL;
        }
        return TAKE_PTR(c);
}

size_t string_hash(const char *s) {
        size_t h = 5381;

        for (; *s; s++)
                h = h * 33 + (unsigned char) *s;
        return h ^ (h >> 17);
}

static size_t name_set_slot(const NameSet *s, const char *name) {
        size_t i = string_hash(name) & (s->table_size - 1);

        while (s->table[i] && !streq(s->table[i], name))
                i = (i + 1) & (s->table_size - 1);
        return i;
}

bool name_set_contains(const NameSet *s, const char *name) {
        return s->table_size > 0 && s->table[name_set_slot(s, name)];
}

static int name_set_grow(NameSet *s) {
        size_t size = s->table_size ? s->table_size * 2 : 64;
        const char **old = s->table;
        size_t old_size = s->table_size;

        s->table = calloc(size, sizeof(char *));
        if (!s->table) {
                s->table = old;
                return -ENOMEM;
        }
        s->table_size = size;
        for (size_t i = 0; i < old_size; i++)
                if (old[i])
                        s->table[name_set_slot(s, old[i])] = old[i];
        free(old);
        return 0;
}

int name_set_add(NameSet *s, const char *name) {
        size_t slot;
        char *copy;

        if (name_set_contains(s, name))
                return 0;
        if ((s->n + 1) * 2 > s->table_size && name_set_grow(s) < 0)
                return -ENOMEM;
        if (s->n + 2 > s->allocated) {
                size_t a = s->allocated ? s->allocated * 2 : 16;
                char **t = realloc(s->names, a * sizeof(char *));
                if (!t)
                        return -ENOMEM;
                s->names = t;
                s->allocated = a;
        }
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        slot = name_set_slot(s, name);
        s->names[s->n++] = copy;
        s->names[s->n] = NULL;
        s->table[slot] = copy;
        return 1;
}

char **name_set_steal(NameSet *s) {
        char **l = s->names;

        free(s->table);
        *s = (NameSet) {};
        return l;
}

char **name_set_take(NameSet *s, size_t max) {
        char **l;

        if (s->n <= max)
                return name_set_steal(s);
        l = malloc((max + 1) * sizeof(char *));
        if (!l)
                return NULL;
        memcpy(l, s->names, max * sizeof(char *));
        l[max] = NULL;
        /* the rest moves to the front, and the table is filled again: no name is copied */
        s->n -= max;
        memmove(s->names, s->names + max, (s->n + 1) * sizeof(char *));
        memset(s->table, 0, s->table_size * sizeof(char *));
        for (size_t i = 0; i < s->n; i++)
                s->table[name_set_slot(s, s->names[i])] = s->names[i];
        return l;
}

void name_set_done(NameSet *s) {
        strv_free(name_set_steal(s));
}

char *strdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

static bool strbuf_reserve(StrBuf *b, size_t extra) {
        size_t want;
        char *n;

        if (b->oom)
                return false;
        if (b->len + extra + 1 <= b->allocated)
                return true;

        want = b->allocated ? b->allocated * 2 : 64;
        while (want < b->len + extra + 1)
                want *= 2;
        n = realloc(b->buf, want);
        if (!n) {
                b->oom = true;
                return false;
        }
        b->buf = n;
        b->allocated = want;
        return true;
}

void strbuf_append(StrBuf *b, const char *s, size_t n) {
        if (!strbuf_reserve(b, n))
                return;
        memcpy(b->buf + b->len, s, n);
        b->len += n;
        b->buf[b->len] = 0;
}

void strbuf_puts(StrBuf *b, const char *s) {
        strbuf_append(b, s, strlen(s));
}

void strbuf_printf(StrBuf *b, const char *fmt, ...) {
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0 || !strbuf_reserve(b, (size_t) n))
                return;

        va_start(ap, fmt);
        vsnprintf(b->buf + b->len, (size_t) n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t) n;
}

char *strbuf_steal(StrBuf *b) {
        char *s;

        if (b->oom) {
                strbuf_done(b);
                return NULL;
        }
        s = b->buf ?: strdup("");
        *b = (StrBuf) {};
        return s;
}

char *path_join(const char *a, const char *b) {
        size_t la = strlen(a);

        while (la > 1 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        return strdup_printf("%.*s%s%s", (int) la, a, (la > 0 && a[la - 1] == '/') ? "" : "/", b);
}

char *path_prefix_root(const char *root, const char *path) {
        if (isempty(root) || streq(root, "/"))
                return strdup(path);
        return path_join(root, path);
}

uint64_t now_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when there is none. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n) {
        uint32_t c;
        size_t len;

        if (s[0] == 0)
                return 0;
        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xE0) == 0xC0)
                len = 2, c = s[0] & 0x1F;
        else if ((s[0] & 0xF0) == 0xE0)
                len = 3, c = s[0] & 0x0F;
        else if ((s[0] & 0xF8) == 0xF0)
                len = 4, c = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                c = (c << 6) | (s[i] & 0x3F);
        }
        if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000))
                return 0;       /* overlong */
        if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF) || (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE)
                return 0;
        return len;
}

bool utf8_is_valid_n(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s;

        while (n > 0) {
                size_t len = utf8_sequence_length(p, n);
                if (len == 0)
                        return false;
                p += len;
                n -= len;
        }
        return true;
}

static char *utf8_escape(const char *s, bool control) {
        const unsigned char *p = (const unsigned char *) s;
        size_t n = strlen(s);
        StrBuf b = {};

        while (n > 0) {
                size_t len = utf8_sequence_length(p, n);

                if (len == 0 || (control && len == 1 && (*p < 0x20 || *p == 0x7f))) {
                        strbuf_printf(&b, "\\x%02x", *p);
                        len = 1;
                } else
                        strbuf_append(&b, (const char *) p, len);
                p += len;
                n -= len;
        }
        return strbuf_steal(&b);
}

char *utf8_escape_invalid(const char *s) {
        return utf8_escape(s, false);
}

char *utf8_escape_text(const char *s) {
        return utf8_escape(s, true);
}

void memory_trim(void) {
        (void) malloc_trim(0);
}

size_t string_distance(const char *a, size_t n, const char *b) {
        size_t m = strlen(b);
        uint8_t d[STRING_DISTANCE_LENGTH_MAX + 1][STRING_DISTANCE_LENGTH_MAX + 1];

        if (n > STRING_DISTANCE_LENGTH_MAX || m > STRING_DISTANCE_LENGTH_MAX)
                return SIZE_MAX;
        for (size_t i = 0; i <= n; i++)
                d[i][0] = (uint8_t) i;
        for (size_t j = 0; j <= m; j++)
                d[0][j] = (uint8_t) j;
        for (size_t i = 1; i <= n; i++)
                for (size_t j = 1; j <= m; j++) {
                        unsigned best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

                        if (d[i - 1][j] + 1U < best)
                                best = d[i - 1][j] + 1U;
                        if (d[i][j - 1] + 1U < best)
                                best = d[i][j - 1] + 1U;
                        /* a swap of two neighbours is one typo, not two */
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                            d[i - 2][j - 2] + 1U < best)
                                best = d[i - 2][j - 2] + 1U;
                        d[i][j] = (uint8_t) best;
                }
        return d[n][m];
}

int path_list_parse(const char *s, char ***ret) {
        _cleanup_(strv_freep) char **l = calloc(1, sizeof(char *));
        _cleanup_(freep) char *copy = strdup(s);
        char *state = NULL;

        if (!l || !copy)
                return -ENOMEM;
        for (char *d = strtok_r(copy, ":", &state); d; d = strtok_r(NULL, ":", &state)) {
                if (d[0] != '/')
                        return -EINVAL;
                if (strv_extend(&l, d) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}
