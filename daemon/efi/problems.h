/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The problems a reader of UEFI data met, one line each naming the offset or the variable: a bounded list,
 * so that a hostile store cannot make its report large. It only collects text; it decides nothing. */

#include "util/util.h"

/* Problems kept per report; the rest are counted, and one last line says how many were left out. */
#define EFI_PROBLEMS_MAX 64U

typedef struct EfiProblems {
        char **list;            /* strv, owned */
        size_t n;
        size_t dropped;         /* not kept, past EFI_PROBLEMS_MAX */
        bool oom;               /* one could not be added: the list would lie by omission */
} EfiProblems;

/* Adds one problem (dropped, and counted, once EFI_PROBLEMS_MAX are there). Running out of memory is
 * remembered and reported by efi_problems_steal(), so that callers need not check each line. */
void efi_problems_add(EfiProblems *p, const char *fmt, ...) _printf_(2, 3);

/* Hands over the list as a strv (NULL when empty) ending, when some were dropped, with a line that says how
 * many, and empties p. Returns 0, or -ENOMEM when this or an earlier addition ran out of memory. */
int efi_problems_steal(EfiProblems *p, char ***ret);

void efi_problems_done(EfiProblems *p);
