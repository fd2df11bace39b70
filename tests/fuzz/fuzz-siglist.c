/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Signature lists as a PK, KEK, db or dbx variable holds them, each X.509 entry read as the report would, and
 * compared with what OpenSSL's whole-certificate parser says of the same bytes when both read it. */

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <time.h>

#include "efi/certificate.h"
#include "efi/siglist.h"
#include "fuzz-efi.h"
#include "fuzz.h"

static char *name(const X509_NAME *n) {
        BIO *b = BIO_new(BIO_s_mem());
        char *p, *s = NULL;
        long k;

        assert(b);
        if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0 && (k = BIO_get_mem_data(b, &p)) >= 0)
                s = strndup(p, (size_t) k);
        BIO_free(b);
        return s;
}

static uint64_t epoch(const ASN1_TIME *t) {
        struct tm tm = {};
        time_t s;

        assert(ASN1_TIME_to_tm(t, &tm) == 1);
        s = timegm(&tm);
        return s > 0 ? (uint64_t) s : 0;
}

/* The report's reading of a certificate against d2i_X509()'s, where both read it. */
static void compare_with_openssl(const EfiCertificate *c, const uint8_t *der, size_t n) {
        const uint8_t *p = der;
        X509 *x = d2i_X509(NULL, &p, (long) n);
        uint8_t digest[32];
        char *subject, *issuer, *serial;
        BIGNUM *bn;

        if (!x) {
                ERR_clear_error();
                return;
        }
        subject = name(X509_get_subject_name(x));
        issuer = name(X509_get_issuer_name(x));
        bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
        serial = BN_bn2hex(bn);
        assert(EVP_Digest(der, (size_t) (p - der), digest, NULL, EVP_sha256(), NULL) == 1);
        assert(memcmp(digest, c->sha256, 32) == 0);
        assert(subject && streq(subject, c->subject) && issuer && streq(issuer, c->issuer));
        assert(serial && streq(serial, c->serial));
        assert(epoch(X509_get0_notBefore(x)) == c->not_before && epoch(X509_get0_notAfter(x)) == c->not_after);
        free(subject);
        free(issuer);
        OPENSSL_free(serial);
        BN_free(bn);
        X509_free(x);
        ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(efi_problems_done) EfiProblems problems = {};
        _cleanup_(freep) EfiSignature *s = NULL;
        size_t n;

        if (size > FUZZ_INPUT_MAX)
                return 0;
        assert(efi_signature_lists_parse(data, size, "db", &problems, &s, &n) == 0);
        assert(n <= EFI_SIGNATURES_MAX);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(efi_certificate_done) EfiCertificate c = {};
                _cleanup_(freep) char *error = NULL;
                int r;

                assert(s[i].data >= data && s[i].size <= size && (size_t) (s[i].data - data) <= size - s[i].size);
                assert(s[i].offset == (size_t) (s[i].data - data) - 16);
                if (!efi_guid_equal(&s[i].type, &efi_guid_cert_x509))
                        continue;
                r = efi_certificate_parse(s[i].data, s[i].size, &c, &error);
                assert(r == 0 || r == -EBADMSG);
                if (r == 0) {
                        assert(utf8_is_valid(c.subject) && utf8_is_valid(c.issuer) && certificate_id_is_valid(c.id));
                        compare_with_openssl(&c, s[i].data, s[i].size);
                } else
                        assert(error && utf8_is_valid(error));
        }
        fuzz_check_strv(problems.list, EFI_PROBLEMS_MAX);
        return 0;
}
