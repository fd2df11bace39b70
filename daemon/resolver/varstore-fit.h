/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which firmware a VM's varstore fits, and the template it is compared with (DESIGN sections 9 and 10), for
 * InspectVarstore, ConvertVarstore and fwregistryctl's --offline alike: the same answer wherever it is asked.
 * It reads the registry's own template files, never a caller's. */

#include "efi/varstore-report.h"
#include "resolver.h"

/* The entries (rank order, borrowed from c) whose variable store template the layout fits: valid, unmasked
 * and unshadowed, as List with only the nvram key gives them. Returns 0 and an array (NULL when none; the
 * caller frees it), or -ENOMEM. */
int resolver_varstore_fits(const Catalogue *c, const Varstore *layout, const Entry ***ret, size_t *ret_n);

/* The path of e's variable store template on this host (below c's root), or NULL when it has none. Returns a
 * new string, or NULL on ENOMEM too (check e's descriptor). */
char *resolver_template_path(const Catalogue *c, const Entry *e);

/* Reads what e's template holds, as of now (seconds since the epoch). Blocks on the file. Returns 0 and the
 * report; -ENOENT when e has no template; or the negative errno of opening or reading it. */
int resolver_template_report(const Catalogue *c, const Entry *e, uint64_t now, VarstoreReport **ret);
