/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>

#include "util/util.h"
#include "known-certificates.h"

/* Each line is a certificate as it lies in the PK, KEK or db of the Debian templates named: the unit test
 * 'Varstore contents' finds it there and checks digest, subject and expiry. Successors are what DESIGN
 * section 11 adds with keys=add-missing. */
const KnownCertificate known_certificates[] = {
        /* KEK of every Microsoft-enrolled template: Debian 12's OVMF_VARS_4M.ms.fd, OVMF_VARS.ms.fd, AAVMF */
        { "microsoft-kek-2011", "a1117f516a32cefcba3f2d1ace10a87972fd6bbe8fe0d0b996e09e65d802a503",
          "CN=Microsoft Corporation KEK CA 2011,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US",
          1782334289 /* 2026-06-24 20:51:29 */, NULL },
        /* KEK of ovmf-generic 2026.08's OVMF_VARS_4M.ms.fd and qemu-efi-aarch64 2026.08's AAVMF_VARS.ms.fd */
        { "microsoft-kek-2023", "3cd3f0309edae228767a976dd40d9f4affc4fbd5218f2e8cc3c9dd97e8ac6f9d",
          "CN=Microsoft Corporation KEK 2K CA 2023,O=Microsoft Corporation,C=US",
          2151174695 /* 2038-03-02 20:31:35 */, "microsoft-kek-2011" },
        /* db: signs Windows' boot manager */
        { "windows-pca-2011", "e8e95f0733a55e8bad7be0a1413ee23c51fcea64b3c8fa6a786935fddcc71961",
          "CN=Microsoft Windows Production PCA 2011,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US",
          1792435902 /* 2026-10-19 18:51:42 */, NULL },
        { "windows-uefi-ca-2023", "076f1fea90ac29155ebf77c17682f75f1fdd1be196da302dc8461e350a9ae330",
          "CN=Windows UEFI CA 2023,O=Microsoft Corporation,C=US",
          2065374509 /* 2035-06-13 19:08:29 */, "windows-pca-2011" },
        /* db: signs third-party loaders (shim) and, in 2011, option ROMs too */
        { "microsoft-uefi-ca-2011", "48e99b991f57fc52f76149599bff0a58c47154229b9f8d603ac40d3500248507",
          "CN=Microsoft Corporation UEFI CA 2011,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US",
          1782595965 /* 2026-06-27 21:32:45 */, NULL },
        { "microsoft-uefi-ca-2023", "f6124e34125bee3fe6d79a574eaa7b91c0e7bd9d929c1a321178efd611dad901",
          "CN=Microsoft UEFI CA 2023,O=Microsoft Corporation,C=US",
          2160070307 /* 2038-06-13 19:31:47 */, "microsoft-uefi-ca-2011" },
        { "microsoft-option-rom-ca-2023", "e5be3e64c6e66a281457ecdece0d6d0787577aad2a3a0144262c10c14ba8d8f1",
          "CN=Microsoft Option ROM UEFI CA 2023,O=Microsoft Corporation,C=US",
          2171733140 /* 2038-10-26 19:12:20 */, "microsoft-uefi-ca-2011" },
        /* PK and KEK of Debian's Microsoft-enrolled templates, 12 and 2026.08 alike */
        { "debian-pk-kek-2019", "5fb05ed84c5170d542ed6a7b7487dd57b8faedb02f7e107b0409e1d22cac4169",
          "emailAddress=debian-devel@lists.debian.org,CN=Debian UEFI Secure Boot (PK/KEK key),O=Debian",
          1877989369 /* 2029-07-05 23:42:49 */, NULL },
        /* PK, KEK and db of Debian's snakeoil templates: test keys whose private half is published */
        { "debian-snakeoil-2020", "282e8130b7070f107aaecc25d3992ca4440270860b09088792a5075fab0d13f8",
          "O=SnakeOil,L=Fort Collins,ST=Colorado,C=US",
          4753104202 /* 2120-08-14 18:43:22 */, NULL },
        { "debian-snakeoil-2023", "5e2a886d7d56dc918f16806366d4c2e1c0de23a6f1026ba5df14f0370f0e19a0",
          "CN=SnakeOil Test Key for EFI Secure Boot,O=SnakeOil,L=Fort Collins,ST=Colorado,C=US",
          2631136305 /* 2053-05-17 23:11:45 */, NULL },
};

const size_t n_known_certificates = ELEMENTSOF(known_certificates);

static void hex(const uint8_t *p, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[p[i] >> 4];
                out[2 * i + 1] = digits[p[i] & 15];
        }
        out[2 * n] = 0;
}

const KnownCertificate *known_certificate_by_sha256(const uint8_t sha256[static 32]) {
        char buf[65];

        hex(sha256, 32, buf);
        for (size_t i = 0; i < n_known_certificates; i++)
                if (streq(known_certificates[i].sha256, buf))
                        return &known_certificates[i];
        return NULL;
}

const KnownCertificate *known_certificate_by_id(const char *id) {
        for (size_t i = 0; id && i < n_known_certificates; i++)
                if (streq(known_certificates[i].id, id))
                        return &known_certificates[i];
        return NULL;
}

bool certificate_id_is_valid(const char *s) {
        const char *h;

        if (known_certificate_by_id(s))
                return true;
        if (!s || strncmp(s, "sha256:", 7) != 0)
                return false;
        h = s + 7;
        if (strlen(h) != 64)
                return false;
        for (; *h; h++)
                if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
                        return false;
        return true;
}

char *certificate_id(const uint8_t sha256[static 32], char buf[static CERTIFICATE_ID_MAX]) {
        const KnownCertificate *k = known_certificate_by_sha256(sha256);

        if (k) {
                snprintf(buf, CERTIFICATE_ID_MAX, "%s", k->id);
                return buf;
        }
        memcpy(buf, "sha256:", 7);
        hex(sha256, 32, buf + 7);
        return buf;
}
