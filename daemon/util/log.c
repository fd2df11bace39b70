/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <sys/stat.h>

#include "log.h"

int log_max_level = LOG_INFO;

/* "<N>" prefixes mean something to the journal only: elsewhere (a terminal, a file) they are noise. systemd
 * sets $JOURNAL_STREAM to the device and inode of the stream it connected, so that a program can tell whether
 * its stderr is still that stream (and not redirected since). */
static int log_prefix = -1;

bool log_stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        char extra;

        if (!e || sscanf(e, "%llu:%llu%c", &dev, &ino, &extra) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) {
        char buf[2048];
        va_list ap;

        if (error < 0)
                error = -error;
        if (level > log_max_level)
                return -error;

        /* %m stands for the error we were given, not whatever errno happens to hold */
        errno = error;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);

        /* one message, one line: a file name with a newline must not start a line with a "<N>" of its own,
         * and what the journal is given must be UTF-8 */
        _cleanup_(freep) char *shown = utf8_escape_text(buf);
        if (!shown)
                for (char *p = buf; *p; p++)
                        if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
                                *p = '?';

        if (log_prefix < 0)
                log_prefix = log_stderr_is_journal();
        if (log_prefix)
                fprintf(stderr, "<%d>", level);
        if (log_max_level >= LOG_DEBUG)
                fprintf(stderr, "%s (%s:%d)\n", shown ?: buf, file, line);
        else
                fprintf(stderr, "%s\n", shown ?: buf);
        return -error;
}

const char *plural(size_t n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

int log_level_from_string(const char *s) {
        static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info",
                                             "debug" };

        for (int i = 0; i < (int) ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return i;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == 0)
                return s[0] - '0';
        return -EINVAL;
}
