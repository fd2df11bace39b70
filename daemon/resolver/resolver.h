/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Requests against a catalogue: Resolve (first match in rank order), List filters and Explain verdicts with
 * machine-readable reasons. Pure: no I/O beyond one stat of a requested path, no D-Bus. */

#include "catalogue/catalogue.h"
#include "catalogue/qemu.h"

typedef enum RequestKind {
        REQUEST_RESOLVE,        /* defaults apply: uefi, flash or memory, files checked */
        REQUEST_FILTER,         /* only the keys given filter (List) */
} RequestKind;

/* A requested path as found on disk (below the catalogue's root). */
typedef struct RequestPath {
        bool exists;
        dev_t dev;
        ino_t ino;
} RequestPath;

typedef struct Request {
        bool has_architecture, has_interface, has_device, has_mode, has_formats, has_smm, has_check_files;

        Architecture architecture;
        char *machine;                  /* NULL: any */
        InterfaceType interface;
        Device device;
        FlashMode mode;
        uint32_t formats;               /* 1 << Format */
        bool smm;
        bool check_files;
        uint64_t features_required;     /* known features, 1 << Feature */
        uint64_t features_forbidden;
        char **unknown_required;        /* feature names this build does not know, sorted */
        char **unknown_forbidden;
        size_t n_unknown_required, n_unknown_forbidden;
        char **exclude;                 /* basenames */
        char *executable;               /* compared after resolving symlinks */
        char *nvram_template;
        bool has_nvram;                 /* a VM's varstore was given: only templates it fits match */
        Varstore nvram;                 /* its layout */
        int nvram_fd;                   /* the client's open varstore, to pass on; only when has_nvram (the
                                         * daemon keeps none: -1) */
        char **certificates;            /* ids the template must hold in PK, KEK or db (known or sha256:) */
        /* those two as found on disk, when request_look_up_paths() was called: then matching many entries
         * does not look them up again for each */
        bool paths_looked_up;
        RequestPath executable_found, nvram_template_found;

        /* List only */
        bool include_invalid, include_masked, include_shadowed;
        uint32_t offset;                /* items of the result to pass over */
        uint32_t limit;                 /* at most this many items; 0: no limit */

        /* not a request key: where aliases come from (borrowed; NULL: the built-in table only) */
        const QemuMachines *machines;
} Request;

void request_done(Request *r);

/* Looks up executable and nvram-template once, with stat() below the catalogue's root, for a request that
 * will be matched against many entries (List). */
void request_look_up_paths(Request *r, const Catalogue *c);

/* One requested path looked up with stat() below root (NULL: /), the way request_look_up_paths() does: for a
 * caller that does it elsewhere (off the event loop) and sets the Request's *_found and paths_looked_up. It
 * may block for as long as the file system takes. Returns what was found. */
RequestPath request_path_find(const char *root, const char *path);

/* Sets a feature requirement by name: true = must have, false = must not have. Returns 0 or -ENOMEM. */
int request_set_feature(Request *r, const char *name, bool want);

/* A compact human description, e.g. "x86_64 machine 'q35' uefi +secure-boot -enrolled-keys smm=no".
 * Returns NULL on ENOMEM. */
char *request_to_string(const Request *r, RequestKind kind);

/* The versioned machine type an alias stands for on this architecture ("q35" on x86_64 → "pc-q35-11.0"),
 * or NULL when the name is not an alias there. */
const char *machine_alias_expand(const char *machine, Architecture a) _pure_;

/* The versioned type an alias stands for on this architecture as the installed QEMU says, when it was asked
 * and answered; the built-in table otherwise. NULL when the name is not an alias there. */
const char *machine_alias_lookup(const QemuMachines *q, const char *machine, Architecture a);

/* Every alias in use for an architecture: the installed QEMU's when it answered (source "QEMU 7.2.22
 * (/usr/bin/qemu-system-x86_64)"), else the built-in ones (source "built-in"). Calls f for each; stops at
 * and returns its first negative result, else 0. */
