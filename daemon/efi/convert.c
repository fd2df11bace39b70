/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>

#include "certificate.h"
#include "convert.h"
#include "siglist.h"

#define EFI_VARIABLE_NON_VOLATILE 0x1U
#define SIGNATURE_LIST_HEADER_SIZE 28U          /* type GUID, ListSize, HeaderSize, SignatureSize */

static const EfiGuid guid_custom_mode = { {     /* c076ec0c-7028-4399-a072-71ee5c448b9f */
        0x0c, 0xec, 0x76, 0xc0, 0x28, 0x70, 0x99, 0x43, 0xa0, 0x72, 0x71, 0xee, 0x5c, 0x44, 0x8b, 0x9f,
} };

const char *convert_keys_to_string(ConvertKeys k) {
        static const char *const table[_CONVERT_KEYS_MAX] = {
                [CONVERT_KEYS_KEEP] = "keep",
                [CONVERT_KEYS_TEMPLATE] = "template",
                [CONVERT_KEYS_ADD_MISSING] = "add-missing",
        };
        return k >= 0 && k < _CONVERT_KEYS_MAX ? table[k] : NULL;
}

ConvertKeys convert_keys_from_string(const char *s) {
        for (int k = 0; s && k < _CONVERT_KEYS_MAX; k++)
                if (streq(convert_keys_to_string(k), s))
                        return k;
        return _CONVERT_KEYS_INVALID;
}

ConvertResult *convert_result_free(ConvertResult *r) {
        if (!r)
                return NULL;
        free(r->data);
        strv_free(r->added_certificates);
        strv_free(r->dropped);
        strv_free(r->warnings);
        efi_variable_list_free(r->variables);
        free(r);
        return NULL;
}

/* The databases whose certificates decide what a guest trusts, and so what PCR 7 measures. */
typedef enum KeyVariable {
        KEY_PK,
        KEY_KEK,
        KEY_DB,
        KEY_DBX,
        KEY_SECURE_BOOT_ENABLE,
        KEY_CUSTOM_MODE,
        _KEY_VARIABLE_MAX,
        _KEY_VARIABLE_INVALID = -EINVAL,
} KeyVariable;

static KeyVariable key_variable(const EfiVariable *v) {
        if (efi_guid_equal(&v->guid, &efi_guid_global)) {
                if (streq(v->name, "PK"))
                        return KEY_PK;
                if (streq(v->name, "KEK"))
                        return KEY_KEK;
        } else if (efi_guid_equal(&v->guid, &efi_guid_image_security)) {
                if (streq(v->name, "db"))
                        return KEY_DB;
                if (streq(v->name, "dbx"))
                        return KEY_DBX;
        } else if (efi_guid_equal(&v->guid, &efi_guid_secure_boot_enable) && streq(v->name, "SecureBootEnable"))
                return KEY_SECURE_BOOT_ENABLE;
        else if (efi_guid_equal(&v->guid, &guid_custom_mode) && streq(v->name, "CustomMode"))
                return KEY_CUSTOM_MODE;
        return _KEY_VARIABLE_INVALID;
}

static int variable_copy(const EfiVariable *v, EfiVariable *ret) {
        EfiVariable c = *v;

        c.name = strdup(v->name);
        c.data = NULL;
        if (!c.name)
                return -ENOMEM;
        if (v->size > 0) {
                c.data = malloc(v->size);
                if (!c.data) {
                        free(c.name);
                        return -ENOMEM;
                }
                memcpy(c.data, v->data, v->size);
        }
        c.state = EFI_VARIABLE_ADDED;
        *ret = c;
        return 0;
}

static int list_append(EfiVariableList *l, const EfiVariable *v) {
        EfiVariable *grown;

        if (l->n >= EFI_VARIABLES_MAX)
                return -E2BIG;
        grown = reallocarray(l->variables, l->n + 1, sizeof(EfiVariable));
        if (!grown)
                return -ENOMEM;
        l->variables = grown;
        return variable_copy(v, &l->variables[l->n++]);
}

static int drop(ConvertResult *r, const EfiVariable *v, const char *why) {
        char guid[EFI_GUID_STRING_MAX];

        return strv_consume(&r->dropped, strdup_printf("%s-%s: %s", v->name, efi_guid_to_string(&v->guid, guid),
                                                       why));
}

