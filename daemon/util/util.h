/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers shared by every module: cleanup attributes, string vectors, a string buffer.
 * Nothing here knows about descriptors, D-Bus or files; anything domain-specific lives elsewhere. */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define _pure_ __attribute__((pure))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) _p_ = (p);        \
                (p) = NULL;                     \
                _p_;                            \
        })

#define TAKE_FD(fd)                             \
        ({                                      \
                int _fd_ = (fd);                \
                (fd) = -1;                      \
                _fd_;                           \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

static inline const char *strempty(const char *s) {
        return s ?: "";
}

static inline const char *strna(const char *s) {
        return s ?: "n/a";
}

static inline bool isempty(const char *s) {
        return !s || !*s;
}

static inline bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

/* A NULL-terminated vector of owned strings. */
char **strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
size_t strv_length(char * const *l) _pure_;
bool strv_contains(char * const *l, const char *s) _pure_;
/* Appends a copy of s (or takes ownership with strv_consume). Returns 0 or -ENOMEM. */
int strv_extend(char ***l, const char *s);
int strv_consume(char ***l, char *s);
char **strv_copy(char * const *l);

/* A set of strings in the order they were added, for the many names a file storm brings: adding and looking
 * up cost O(1) on average (open addressing), so n events cost O(n) and not O(n^2) as with a strv. */
typedef struct NameSet {
        char **names;           /* owned, in order, NULL-terminated once non-empty */
        size_t n, allocated;
        const char **table;     /* points into names; a power of two in size, at most half full */
        size_t table_size;
} NameSet;

/* Adds a copy of s. Returns 1 when added, 0 when it was there already, or -ENOMEM. */
int name_set_add(NameSet *s, const char *name);
bool name_set_contains(const NameSet *s, const char *name) _pure_;
static inline bool name_set_isempty(const NameSet *s) {
        return s->n == 0;
}
/* Hands over the names as a strv (NULL when empty) and empties the set. */
char **name_set_steal(NameSet *s);
/* Hands over the first max names (all when there are no more) as a strv and keeps the rest, without
 * copying any name. Returns the strv (NULL when empty), or NULL on ENOMEM with the set unchanged. */
char **name_set_take(NameSet *s, size_t max);
void name_set_done(NameSet *s);
size_t string_hash(const char *s) _pure_;

#define STRV_FOREACH(s, l) for (char * const *s = (l); s && *s; s++)

/* printf into a newly allocated string; returns NULL on ENOMEM. */
char *strdup_printf(const char *fmt, ...) _printf_(1, 2);

/* A growable byte buffer, always NUL-terminated once non-empty. */
typedef struct StrBuf {
        char *buf;
        size_t len;
        size_t allocated;
        bool oom;
} StrBuf;

void strbuf_append(StrBuf *b, const char *s, size_t n);
void strbuf_puts(StrBuf *b, const char *s);
void strbuf_printf(StrBuf *b, const char *fmt, ...) _printf_(2, 3);
/* Hands over the string (never NULL unless out of memory) and resets the buffer. */
char *strbuf_steal(StrBuf *b);
static inline void strbuf_done(StrBuf *b) {
        free(b->buf);
        *b = (StrBuf) {};
}

/* Joins a directory and a name with exactly one slash; returns NULL on ENOMEM. */
char *path_join(const char *a, const char *b);
/* Prefixes an absolute path with a root directory (none, "" or "/" mean no prefix). */
char *path_prefix_root(const char *root, const char *path);

/* Whether s (n bytes) is UTF-8 as D-Bus accepts it: shortest forms only, no surrogates, nothing above
 * U+10FFFF, no noncharacters, no NUL. */
bool utf8_is_valid_n(const char *s, size_t n) _pure_;
static inline bool utf8_is_valid(const char *s) {
        return utf8_is_valid_n(s, strlen(s));
}
/* A copy with every byte that is not part of valid UTF-8 written as \xNN, for messages. NULL on ENOMEM. */
char *utf8_escape_invalid(const char *s);
/* The same, and control characters (a newline, say) too: for text from a file that goes into a log line or
 * a message, where it must not be able to start a line of its own. NULL on ENOMEM. */
char *utf8_escape_text(const char *s);

/* Splits a colon-separated list of directories ("" for none: an empty strv). Returns 0, -EINVAL for a
 * relative directory, or -ENOMEM. */
int path_list_parse(const char *s, char ***ret);

/* Hands memory that a large transient use left free (a catalogue that shrank by half, a refused reply near the
 * bound) back to the system: glibc keeps it for reuse otherwise, and the daemon may not need it again. */
void memory_trim(void);

#define STRING_DISTANCE_LENGTH_MAX 64U
/* How many typos (insertions, deletions, substitutions, swaps of neighbours) turn the first n bytes of a into b,
 * for "did you mean". Returns the distance, or SIZE_MAX when either is longer than STRING_DISTANCE_LENGTH_MAX. */
size_t string_distance(const char *a, size_t n, const char *b) _pure_;

/* Time in nanoseconds from CLOCK_MONOTONIC. */
uint64_t now_nsec(void);
