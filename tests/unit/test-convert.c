/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Writing varstores and moving variables between them (DESIGN section 11), on real stores: Debian 12's templates,
 * the 2026.08 ones from sid (fetched by tests/data/fetch-templates), and stores OVMF booted with
 * (tests/data/varstores). Every store written is read back with the reader and compared variable by variable. */

#include <inttypes.h>
#include <sys/wait.h>

#include "efi/convert.h"
#include "efi/varstore-report.h"
#include "tests.h"

#define NOW UINT64_C(1796000000)        /* 2026-11-29 */

static char *sid_root;

static char *fetch_sid(void) {
        char buf[4096] = {};
        FILE *f = popen(FETCH_TEMPLATES, "re");
        size_t n;
        int status;

        if (!f)
                return NULL;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        status = pclose(f);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n == 0) {
                fprintf(stderr, "skipping what needs the sid templates: fetch-templates exited with status %d\n",
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                return NULL;
        }
        buf[strcspn(buf, "\n")] = 0;
        return strdup(buf);
}

/* A file's bytes, or NULL (with a message) when it is not there. */
static uint8_t *load(const char *path, size_t *ret_size) {
        if (access(path, R_OK) < 0) {
                fprintf(stderr, "skipping %s: %m\n", path);
                return NULL;
        }
        return (uint8_t *) test_read_file(path, ret_size);
}

static EfiVariableList *parse(const uint8_t *data, size_t size) {
        EfiVariableList *l = NULL;
        Varstore layout = varstore_parse(data, size < VARSTORE_HEAD_MAX ? size : VARSTORE_HEAD_MAX, size);

        if (layout.format == VARSTORE_JSON)
                CHECK(efi_variables_parse_json((const char *) data, size, &l) == 0);
        else
                CHECK(efi_variables_parse_edk2(data, size, size, &l) == 0);
        return l;
}

/* The same variables in the same order, with everything a store keeps of them; JSON keeps no monotonic count
 * and no public key index. */
static void check_same(const EfiVariableList *a, const EfiVariableList *b, bool counts) {
        CHECK(a->n == b->n);
        for (size_t i = 0; i < a->n; i++) {
                const EfiVariable *x = &a->variables[i], *y = &b->variables[i];

                CHECK_STREQ(y->name, x->name);
                CHECK(efi_guid_equal(&x->guid, &y->guid));
                CHECK(x->attributes == y->attributes);
                CHECK(x->size == y->size && (x->size == 0 || memcmp(x->data, y->data, x->size) == 0));
                CHECK(memcmp(x->timestamp, y->timestamp, 16) == 0);
                if (counts)
                        CHECK(x->monotonic_count == y->monotonic_count && x->pubkey_index == y->pubkey_index);
        }
}

/* A store written into its own template's layout reads back as the same variables, and the volume header, the
 * store header and everything after the store are the template's bytes. */
static void roundtrip_edk2(const char *path) {
        _cleanup_(freep) uint8_t *data = NULL, *out = NULL;
        _cleanup_(efi_variable_list_freep) EfiVariableList *l = NULL, *back = NULL;
        EfiStoreSpace space;
        size_t size;

        data = load(path, &size);
        if (!data)
                return;
        l = parse(data, size);
        CHECK(!l->problems);
        CHECK(efi_store_write_edk2(data, size, l->variables, l->n, &out, &space) == 0);
        CHECK(space.needed <= l->store_used + 28 + 4 * l->n && space.available == l->store_size);
        back = parse(out, size);
        CHECK(!back->problems);
        check_same(l, back, true);
        CHECK(memcmp(out, data, l->store_offset + 28) == 0);
        CHECK(memcmp(out + l->store_offset + l->store_size, data + l->store_offset + l->store_size,
                     size - l->store_offset - l->store_size) == 0);
        for (uint64_t i = l->store_offset + space.needed; i < l->store_offset + l->store_size; i++)
                CHECK(out[i] == 0xff);
        fprintf(stderr, "%s: %zu variables, %" PRIu64 " of %" PRIu64 " bytes of the store written back\n", path,
                l->n, space.needed, space.available);
}

/* edk2 -> JSON -> edk2 gives the same variables. */
static void roundtrip_json(const char *path) {
        _cleanup_(freep) uint8_t *data = NULL, *out = NULL;
        _cleanup_(freep) char *json = NULL;
        _cleanup_(efi_variable_list_freep) EfiVariableList *l = NULL, *mid = NULL, *back = NULL;
        size_t size, json_size;

        data = load(path, &size);
        if (!data)
                return;
        l = parse(data, size);
        CHECK(efi_store_write_json(l->variables, l->n, &json, &json_size) == 0);
        CHECK(json_size == strlen(json));
        mid = parse((const uint8_t *) json, json_size);
        CHECK(mid->format == VARSTORE_JSON && !mid->problems);
        check_same(l, mid, false);
        CHECK(efi_store_write_edk2(data, size, mid->variables, mid->n, &out, NULL) == 0);
        back = parse(out, size);
        check_same(l, back, false);
}