int machine_aliases_foreach(const QemuMachines *q, Architecture a,
                            int (*f)(const char *alias, const char *machine, const char *source, void *userdata),
                            void *userdata);

/* Refuses a request that contradicts itself: enrolled keys without secure boot. Returns 0, or -EINVAL with
 * a message naming both keys. */
int request_check(const Request *r, char **ret_message);

/* Whether the entry satisfies the request. When reasons is not NULL, every unmet condition is appended as a
 * reason string ("feature-missing:secure-boot"); otherwise it stops at the first. Returns 1 for a match, 0
 * for none, -ENOMEM. Only meaningful for valid entries. */
int resolver_match(const Catalogue *c, const Entry *e, const Request *req, RequestKind kind, char ***reasons);

/* The first matching entry in rank order, using the catalogue's indexes. Returns 1 and the entry, 0 when
 * nothing matches, -EINVAL when the request has no architecture. */
int resolver_resolve(const Catalogue *c, const Request *req, const Entry **ret);

/* Called in rank order with each entry a List filter may include, and whether it does. */
typedef int (*ResolverFilterFunc)(const Entry *e, bool included, void *userdata);

/* The List walk: with an architecture and without include-* keys, only the entries the indexes hold for it
 * (and for the machine type, when one is given) are visited; otherwise every entry. f returns a positive
 * value to end the walk (a full page). Returns 0, or the first negative value f returned. */
int resolver_filter(const Catalogue *c, const Request *req, ResolverFilterFunc f, void *userdata);

typedef enum VerdictKind {
        VERDICT_SELECTED,
        VERDICT_ELIGIBLE,
        VERDICT_REJECTED,
        VERDICT_MASKED,
        VERDICT_SHADOWED,
        VERDICT_INVALID,
        _VERDICT_MAX,
} VerdictKind;

const char *verdict_kind_to_string(VerdictKind k) _pure_;

/* A verdict keeps at most this many reasons; the last of them then says how many more there were
 * ("N more left out"). A request naming a thousand unknown features makes as many reasons for every
 * descriptor: kept, they would take gigabytes for a large catalogue. */
#define RESOLVER_REASONS_MAX 17U     /* 16 and the count: what Explain shows */

typedef struct Verdict {
        const Entry *entry;
        VerdictKind kind;
        char **reasons;
} Verdict;

/* How many reasons the verdict had, those left out included. */
size_t verdict_reasons_total(const Verdict *v) _pure_;

/* Called in rank order with each verdict; it may take v->reasons (leaving NULL there), and what it leaves
 * is freed after the call. A negative return stops the walk. */
typedef int (*ResolverVerdictFunc)(Verdict *v, void *userdata);

/* Explain's walk: a verdict for every file of the catalogue, in rank order (shadowed files follow the entry
 * that shadows them, and a mask gives way to the files it hides), each handed to f as soon as it is made, so
 * that nothing grows with the catalogue. The selected entry is resolver_resolve()'s. Returns 0, the first
 * negative value f returned, -ENOMEM, or -EINVAL without an architecture. */
int resolver_explain_foreach(const Catalogue *c, const Request *req, ResolverVerdictFunc f, void *userdata);

typedef struct Explanation {
        Verdict *verdicts;              /* in the order of resolver_explain_foreach() */
        size_t n_verdicts;
        const Entry *selected;          /* NULL when nothing matched */
} Explanation;

/* Every verdict of resolver_explain_foreach(), kept: for callers that show them all (fwregistryctl offline),
 * not for the daemon, whose callers choose the request. Returns 0 or -ENOMEM, -EINVAL without an
 * architecture. */
int resolver_explain(const Catalogue *c, const Request *req, Explanation *ret);
void explanation_done(Explanation *x);

/* The NoMatch message: counts per reason and the closest candidate. Returns NULL on ENOMEM. */
char *explanation_summary(const Explanation *x, const Request *req);

/* The same message made in one walk, keeping the tallies and the closest candidate but no verdict. Returns 0,
 * -ENOMEM, or -EINVAL without an architecture. */
int resolver_summarize(const Catalogue *c, const Request *req, char **ret);
