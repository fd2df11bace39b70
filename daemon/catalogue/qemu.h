/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Machine aliases as the installed QEMU defines them: each architecture's qemu-system binary is asked for its
 * machine list (and version), sandboxed and bounded, and its "alias of" lines are kept. Runs nothing else. */

#include <sys/types.h>

#include "descriptor.h"
#include "image.h"

#define QEMU_OUTPUT_MAX (1024 * 1024)           /* more than this from one run: the answer is not used */
#define QEMU_ALIASES_MAX 256
#define QEMU_TIMEOUT_USEC_DEFAULT (5 * 1000 * 1000ULL)
#define QEMU_DIRS_DEFAULT "/usr/bin:/usr/libexec"

typedef struct MachineAlias {
        char *alias;                    /* "q35" */
        char *machine;                  /* "pc-q35-7.2" */
} MachineAlias;

typedef struct QemuArch {
        char *binary;                   /* NULL: no QEMU for this architecture */
        FileId id;                      /* the binary's version: a change means an upgrade, and it is asked again */
        char *version;                  /* "7.2.22"; NULL when not understood */
        MachineAlias *aliases;          /* valid only when problem is NULL */
        size_t n_aliases;
        char *problem;                  /* why the binary's answer is not used; NULL when it is */
        bool settled;                   /* the answer may be kept across restarts (file_id_settled()) */
} QemuArch;

typedef struct QemuMachines {
        char **dirs;                    /* where binaries were looked for; empty: QEMU is not asked */
        QemuArch arch[_ARCH_MAX];
        size_t n_reused;                /* answers taken from what was known instead of running the binary */
} QemuMachines;

/* Parses the output of "qemu-system-* -machine help" into its aliases. Returns 0, -EBADMSG when the text is
 * not a machine list (no header, control bytes, invalid UTF-8, malformed names), -E2BIG past
 * QEMU_ALIASES_MAX aliases, or -ENOMEM. */
int qemu_parse_machine_help(const char *text, size_t size, MachineAlias **ret, size_t *ret_n);
void machine_aliases_free(MachineAlias *a, size_t n);

/* Parses "QEMU emulator version 7.2.22 (...)". Returns 0 and the version, -EBADMSG, or -ENOMEM. */
int qemu_parse_version(const char *text, size_t size, char **ret);

/* Whether s (n bytes) is a machine type name as this module accepts them: 1 to 64 letters, digits, '.', '_'
 * and '-'. */
bool qemu_machine_name_valid(const char *s, size_t n) _pure_;
/* Whether s is a version as qemu_parse_version() returns them. */
bool qemu_version_valid(const char *s) _pure_;


/* Finds the binary of every architecture below dirs and asks each one, all at once, for at most timeout_usec.
 * Problems with a binary are recorded in its QemuArch, never returned. Returns 0 or -ENOMEM. */
int qemu_machines_probe(char * const *dirs, uint64_t timeout_usec, QemuMachines **ret);

/* The same, taking the answer of a binary from known (an earlier probe, or a cache file's: dirs unused)
 * instead of running it when known has a usable answer for the same path and identity. */
int qemu_machines_probe_known(char * const *dirs, uint64_t timeout_usec, const QemuMachines *known,
                              QemuMachines **ret);

/* Whether any binary below q->dirs appeared, disappeared or changed since q was probed. */
bool qemu_machines_outdated(const QemuMachines *q);

/* Whether two probes give the same aliases, versions and binaries. */
bool qemu_machines_equal(const QemuMachines *a, const QemuMachines *b);

/* The binary's answer for this architecture, if it is used: NULL when there is no binary or its answer
 * was not usable. */
const QemuArch *qemu_machines_arch(const QemuMachines *q, Architecture a);

/* "QEMU 7.2.22 (/usr/bin/qemu-system-x86_64)". Returns NULL on ENOMEM. */
char *qemu_arch_source(const QemuArch *qa);

/* Whether name is a binary this module would ask, e.g. "qemu-system-x86_64". */
bool qemu_binary_name(const char *name);

QemuMachines *qemu_machines_free(QemuMachines *q);
static inline void qemu_machines_freep(QemuMachines **q) {
        qemu_machines_free(*q);
}
