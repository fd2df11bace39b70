/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One QEMU firmware descriptor (docs/interop/firmware.json, QEMU 11.0) turned into a typed value, with every
 * problem found named by JSON member path. Pure: it reads bytes it is given and never touches the file system. */

#include <stdint.h>

#include "util/util.h"

typedef enum InterfaceType {
        INTERFACE_BIOS,
        INTERFACE_OPENFIRMWARE,
        INTERFACE_UBOOT,
        INTERFACE_UEFI,
        _INTERFACE_MAX,
        _INTERFACE_INVALID = -EINVAL,
} InterfaceType;

typedef enum Architecture {
        ARCH_AARCH64,
        ARCH_ARM,
        ARCH_I386,
        ARCH_LOONGARCH64,
        ARCH_RISCV64,
        ARCH_X86_64,
        _ARCH_MAX,
        _ARCH_INVALID = -EINVAL,
} Architecture;

typedef enum Device {
        DEVICE_FLASH,
        DEVICE_MEMORY,
        DEVICE_KERNEL,
        DEVICE_IGVM,
        _DEVICE_MAX,
        _DEVICE_INVALID = -EINVAL,
} Device;

typedef enum FlashMode {
        FLASH_MODE_SPLIT,
        FLASH_MODE_COMBINED,
        FLASH_MODE_STATELESS,
        _FLASH_MODE_MAX,
        _FLASH_MODE_INVALID = -EINVAL,
} FlashMode;

typedef enum Format {
        FORMAT_RAW,
        FORMAT_QCOW2,
        _FORMAT_MAX,
        _FORMAT_INVALID = -EINVAL,
} Format;

typedef enum Feature {
        FEATURE_ACPI_S3,
        FEATURE_ACPI_S4,
        FEATURE_AMD_SEV,
        FEATURE_AMD_SEV_ES,
        FEATURE_AMD_SEV_SNP,
        FEATURE_INTEL_TDX,
        FEATURE_ENROLLED_KEYS,
        FEATURE_REQUIRES_SMM,
        FEATURE_SECURE_BOOT,
        FEATURE_HOST_UEFI_VARS,
        FEATURE_VERBOSE_DYNAMIC,
        FEATURE_VERBOSE_STATIC,
        _FEATURE_MAX,
        _FEATURE_INVALID = -EINVAL,
} Feature;

#define DEFINE_STRING_TABLE_PROTOTYPES(name, type)              \
        const char *name##_to_string(type t) _pure_;            \
        type name##_from_string(const char *s) _pure_;

DEFINE_STRING_TABLE_PROTOTYPES(interface_type, InterfaceType);
DEFINE_STRING_TABLE_PROTOTYPES(architecture, Architecture);
DEFINE_STRING_TABLE_PROTOTYPES(device, Device);
DEFINE_STRING_TABLE_PROTOTYPES(flash_mode, FlashMode);
DEFINE_STRING_TABLE_PROTOTYPES(format, Format);
DEFINE_STRING_TABLE_PROTOTYPES(feature, Feature);

/* "raw or qcow2", "bios, openfirmware, uboot or uefi": for messages. */
const char *architecture_expected(void);

typedef enum ProblemSeverity {
        PROBLEM_ERROR,          /* the descriptor cannot be used for matching */
        PROBLEM_WARNING,        /* usable, but a packager should fix it */
} ProblemSeverity;

typedef struct Problem {
        ProblemSeverity severity;
        char *path;             /* JSON member path, "" for the document itself */
        char *message;
} Problem;

/* "mapping.executable.format: unknown format 'vmdk' (expected raw or qcow2)", with "warning: " after the
 * path for warnings. Returns NULL on ENOMEM. */
char *problem_to_string(const Problem *p);

typedef struct FlashFile {
        char *filename;
        Format format;
} FlashFile;

typedef struct Target {
        Architecture architecture;
        char **machines;                /* NULL-terminated globs */
} Target;

typedef struct Descriptor {
        unsigned n_ref;

        char *description;              /* NULL when absent */
        char **interface_types;         /* as written, unknown ones included */
        uint32_t interface_mask;        /* 1 << InterfaceType of the known ones */

        Device device;                  /* _DEVICE_INVALID when missing or unknown */
        FlashMode mode;                 /* flash only; split when absent */
        bool mode_explicit;             /* mode was written in the file */
        FlashFile executable;           /* flash */
        FlashFile nvram_template;       /* flash, split mode */
        char *filename;                 /* memory, kernel, igvm */
        char *uefi_vars_template;       /* memory, optional */

        Target *targets;
        size_t n_targets;
        uint32_t architecture_mask;     /* 1 << Architecture over all targets */

        char **features;                /* as written, unknown ones included */
        uint64_t feature_mask;          /* 1 << Feature of the known ones */
        char **tags;

        Problem *problems;
        size_t n_problems;
        size_t n_errors;
        bool unreadable;                /* made by descriptor_new_unreadable(): one problem, no content */
} Descriptor;

/* Limits of DESIGN section 3. */
#define DESCRIPTOR_SIZE_MAX (1024U * 1024U)
#define DESCRIPTOR_DEPTH_MAX 32U
#define DESCRIPTOR_LIST_MAX 1024U
#define DESCRIPTOR_STRING_MAX 65536U
#define DESCRIPTOR_PATH_MAX 4096U
#define DESCRIPTOR_PROBLEMS_MAX 64U

/* Parses and validates one descriptor. Always yields a Descriptor unless memory runs out: an unusable one
 * carries its problems (n_errors > 0). Returns 0 or -ENOMEM. */
int descriptor_parse(const char *data, size_t size, Descriptor **ret);

/* An empty descriptor (no device, no members), for callers that fill one in themselves. NULL on ENOMEM. */
Descriptor *descriptor_new(void);

/* Records a problem. Past DESCRIPTOR_PROBLEMS_MAX only the error count grows. Returns 0 or -ENOMEM. */
int descriptor_add_problem(Descriptor *d, ProblemSeverity severity, const char *path, const char *message);

/* A descriptor that holds only one problem, for files that could not be read at all. Returns 0 or -ENOMEM. */
int descriptor_new_unreadable(const char *message, Descriptor **ret);

Descriptor *descriptor_ref(Descriptor *d);
Descriptor *descriptor_unref(Descriptor *d);
static inline void descriptor_unrefp(Descriptor **d) {
        descriptor_unref(*d);
}

static inline bool descriptor_is_valid(const Descriptor *d) {
        return d && d->n_errors == 0;
}

static inline bool descriptor_has_feature(const Descriptor *d, Feature f) {
        return d->feature_mask & (UINT64_C(1) << f);
}

/* The firmware image QEMU loads: the flash executable or the memory/kernel/igvm file. NULL if none. */
const char *descriptor_image(const Descriptor *d) _pure_;
/* The per-VM variable store template: flash nvram template or memory uefi-vars template. NULL if none. */
const char *descriptor_vars_template(const Descriptor *d) _pure_;
/* Whether any target is for this architecture and, when machine is not NULL, has a glob matching it. */
bool descriptor_matches_target(const Descriptor *d, Architecture a, const char *machine);
