/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which firmware a VM's varstore fits, and the template it is compared with (DESIGN sections 9 and 10), for
 * InspectVarstore, ConvertVarstore and fwregistryctl's --offline alike: the same answer wherever it is asked.
 * It reads the registry's own template files, never a caller's. */

#include <sys/stat.h>

#include "efi/varstore-report.h"
#include "resolver.h"

/* The entries (rank order, borrowed from c) whose variable store template the layout fits: valid, unmasked
 * and unshadowed, as List with only the nvram key gives them. Returns 0 and an array (NULL when none; the
 * caller frees it), or -ENOMEM. */
int resolver_varstore_fits(const Catalogue *c, const Varstore *layout, const Entry ***ret, size_t *ret_n);

/* The path of e's variable store template on this host (below c's root), or NULL when it has none. Returns a
 * new string, or NULL on ENOMEM too (check e's descriptor). */
char *resolver_template_path(const Catalogue *c, const Entry *e);

/* The last template read, kept while its file is unchanged (device, inode, size, modification and change
 * time): an audit of many stores compares each with the same template, and reads it once. */
typedef struct TemplateReportCache {
        char *path;
        struct stat st;
        VarstoreReport *report;
} TemplateReportCache;

void template_report_cache_done(TemplateReportCache *cache);

/* Reads what e's template holds, as of now (seconds since the epoch), or takes it from cache (may be NULL)
 * when the file is the one read last. Blocks on the file. Returns 0 and the report (borrowed from the cache
 * when one is given, else the caller's); -ENOENT when e has no template; or the negative errno of opening or
 * reading it. */
int resolver_template_report(const Catalogue *c, const Entry *e, uint64_t now, TemplateReportCache *cache,
                             VarstoreReport **ret);
