/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A conversion between open files (DESIGN section 11): the source store and the template read through their
 * descriptors (bounded), the new store written whole into the target and fsynced. Blocks on every file: the
 * daemon runs it on a thread with a deadline. It never opens a path. */

#include "convert.h"

/* Converts the store open at source onto the template open at template, writing the result into target,
 * which must be an empty, writable regular file. Returns 0 and the result (its data already written);
 * -EBADMSG when the source could not be read whole (*ret_error names the first problem); -EINVAL for a target
 * or template that cannot be used (*ret_error says why); -ENOSPC (*ret_space says by how much); or the
 * negative errno of a read, write or fsync. */
int varstore_convert_fd(int source, int template, int target, ConvertKeys keys, ConvertResult **ret,
                        EfiStoreSpace *ret_space, char **ret_error);
