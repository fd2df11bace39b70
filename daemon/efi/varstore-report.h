/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a varstore holds (DESIGN section 10): Secure Boot state, the certificates in PK, KEK, db and dbx, the
 * digests counted per database, the boot entries in text, the variables, and the warnings a VM host acts on,
 * read from an nvram template or from a VM's store. Pure over bytes but for varstore_report_read_fd(); it
 * returns a whole report or an error, never a half-filled one, and its problems name the offset or the
 * variable that could not be read. It knows no catalogue: 'fits' and the template to compare with are the
 * caller's. */

#include <stdbool.h>
#include <stdint.h>

#include "certificate.h"
#include "load-option.h"
#include "variables.h"
#include "varstore.h"

/* X.509 certificates read with OpenSSL from one store (a Microsoft-enrolled template holds 9), and boot entries
 * and BootOrder items kept: past these the rest are counted as a problem. */
#define VARSTORE_CERTIFICATES_MAX 256U
#define VARSTORE_BOOT_ENTRIES_MAX 1024U
#define VARSTORE_BOOT_ORDER_MAX 1024U

typedef enum SecureBootState {
        SECURE_BOOT_UNKNOWN,            /* "": no variables to read (blank, qcow2, unknown, unreadable) */
        SECURE_BOOT_ENFORCING,          /* "enforcing": PK enrolled, SecureBootEnable not 0 */
        SECURE_BOOT_DISABLED,           /* "disabled": PK enrolled, SecureBootEnable 0 */
        SECURE_BOOT_SETUP_MODE,         /* "setup-mode": no PK */
        _SECURE_BOOT_STATE_MAX,
        _SECURE_BOOT_STATE_INVALID = -EINVAL,
} SecureBootState;

typedef enum EfiDatabase {
        EFI_DATABASE_PK,
        EFI_DATABASE_KEK,
        EFI_DATABASE_DB,
        EFI_DATABASE_DBX,
        _EFI_DATABASE_MAX,
        _EFI_DATABASE_INVALID = -EINVAL,
} EfiDatabase;

const char *secure_boot_state_to_string(SecureBootState s) _pure_;
const char *efi_database_to_string(EfiDatabase d) _pure_;      /* "PK", "KEK", "db", "dbx" */

typedef struct VarstoreCertificate {
        EfiDatabase database;
        EfiCertificate certificate;
} VarstoreCertificate;

typedef struct VarstoreDatabase {
        bool present;                   /* the variable exists */
        uint32_t sha256_count;          /* its SHA-256 entries */
} VarstoreDatabase;

typedef struct VarstoreBootEntry {
        uint16_t number;                /* of Boot#### */
        EfiLoadOption option;
} VarstoreBootEntry;

typedef struct VarstoreReport {
        Varstore layout;                /* format, size, varstore-size */
        SecureBootState secure_boot;
        VarstoreCertificate *certificates;      /* PK, KEK, db, dbx, in the order of the store */
        size_t n_certificates;
        VarstoreDatabase databases[_EFI_DATABASE_MAX];
        uint8_t (*dbx)[32];             /* each dbx entry, sorted: a SHA-256 entry's digest, else its data's */
        size_t n_dbx;
        uint16_t *boot_order;
        size_t n_boot_order;
        bool has_boot_next, has_timeout;
        uint16_t boot_next, timeout;
        VarstoreBootEntry *boot_entries;        /* by number */
        size_t n_boot_entries;
        EfiVariableList *variables;     /* NULL for a layout without variables */
        uint64_t now;                   /* what "expired" was measured against */
        char **template_drift;          /* known ids the compared template holds and this store lacks */
        size_t dbx_drift;               /* dbx entries the compared template holds and this store lacks */
        char **warnings;                /* stable codes (DESIGN section 10) */
        char **problems;
} VarstoreReport;

VarstoreReport *varstore_report_free(VarstoreReport *r);
static inline void varstore_report_freep(VarstoreReport **r) {
        varstore_report_free(*r);
}

/* Reads what the store in data holds: the first n bytes of a file of file_size bytes, which must cover the
 * head (VARSTORE_HEAD_MAX bytes, or the whole file when smaller) and, to read variables, the whole edk2 volume
 * or the whole JSON file; what is missing is a problem. now (seconds since the epoch) dates expiry. Returns
 * 0 and the report, or -ENOMEM. */
int varstore_report_parse(const uint8_t *data, size_t n, uint64_t file_size, uint64_t now, VarstoreReport **ret);

/* Reads an open regular file with pread() (its offset is left alone): the head, then as much as the layout
 * needs, at most EFI_VOLUME_MAX or EFI_JSON_STORE_MAX bytes, and parses it. Blocks on the file: a caller on an
 * event loop runs it on a thread with a deadline. Returns 0, -EBADFD when fd is not a regular file, the
 * negative errno of fstat()/pread(), or -ENOMEM. */
int varstore_report_read_fd(int fd, uint64_t now, VarstoreReport **ret);

/* Adds the warnings that need the template of the firmware the store fits: template-drift:<id> for each known
 * certificate in the template's KEK or db that the store's lacks, and dbx-drift:<n>. Comparing again replaces
 * them. Returns 0 or -ENOMEM (the report is then unchanged). */
int varstore_report_compare(VarstoreReport *store, const VarstoreReport *template);

/* Whether PK, KEK or db holds the certificate named id (a known id, or sha256:<hex>). */
bool varstore_report_has_certificate(const VarstoreReport *r, const char *id) _pure_;

/* "PK:<id>", "KEK:<id>", "db:<id>" for each certificate in those databases, in order, each once: what a
 * template's nvram-template-certificates says. Returns 0 and a strv (NULL when none), or -ENOMEM. */
int varstore_report_certificate_ids(const VarstoreReport *r, char ***ret);

/* For the report's builder: computes the warnings from what the report holds. Returns 0 or -ENOMEM. */
int varstore_report_update_warnings(VarstoreReport *r);
