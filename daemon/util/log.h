/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging to stderr, with "<N>" syslog level prefixes (which the journal turns into priorities) when stderr is
 * the journal. Used by the daemon's upper modules (main, manager, bus, watch); the core library does not log. */

#include <syslog.h>

#include "util.h"

/* Messages above this level are dropped; set from $FWREGISTRYD_LOG_LEVEL or --debug. */
extern int log_max_level;

/* Logs and returns -abs(error), so that "return log_error_errno(r, ...)" reads naturally. %m prints error. */
int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) _printf_(5, 6);

#define log_full_errno(level, error, ...) log_internal(level, error, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")

/* Whether stderr is the journal stream systemd connected ($JOURNAL_STREAM names its device and inode). */
bool log_stderr_is_journal(void);

/* one or many, by n: "1 firmware descriptor", "2 firmware descriptors". */
const char *plural(size_t n, const char *one, const char *many) _pure_;

/* Parses "debug", "info", ... or a number 0..7. Returns the level or -EINVAL. */
int log_level_from_string(const char *s);
