/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>

#include "problems.h"

void efi_problems_add(EfiProblems *p, const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        if (p->n >= EFI_PROBLEMS_MAX) {
                p->dropped++;
                return;
        }
        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0 || strv_consume(&p->list, s) < 0) {
                p->oom = true;
                return;
        }
        p->n++;
}

int efi_problems_steal(EfiProblems *p, char ***ret) {
        if (p->oom)
                return -ENOMEM;
        if (p->dropped > 0) {
                int r = strv_consume(&p->list, strdup_printf("%zu more problems left out", p->dropped));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(p->list);
        *p = (EfiProblems) {};
        return 0;
}

void efi_problems_done(EfiProblems *p) {
        strv_free(p->list);
        *p = (EfiProblems) {};
}
