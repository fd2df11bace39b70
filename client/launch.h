/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a launcher needs from a resolved entry: QEMU arguments, libvirt <os> elements, and a VM's own
 * varstore copied from the template. It formats and copies; which firmware to use is the resolver's call. */

#include <stdio.h>

#include "catalogue/catalogue.h"

/* Prints the QEMU arguments on one line, quoted for a POSIX shell. machine may be NULL (then only the
 * properties the firmware needs are set); nvram is the VM's varstore (split flash) or its copy of the image
 * (combined flash), and required for those. Returns 0, or -EINVAL with a message printed. */
int launch_print_qemu(const Entry *e, const char *machine, const char *nvram, FILE *f);

/* Prints <loader> and <nvram> (or <kernel>) for a domain's <os>, as the oldest libvirt that can take them
 * reads them: a raw image has no format attribute, another format has one and a comment naming the libvirt
 * release it needs. nvram may be NULL: libvirt then picks the varstore's path. A path that XML cannot carry
 * (a control character other than tab, newline or carriage return; bytes that are not UTF-8) is refused
 * before anything is printed. Returns 0, or -EINVAL with a message printed. */
int launch_print_libvirt(const Entry *e, const char *nvram, FILE *f);

/* Creates path, mode 0600, as a copy of the entry's nvram template (split flash) or of its image (combined
 * flash): a reflink where the file system can, never over an existing file. The template must be a regular
 * file; the copy is made unnamed (or under a random name) beside path, checked to be as long as the template,
 * synced, and only then linked to path, whose directory is synced too: path is complete or absent. Returns 0
 * (*ret_reflinked says how), -EEXIST, or another -errno; -EINVAL with a message printed when the firmware
 * keeps no varstore, the template is no regular file or the copy came out short. */
int launch_nvram_create(const Entry *e, const char *path, bool *ret_reflinked);
