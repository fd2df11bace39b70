/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* fwregistryctl's command line: the options, their parsing and --help. It checks each value on its own;
 * which options go with which command is the caller's business. */

#include "resolver/resolver.h"

typedef enum JsonMode {
        JSON_OFF,
        JSON_PRETTY,
        JSON_SHORT,
} JsonMode;

typedef enum OutputMode {
        OUTPUT_TEXT,
        OUTPUT_QEMU,
        OUTPUT_LIBVIRT,
} OutputMode;

typedef struct Options {
        bool offline;
        bool user;
        JsonMode json;
        bool legend;
        bool pager;
        bool ask_password;
        OutputMode output;
        char *nvram;            /* the VM's varstore, absolute */
        bool wide;
        char *keys;             /* nvram migrate and update-keys: keep, template or add-missing */
        bool dry_run;
        bool backup;
        bool check_files;
        char *root;
        char *search_path;
        char **extra_dirs;
        char *qemu_dirs;
        Request request;        /* the request options, keyed as on the bus */
} Options;

#define OPTIONS_INIT { .legend = true, .pager = true, .ask_password = true, .backup = true }

/* Parses argv into o (from OPTIONS_INIT), leaving optind at the command. Returns 1 to go on, 0 when --help or
 * --version said everything, or a negative errno with a message printed. */
int options_parse(Options *o, int argc, char *argv[]);
/* Frees what o owns, the varstore opened for the request included. */
void options_done(Options *o);

/* Stores v in *s, made absolute against the working directory: paths go to the daemon, whose working
 * directory is not ours. option names v in messages. Returns 0, -ENOMEM, or -EINVAL with a message printed. */
int options_absolute_path(char **s, const char *option, const char *v);
