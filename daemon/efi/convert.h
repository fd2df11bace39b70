/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A VM's variables moved onto a template (DESIGN section 11): which variables go into the new store, with whose
 * Secure Boot keys, and what the 2023 successors of the certificates it trusts add; then the store written in
 * the template's layout (store-write.c). Pure over bytes: the caller reads the files, checks that the source
 * was read without problems, and writes the result. It never adds a key the VM did not trust a predecessor of,
 * and never changes PK. */

#include "store-write.h"
#include "variables.h"

typedef enum ConvertKeys {
        CONVERT_KEYS_KEEP,              /* "keep": the source's Secure Boot variables, the template's dropped */
        CONVERT_KEYS_TEMPLATE,          /* "template": the template's replace the source's */
        CONVERT_KEYS_ADD_MISSING,       /* "add-missing": the source's, plus successors and dbx from the template */
        _CONVERT_KEYS_MAX,
        _CONVERT_KEYS_INVALID = -EINVAL,
} ConvertKeys;

const char *convert_keys_to_string(ConvertKeys k) _pure_;
ConvertKeys convert_keys_from_string(const char *s) _pure_;

typedef struct ConvertResult {
        VarstoreFormat format;          /* of the new store: the template's */
        uint8_t *data;                  /* the new store, size bytes */
        size_t size;
        unsigned carried;               /* source variables in the new store */
        char **added_certificates;      /* ids added from the template (add-missing) */
        char **dropped;                 /* "name-guid: why" for each source variable left out */
        uint64_t bytes_used, bytes_free;
        char **warnings;                /* "pcr7-changes" */
        EfiVariableList *variables;     /* what was written, in order (for the caller's checks and tests) */
} ConvertResult;

ConvertResult *convert_result_free(ConvertResult *r);
static inline void convert_result_freep(ConvertResult **r) {
        convert_result_free(*r);
}

/* Builds the store for source on the template (template_size bytes: an edk2 volume or a JSON store). Returns 0
 * and the result; -ENOSPC when the variables do not fit (*ret_space says by how much); -EINVAL when the
 * template is neither, or a variable cannot be written (*ret_error, when not NULL, says which); or -ENOMEM. */
int varstore_convert(const EfiVariableList *source, const uint8_t *template, size_t template_size, ConvertKeys keys,
                     ConvertResult **ret, EfiStoreSpace *ret_space, char **ret_error);