/* Whether EFI_TIME a is later than b, field by field (year, month, day, hour, minute, second, nanosecond). */
static bool efi_time_later(const uint8_t a[static 16], const uint8_t b[static 16]) {
        uint32_t ya = (uint32_t) (a[0] | a[1] << 8), yb = (uint32_t) (b[0] | b[1] << 8);
        uint32_t na = (uint32_t) a[8] | (uint32_t) a[9] << 8 | (uint32_t) a[10] << 16 | (uint32_t) a[11] << 24;
        uint32_t nb = (uint32_t) b[8] | (uint32_t) b[9] << 8 | (uint32_t) b[10] << 16 | (uint32_t) b[11] << 24;

        if (ya != yb)
                return ya > yb;
        for (int i = 2; i < 7; i++)
                if (a[i] != b[i])
                        return a[i] > b[i];
        return na > nb;
}

/* The signature entries of a database variable, each with the known certificate it is (or NULL). */
typedef struct Entries {
        EfiSignature *sig;
        const KnownCertificate **known;
        size_t n;
} Entries;

static void entries_done(Entries *e) {
        free(e->sig);
        free(e->known);
        *e = (Entries) {};
}

static int entries_read(const EfiVariable *v, Entries *ret) {
        _cleanup_(efi_problems_done) EfiProblems problems = {};
        Entries e = {};
        int r;

        if (!v) {
                *ret = e;
                return 0;
        }
        r = efi_signature_lists_parse(v->data, v->size, v->name, &problems, &e.sig, &e.n);
        if (r < 0)
                return r;
        e.known = calloc(e.n ? e.n : 1, sizeof(KnownCertificate *));
        if (!e.known) {
                free(e.sig);
                return -ENOMEM;
        }
        for (size_t i = 0; i < e.n; i++) {
                EfiCertificate c;

                if (!efi_guid_equal(&e.sig[i].type, &efi_guid_cert_x509) ||
                    efi_certificate_parse(e.sig[i].data, e.sig[i].size, &c, NULL) < 0)
                        continue;
                e.known[i] = c.known;
                efi_certificate_done(&c);
        }
        *ret = e;
        return 0;
}

static bool entries_have_known(const Entries *e, const KnownCertificate *k) {
        for (size_t i = 0; i < e->n; i++)
                if (e->known[i] == k)
                        return true;
        return false;
}

static bool entries_have(const Entries *e, const EfiSignature *s) {
        for (size_t i = 0; i < e->n; i++)
                if (efi_guid_equal(&e->sig[i].type, &s->type) && e->sig[i].size == s->size &&
                    memcmp(e->sig[i].data, s->data, s->size) == 0)
                        return true;
        return false;
}

/* Appends the signature entries at add (n of them) to v's data as signature lists, one list for each run of
 * entries of the same type and size. Returns 0, -E2BIG past a variable's bounds, or -ENOMEM. */
static int append_signatures(EfiVariable *v, const EfiSignature *const *add, size_t n) {
        size_t extra = 0;
        uint8_t *data, *p;

        for (size_t i = 0; i < n; i++) {
                bool new_list = i == 0 || !efi_guid_equal(&add[i]->type, &add[i - 1]->type) ||
                                add[i]->size != add[i - 1]->size;
                extra += (new_list ? SIGNATURE_LIST_HEADER_SIZE : 0) + 16 + add[i]->size;
        }
        if (extra == 0)
                return 0;
        if (v->size + extra > UINT32_MAX / 2)
                return -E2BIG;
        data = realloc(v->data, v->size + extra);
        if (!data)
                return -ENOMEM;
        v->data = data;
        p = data + v->size;
        for (size_t i = 0, j; i < n; i = j) {
                uint32_t count, entry = (uint32_t) (16 + add[i]->size), list;

                for (j = i + 1; j < n && efi_guid_equal(&add[j]->type, &add[i]->type) && add[j]->size == add[i]->size;
                     j++)
                        ;
                count = (uint32_t) (j - i);
                list = SIGNATURE_LIST_HEADER_SIZE + count * entry;
                memcpy(p, add[i]->type.bytes, 16);
                for (int b = 0; b < 4; b++) {
                        p[16 + b] = (uint8_t) (list >> (8 * b));
                        p[20 + b] = 0;
                        p[24 + b] = (uint8_t) (entry >> (8 * b));
                }
                p += SIGNATURE_LIST_HEADER_SIZE;
                for (size_t k = i; k < j; k++) {
                        memcpy(p, add[k]->owner.bytes, 16);
                        memcpy(p + 16, add[k]->data, add[k]->size);
                        p += entry;
                }
        }
        v->size += extra;
        return 0;
}