static void test_roundtrip(void) {
        static const char *const debian[] = {
                "/usr/share/OVMF/OVMF_VARS.fd", "/usr/share/OVMF/OVMF_VARS.ms.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd",
                "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd",
                "/usr/share/OVMF/OVMF32_VARS_4M.fd", "/usr/share/AAVMF/AAVMF_VARS.ms.fd",
                "/usr/share/AAVMF/AAVMF_VARS.snakeoil.fd",
        };
        static const char *const ours[] = { "varstores/ovmf-2m-booted.fd", "varstores/ovmf-4m-ms-booted.fd" };

        for (size_t i = 0; i < ELEMENTSOF(debian); i++) {
                roundtrip_edk2(debian[i]);
                roundtrip_json(debian[i]);
                if (sid_root) {
                        _cleanup_(freep) char *p = path_join(sid_root, debian[i]);
                        roundtrip_edk2(p);
                        roundtrip_json(p);
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(ours); i++) {
                _cleanup_(freep) char *p = test_data_path(ours[i]);
                roundtrip_edk2(p);
                roundtrip_json(p);
        }
}

static ConvertResult *convert(const char *source_path, const char *template_path, ConvertKeys keys,
                              EfiVariableList **ret_source) {
        _cleanup_(freep) uint8_t *source = NULL, *template = NULL;
        _cleanup_(freep) char *error = NULL;
        ConvertResult *result = NULL;
        size_t source_size, template_size;

        source = load(source_path, &source_size);
        template = load(template_path, &template_size);
        if (!source || !template)
                return NULL;
        *ret_source = parse(source, source_size);
        CHECK(!(*ret_source)->problems);
        CHECK(varstore_convert(*ret_source, template, template_size, keys, &result, NULL, &error) == 0);
        CHECK(!error);
        return result;
}

/* Debian's 2 MiB to 4 MiB move: every variable of a booted 2 MiB store, boot entries and the user's own
 * included, lands in the 4 MiB layout; the template's variables the store lacks are kept. */
static void test_migrate_2m_to_4m(void) {
        _cleanup_(freep) char *source = test_data_path("varstores/ovmf-2m-booted.fd");
        _cleanup_(efi_variable_list_freep) EfiVariableList *src = NULL, *back = NULL;
        _cleanup_(convert_result_freep) ConvertResult *r = NULL;
        EfiGuid own;

        r = convert(source, "/usr/share/OVMF/OVMF_VARS_4M.fd", CONVERT_KEYS_KEEP, &src);
        if (!r)
                return;
        CHECK(r->size == 540672 && r->format == VARSTORE_EDK2_AUTHENTICATED);
        CHECK(r->carried == src->n && !r->dropped && !r->warnings && !r->added_certificates);
        back = parse(r->data, r->size);
        CHECK(!back->problems);
        CHECK(efi_guid_from_string("7e9a4a5f-7b55-4c59-9d59-3c3e1a1c0001", &own) == 0);
        for (size_t i = 0; i < src->n; i++) {
                const EfiVariable *v = &src->variables[i];
                const EfiVariable *w = efi_variable_list_find(back, v->name, &v->guid);

                CHECK(w && w->size == v->size && w->attributes == v->attributes);
                CHECK(v->size == 0 || memcmp(w->data, v->data, v->size) == 0);
        }
        CHECK(efi_variable_list_find(back, "FwrTest", &own));
        CHECK(efi_variable_list_find(back, "Boot0001", &efi_guid_global));
        CHECK(efi_variable_list_find(back, "BootOrder", &efi_guid_global));
        CHECK(r->bytes_used + r->bytes_free == 0x40000 - 0x48 && r->bytes_used > 28);
}

static bool has_warning(const VarstoreReport *r, const char *w) {
        return strv_contains(r->warnings, w);
}

/* update-keys: Debian 12's enrolled store given the 2023 certificates of the 2026.08 template. */
static void test_add_missing(void) {
        _cleanup_(freep) char *template = NULL;
        _cleanup_(freep) char *source = test_data_path("varstores/ovmf-4m-ms-booted.fd");
        _cleanup_(efi_variable_list_freep) EfiVariableList *src = NULL;
        _cleanup_(convert_result_freep) ConvertResult *r = NULL;
        _cleanup_(varstore_report_freep) VarstoreReport *before = NULL, *after = NULL;
        _cleanup_(freep) uint8_t *data = NULL;
        size_t size;
        static const char *const added[] = { "microsoft-kek-2023", "windows-uefi-ca-2023",
                                             "microsoft-uefi-ca-2023", "microsoft-option-rom-ca-2023" };

        if (!sid_root)
                return;
        template = path_join(sid_root, "usr/share/OVMF/OVMF_VARS_4M.ms.fd");
        r = convert(source, template, CONVERT_KEYS_ADD_MISSING, &src);
        if (!r)
                return;
        CHECK(strv_length(r->added_certificates) == ELEMENTSOF(added));
        for (size_t i = 0; i < ELEMENTSOF(added); i++)
                CHECK(strv_contains(r->added_certificates, added[i]));
        CHECK(strv_contains(r->warnings, "pcr7-changes"));
        CHECK(r->carried == src->n && !r->dropped);

        data = load(source, &size);
        CHECK(varstore_report_parse(data, size, size, NOW, &before) == 0);
        CHECK(varstore_report_parse(r->data, r->size, r->size, NOW, &after) == 0);
        CHECK(!after->problems);
        CHECK(has_warning(before, "kek-2011-only") && has_warning(before, "db-2011-only"));
        CHECK(!has_warning(after, "kek-2011-only") && !has_warning(after, "db-2011-only"));
        CHECK(after->secure_boot == before->secure_boot && after->secure_boot == SECURE_BOOT_ENFORCING);
        CHECK(after->n_dbx > before->n_dbx);
        /* PK and every variable but KEK, db and dbx as they were */
        for (size_t i = 0; i < src->n; i++) {
                const EfiVariable *v = &src->variables[i];
                const EfiVariable *w = efi_variable_list_find(after->variables, v->name, &v->guid);
                bool keys = streq(v->name, "KEK") || streq(v->name, "db") || streq(v->name, "dbx");

                CHECK(w);
                if (!keys)
                        CHECK(w->size == v->size && (v->size == 0 || memcmp(w->data, v->data, v->size) == 0));
                else
                        CHECK(w->size > v->size && memcmp(w->data, v->data, v->size) == 0);   /* appended */
        }
        fprintf(stderr, "add-missing: %zu certificates added, dbx %zu -> %zu entries\n",
                strv_length(r->added_certificates), before->n_dbx, after->n_dbx);

        /* a second pass has nothing left to add */
        {
                _cleanup_(efi_variable_list_freep) EfiVariableList *again_src = parse(r->data, r->size);
                _cleanup_(convert_result_freep) ConvertResult *again = NULL;
                _cleanup_(freep) uint8_t *t = NULL;
                size_t ts;

                t = load(template, &ts);
                CHECK(varstore_convert(again_src, t, ts, CONVERT_KEYS_ADD_MISSING, &again, NULL, NULL) == 0);
                CHECK(!again->added_certificates && !again->warnings);
        }
}

/* keys=template: the template's PK, KEK, db and dbx replace the store's, and say so. */
static void test_keys_template(void) {
        _cleanup_(freep) char *source = test_data_path("varstores/ovmf-2m-booted.fd");
        _cleanup_(efi_variable_list_freep) EfiVariableList *src = NULL, *back = NULL, *tmpl = NULL;
        _cleanup_(convert_result_freep) ConvertResult *r = NULL;
        _cleanup_(freep) uint8_t *t = NULL;
        size_t ts;

        r = convert(source, "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", CONVERT_KEYS_TEMPLATE, &src);
        if (!r)
                return;
        t = load("/usr/share/OVMF/OVMF_VARS_4M.ms.fd", &ts);
        tmpl = parse(t, ts);
        back = parse(r->data, r->size);
        for (const char *const *n = (const char *const[]) { "PK", "KEK", NULL }; *n; n++) {
                const EfiVariable *a = efi_variable_list_find(tmpl, *n, &efi_guid_global);
                const EfiVariable *b = efi_variable_list_find(back, *n, &efi_guid_global);
                CHECK(a && b && a->size == b->size && memcmp(a->data, b->data, a->size) == 0);
        }
        CHECK(strv_contains(r->warnings, "pcr7-changes"));
        CHECK(r->dropped && strstr(r->dropped[0], "replaced by the template's"));
}

/* Variables that do not fit: -ENOSPC with both counts, nothing handed back. */
static void test_no_space(void) {
        _cleanup_(freep) char *source = test_data_path("varstores/ovmf-2m-booted.fd");
        _cleanup_(freep) uint8_t *data = NULL, *template = NULL;
        _cleanup_(efi_variable_list_freep) EfiVariableList *src = NULL;
        _cleanup_(convert_result_freep) ConvertResult *r = NULL;
        EfiVariable *big;
        EfiStoreSpace space = {};
        size_t size, ts;

        data = load(source, &size);
        template = load("/usr/share/OVMF/OVMF_VARS.fd", &ts);
        if (!template)
                return;
        src = parse(data, size);
        CHECK(src->variables = reallocarray(src->variables, src->n + 1, sizeof(EfiVariable)));
        big = &src->variables[src->n++];
        *big = (EfiVariable) { .name = strdup("Big"), .guid = efi_guid_global, .attributes = 7, .size = 0x10000 };
        CHECK(big->name && (big->data = calloc(1, big->size)));
        CHECK(varstore_convert(src, template, ts, CONVERT_KEYS_KEEP, &r, &space, NULL) == -ENOSPC);
        CHECK(!r && space.needed > space.available && space.available == 0xdfb8);
        fprintf(stderr, "no space: %" PRIu64 " bytes needed, %" PRIu64 " in the store\n", space.needed,
                space.available);
}

int main(void) {
        sid_root = fetch_sid();
        RUN(test_roundtrip);
        RUN(test_migrate_2m_to_4m);
        RUN(test_add_missing);
        RUN(test_keys_template);
        RUN(test_no_space);
        free(sid_root);
        return 0;
}
