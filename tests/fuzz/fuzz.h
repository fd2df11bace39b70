/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The libFuzzer entry point every target implements; the replay driver calls it for each corpus file. */

#include <stddef.h>
#include <stdint.h>

/* Inputs larger than this are ignored: they add nothing the parsers' own limits do not cover. */
#define FUZZ_INPUT_MAX (2U * 1024U * 1024U)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
