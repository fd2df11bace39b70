/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <time.h>

#include "util/util.h"
#include "certificate.h"
#include "cursor.h"

static void bio_freep(BIO **b) {
        BIO_free(*b);
}

void efi_certificate_done(EfiCertificate *c) {
        free(c->subject);
        free(c->issuer);
        free(c->serial);
        *c = (EfiCertificate) {};
}

/* The Name element at c in RFC 2253 form: escaped to ASCII (multi-byte and control characters as \XX). Returns
 * 0, -EBADMSG when OpenSSL cannot read or print it, or -ENOMEM. */
static int name_to_string(const Cursor *c, char **ret) {
        _cleanup_(bio_freep) BIO *b = BIO_new(BIO_s_mem());
        const uint8_t *der = c->p;
        X509_NAME *name;
        char *p;
        long n;
        int r;

        if (!b)
                return -ENOMEM;
        name = d2i_X509_NAME(NULL, &der, (long) c->left);
        r = name && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0 ? 0 : -EBADMSG;
        X509_NAME_free(name);
        if (r < 0)
                return r;
        n = BIO_get_mem_data(b, &p);
        if (n < 0)
                return -EBADMSG;
        *ret = strndup(p, (size_t) n);
        return *ret ? 0 : -ENOMEM;
}

/* One DER element at the cursor with the tag wanted: definite lengths of at most four bytes, in their shortest
 * form, as DER has them. Returns false, and moves nowhere, when it is not one or does not fit. The element whole
 * (tag, length, contents) goes to ret_element, its contents to ret_contents; either may be NULL. */
static bool der_element(Cursor *c, uint8_t tag, Cursor *ret_element, Cursor *ret_contents) {
        Cursor saved = *c, element = *c, contents;
        uint8_t t, first, b;
        size_t length;

        if (!cursor_u8(c, &t) || t != tag || !cursor_u8(c, &first) || first == 0x80 || first > 0x84)
                goto fail;
        length = first;
        if (first > 0x80) {
                length = 0;
                for (unsigned i = 0; i < (first & 0x7fU); i++) {
                        if (!cursor_u8(c, &b) || (i == 0 && b == 0))
                                goto fail;
                        length = length << 8 | b;
                }
                if (length < 0x80)
                        goto fail;
        }
        if (!cursor_sub(c, length, &contents))
                goto fail;
        element.left = c->offset - saved.offset;
        if (ret_element)
                *ret_element = element;
        if (ret_contents)
                *ret_contents = contents;
        return true;
fail:
        *c = saved;
        return false;
}

/* Where the fields a report shows lie in a certificate (RFC 5280: Certificate, TBSCertificate, Validity). */
typedef struct CertificateFields {
        Cursor whole, serial, issuer, not_before, not_after, subject;
} CertificateFields;

static bool der_time(Cursor *c, Cursor *ret) {
        return der_element(c, 0x17, ret, NULL) || der_element(c, 0x18, ret, NULL);      /* UTCTime, GeneralizedTime */
}

static bool find_fields(const uint8_t *der, size_t n, CertificateFields *ret) {
        Cursor c = cursor_make(der, n, 0), certificate, tbs, validity;
        CertificateFields f = {};

        if (!der_element(&c, 0x30, &f.whole, &certificate) || !der_element(&certificate, 0x30, NULL, &tbs))
                return false;
        (void) der_element(&tbs, 0xa0, NULL, NULL);                     /* version, v1 when absent */
        if (!der_element(&tbs, 0x02, &f.serial, NULL) || !der_element(&tbs, 0x30, NULL, NULL) ||
            !der_element(&tbs, 0x30, &f.issuer, NULL) || !der_element(&tbs, 0x30, NULL, &validity) ||
            !der_time(&validity, &f.not_before) || !der_time(&validity, &f.not_after) || validity.left != 0 ||
            !der_element(&tbs, 0x30, &f.subject, NULL) || !der_element(&tbs, 0x30, NULL, NULL))
                return false;
        /* the signature algorithm and the signature, and nothing after them */
        if (!der_element(&certificate, 0x30, NULL, NULL) || !der_element(&certificate, 0x03, NULL, NULL) ||
            certificate.left != 0)
                return false;
        *ret = f;
        return true;
}

static char *serial_to_string(const Cursor *c) {
        const uint8_t *p = c->p;
        ASN1_INTEGER *serial = d2i_ASN1_INTEGER(NULL, &p, (long) c->left);
        BIGNUM *bn = serial ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
        char *h = bn ? BN_bn2hex(bn) : NULL, *s = h ? strdup(h) : NULL;

        OPENSSL_free(h);
        BN_free(bn);
        ASN1_INTEGER_free(serial);
        return s;
}

/* Seconds since the epoch, 0 for a time before it; false for a time OpenSSL cannot read. */
static bool time_to_epoch(const Cursor *c, uint64_t *ret) {
        const uint8_t *p = c->p;
        ASN1_TIME *t = d2i_ASN1_TIME(NULL, &p, (long) c->left);
        struct tm tm = {};
        bool ok = t && ASN1_TIME_to_tm(t, &tm) == 1;
        time_t s;

        ASN1_TIME_free(t);
        if (!ok)
                return false;
        s = timegm(&tm);
        *ret = s > 0 ? (uint64_t) s : 0;
        return true;
}

static int set_error(char **ret_error, const char *what) {
        unsigned long e = ERR_peek_last_error();
        const char *reason = e ? ERR_reason_error_string(e) : NULL;

        ERR_clear_error();      /* the queue is per thread, and the next certificate starts afresh */
        if (ret_error) {
                *ret_error = strdup_printf("%s%s%s", what, reason ? ": " : "", strempty(reason));
                if (!*ret_error)
                        return -ENOMEM;
        }
        return -EBADMSG;
}

int efi_certificate_parse(const uint8_t *der, size_t n, EfiCertificate *ret, char **ret_error) {
        _cleanup_(efi_certificate_done) EfiCertificate c = {};
        CertificateFields f;
        int r;

        if (n > EFI_CERTIFICATE_SIZE_MAX) {
                if (ret_error && !(*ret_error = strdup_printf("certificate of %zu bytes, more than %u", n,
                                                              EFI_CERTIFICATE_SIZE_MAX)))
                        return -ENOMEM;
                return -EBADMSG;
        }
        /* OpenSSL's d2i_X509() would decode the public key too, which costs ten times what the rest does */
        if (!find_fields(der, n, &f))
                return set_error(ret_error, "not an X.509 certificate in DER");
        /* the digest covers the DER only, as 'openssl x509 -outform DER' writes it */
        if (EVP_Digest(f.whole.p, f.whole.left, c.sha256, NULL, EVP_sha256(), NULL) != 1)
                return set_error(ret_error, "SHA-256 failed");
        if (!time_to_epoch(&f.not_before, &c.not_before) || !time_to_epoch(&f.not_after, &c.not_after))
                return set_error(ret_error, "validity dates not readable");
        r = name_to_string(&f.subject, &c.subject);
        if (r >= 0)
                r = name_to_string(&f.issuer, &c.issuer);
        if (r == -EBADMSG)
                return set_error(ret_error, "names not readable");
        if (r < 0)
                return r;
        c.serial = serial_to_string(&f.serial);
        if (!c.serial)
                return set_error(ret_error, "serial not readable");
        ERR_clear_error();
        c.known = known_certificate_by_sha256(c.sha256);
        certificate_id(c.sha256, c.id);
        *ret = c;
        c = (EfiCertificate) {};
        return 0;
}