/* add-missing for KEK or db: the successor in the template of each known certificate the VM trusts there,
 * where the VM lacks it. Returns 0 or a negative errno. */
static int add_successors(EfiVariable *v, const EfiVariable *template, ConvertResult *result) {
        _cleanup_(entries_done) Entries have = {}, offered = {};
        _cleanup_(freep) const EfiSignature **add = NULL;
        size_t n_add = 0;
        int r;

        r = entries_read(v, &have);
        if (r < 0)
                return r;
        r = entries_read(template, &offered);
        if (r < 0)
                return r;
        add = calloc(offered.n ? offered.n : 1, sizeof(EfiSignature *));
        if (!add)
                return -ENOMEM;
        for (size_t i = 0; i < offered.n; i++) {
                const KnownCertificate *k = offered.known[i], *old;

                if (!k || !k->succeeds || entries_have_known(&have, k))
                        continue;
                old = known_certificate_by_id(k->succeeds);
                if (!old || !entries_have_known(&have, old))
                        continue;
                add[n_add++] = &offered.sig[i];
                r = strv_extend(&result->added_certificates, k->id);
                if (r < 0)
                        return r;
        }
        r = append_signatures(v, add, n_add);
        if (r < 0)
                return r;
        if (n_add > 0 && efi_time_later(template->timestamp, v->timestamp))
                memcpy(v->timestamp, template->timestamp, sizeof(v->timestamp));
        return 0;
}

/* add-missing for dbx: every entry of the template's that the VM's lacks. Returns 0 or a negative errno. */
static int add_revocations(EfiVariable *v, const EfiVariable *template) {
        _cleanup_(entries_done) Entries have = {}, offered = {};
        _cleanup_(freep) const EfiSignature **add = NULL;
        size_t n_add = 0;
        int r;

        r = entries_read(v, &have);
        if (r < 0)
                return r;
        r = entries_read(template, &offered);
        if (r < 0)
                return r;
        add = calloc(offered.n ? offered.n : 1, sizeof(EfiSignature *));
        if (!add)
                return -ENOMEM;
        for (size_t i = 0; i < offered.n; i++)
                if (!entries_have(&have, &offered.sig[i]))
                        add[n_add++] = &offered.sig[i];
        r = append_signatures(v, add, n_add);
        if (r < 0)
                return r;
        if (n_add > 0 && efi_time_later(template->timestamp, v->timestamp))
                memcpy(v->timestamp, template->timestamp, sizeof(v->timestamp));
        return 0;
}

static const EfiVariable *find_key(const EfiVariableList *l, KeyVariable k) {
        for (size_t i = 0; l && i < l->n; i++)
                if (key_variable(&l->variables[i]) == k)
                        return &l->variables[i];
        return NULL;
}

static EfiVariable *find_key_mutable(EfiVariableList *l, KeyVariable k) {
        return (EfiVariable *) find_key(l, k);
}

