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

static void x509_freep(X509 **x) {
        X509_free(*x);
}

static void bio_freep(BIO **b) {
        BIO_free(*b);
}

void efi_certificate_done(EfiCertificate *c) {
        free(c->subject);
        free(c->issuer);
        free(c->serial);
        *c = (EfiCertificate) {};
}

/* A name in RFC 2253 form: escaped to ASCII (multi-byte and control characters as \XX). Returns 0, -EBADMSG
 * when OpenSSL cannot print it, or -ENOMEM. */
static int name_to_string(const X509_NAME *name, char **ret) {
        _cleanup_(bio_freep) BIO *b = BIO_new(BIO_s_mem());
        char *p;
        long n;

        if (!b)
                return -ENOMEM;
        if (!name || X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) < 0)
                return -EBADMSG;
        n = BIO_get_mem_data(b, &p);
        if (n < 0)
                return -EBADMSG;
        *ret = strndup(p, (size_t) n);
        return *ret ? 0 : -ENOMEM;
}

static char *serial_to_string(const ASN1_INTEGER *serial) {
        BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
        char *h = bn ? BN_bn2hex(bn) : NULL, *s = h ? strdup(h) : NULL;

        OPENSSL_free(h);
        BN_free(bn);
        return s;
}

/* Seconds since the epoch, 0 for a time before it; false for a time OpenSSL cannot read. */
static bool time_to_epoch(const ASN1_TIME *t, uint64_t *ret) {
        struct tm tm = {};
        time_t s;

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
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
        _cleanup_(x509_freep) X509 *x = NULL;
        const uint8_t *p = der;
        int r;

        if (n > EFI_CERTIFICATE_SIZE_MAX) {
                if (ret_error && !(*ret_error = strdup_printf("certificate of %zu bytes, more than %u", n,
                                                              EFI_CERTIFICATE_SIZE_MAX)))
                        return -ENOMEM;
                return -EBADMSG;
        }
        x = d2i_X509(NULL, &p, (long) n);
        if (!x)
                return set_error(ret_error, "not an X.509 certificate in DER");
        /* the digest covers the DER only, as 'openssl x509 -outform DER' writes it */
        if (EVP_Digest(der, (size_t) (p - der), c.sha256, NULL, EVP_sha256(), NULL) != 1)
                return set_error(ret_error, "SHA-256 failed");
        if (!time_to_epoch(X509_get0_notBefore(x), &c.not_before) ||
            !time_to_epoch(X509_get0_notAfter(x), &c.not_after))
                return set_error(ret_error, "validity dates not readable");
        r = name_to_string(X509_get_subject_name(x), &c.subject);
        if (r >= 0)
                r = name_to_string(X509_get_issuer_name(x), &c.issuer);
        if (r == -EBADMSG)
                return set_error(ret_error, "names not printable");
        if (r < 0)
                return r;
        c.serial = serial_to_string(X509_get0_serialNumber(x));
        if (!c.serial)
                return set_error(ret_error, "serial not readable");
        ERR_clear_error();
        c.known = known_certificate_by_sha256(c.sha256);
        certificate_id(c.sha256, c.id);
        *ret = c;
        c = (EfiCertificate) {};
        return 0;
}
