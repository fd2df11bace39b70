/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* fwregistryctl validate: descriptor files checked as the catalogue reads them, plus what only a packager
 * cares about (referenced files shipped, machine globs), reported like a compiler does. */

#include <stdbool.h>

typedef struct ValidateOptions {
        bool json;
        bool check_files;               /* referenced images and templates must exist (below root) */
        const char *root;               /* NULL: the host */
        char **dirs;                    /* search directories, read below root when no file is given */
} ValidateOptions;

/* Validates files ("-" reads stdin), or with a root and no files every descriptor of its search directories.
 * Diagnostics go to stderr, the summary last; --json output to stdout. Returns 0 when nothing has an error,
 * 1 when something has, or a negative errno. */
int validate_run(char **files, const ValidateOptions *o);
