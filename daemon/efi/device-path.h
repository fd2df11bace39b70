/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* UEFI device paths to the text form the firmware itself prints (edk2's: "PciRoot(0x0)/Pci(0x1f,0x2)/
 * Sata(0x0,0xffff,0x0)", "HD(1,GPT,<guid>,0x800,0x100000)/\EFI\debian\shimx64.efi", "Fv(<guid>)/FvFile(<guid>)")
 * for the nodes a VM's boot entries hold, and Path(type,subtype) for any other. It prints; it never resolves
 * a path to a device. */

#include <stddef.h>
#include <stdint.h>

#include "problems.h"

/* Nodes read from one path, and bytes of text written for it: past either, the text ends in "/...". */
#define EFI_DEVICE_PATH_NODES_MAX 64U
#define EFI_DEVICE_PATH_TEXT_MAX 4096U

/* Writes the device path (one or more instances) in the n bytes at p as text, naming problems after what
 * ("Boot0001"). A node whose length lies ends the text with a problem; what was read before it is kept.
 * Returns 0 and the text in *ret, or -ENOMEM. */
int efi_device_path_to_text(const uint8_t *p, size_t n, const char *what, EfiProblems *problems, char **ret);