/* The source's variables that go into the new store, in the source's order. */
static int take_source(const EfiVariableList *source, ConvertKeys keys, EfiVariableList *out, ConvertResult *result) {
        int r;

        for (size_t i = 0; i < source->n; i++) {
                const EfiVariable *v = &source->variables[i];

                if (!(v->attributes & EFI_VARIABLE_NON_VOLATILE))
                        r = drop(result, v, "not non-volatile, so not kept in a store");
                else if (keys == CONVERT_KEYS_TEMPLATE && key_variable(v) >= 0)
                        r = drop(result, v, "replaced by the template's (keys=template)");
                else {
                        r = list_append(out, v);
                        result->carried += r >= 0;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The template's variables that go into the new store: its Secure Boot variables for keys=template, and
 * every other one the source lacks. */
static int take_template(const EfiVariableList *template, const EfiVariableList *source, ConvertKeys keys,
                         EfiVariableList *out) {
        int r;

        for (size_t i = 0; i < template->n; i++) {
                const EfiVariable *v = &template->variables[i];
                bool key = key_variable(v) >= 0;

                if (key ? keys != CONVERT_KEYS_TEMPLATE : !!efi_variable_list_find(source, v->name, &v->guid))
                        continue;
                r = list_append(out, v);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_missing(EfiVariableList *out, const EfiVariableList *template, ConvertResult *result) {
        const EfiVariable *t;
        EfiVariable *v;
        int r;

        for (KeyVariable k = KEY_KEK; k <= KEY_DB; k++) {
                v = find_key_mutable(out, k);
                t = find_key(template, k);
                if (v && t) {
                        r = add_successors(v, t, result);
                        if (r < 0)
                                return r;
                }
        }
        t = find_key(template, KEY_DBX);
        if (!t)
                return 0;
        v = find_key_mutable(out, KEY_DBX);
        if (!v)
                return list_append(out, t);     /* a VM without a dbx gets the template's whole */
        return add_revocations(v, t);
}

static bool same_variable(const EfiVariable *a, const EfiVariable *b) {
        if (!a || !b)
                return !a && !b;
        return a->size == b->size && (a->size == 0 || memcmp(a->data, b->data, a->size) == 0);
}

static int read_template(const uint8_t *template, size_t size, EfiVariableList **ret) {
        Varstore layout = varstore_parse(template, size < VARSTORE_HEAD_MAX ? size : VARSTORE_HEAD_MAX, size);

        if (varstore_is_edk2(&layout))
                return efi_variables_parse_edk2(template, size, size, ret);
        if (layout.format == VARSTORE_JSON)
                return efi_variables_parse_json((const char *) template, size, ret);
        return -EINVAL;
}

static int write_store(ConvertResult *result, const uint8_t *template, size_t template_size,
                       EfiStoreSpace *ret_space) {
        EfiVariableList *out = result->variables;
        EfiStoreSpace space = {};
        int r;

        if (out->format == VARSTORE_JSON) {
                char *text;

                r = efi_store_write_json(out->variables, out->n, &text, &result->size);
                if (r < 0)
                        return r;
                result->data = (uint8_t *) text;
                result->bytes_used = result->size;
                return 0;
        }
        r = efi_store_write_edk2(template, template_size, out->variables, out->n, &result->data, &space);
        if (ret_space)
                *ret_space = space;
        if (r < 0)
                return r;
        result->size = template_size;
        result->bytes_used = space.needed;
        result->bytes_free = space.available - space.needed;
        return 0;
}

int varstore_convert(const EfiVariableList *source, const uint8_t *template, size_t template_size, ConvertKeys keys,
                     ConvertResult **ret, EfiStoreSpace *ret_space, char **ret_error) {
        _cleanup_(efi_variable_list_freep) EfiVariableList *tvars = NULL;
        _cleanup_(convert_result_freep) ConvertResult *result = NULL;
        int r;

        r = read_template(template, template_size, &tvars);
        if (r == -EINVAL && ret_error)
                *ret_error = strdup("the template is neither an edk2 variable store nor a JSON store");
        if (r < 0)
                return r;
        if (tvars->problems) {
                if (ret_error)
                        *ret_error = strdup_printf("the template cannot be read: %s", tvars->problems[0]);
                return -EINVAL;
        }

        result = calloc(1, sizeof(ConvertResult));
        if (!result)
                return -ENOMEM;
        result->variables = calloc(1, sizeof(EfiVariableList));
        if (!result->variables)
                return -ENOMEM;
        result->format = result->variables->format = tvars->format;

        r = take_source(source, keys, result->variables, result);
        if (r >= 0)
                r = take_template(tvars, source, keys, result->variables);
        if (r >= 0 && keys == CONVERT_KEYS_ADD_MISSING)
                r = add_missing(result->variables, tvars, result);
        if (r == -E2BIG && ret_error)
                *ret_error = strdup_printf("more than %u variables, or a database past its bounds",
                                           EFI_VARIABLES_MAX);
        if (r < 0)
                return r;

        for (KeyVariable k = KEY_PK; k <= KEY_DBX; k++)
                if (!same_variable(find_key(source, k), find_key(result->variables, k))) {
                        r = strv_extend(&result->warnings, "pcr7-changes");
                        if (r < 0)
                                return r;
                        break;
                }

        r = write_store(result, template, template_size, ret_space);
        if (r == -EINVAL && ret_error)
                *ret_error = strdup("a variable name cannot be written as UTF-16");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(result);
        return 0;
}
