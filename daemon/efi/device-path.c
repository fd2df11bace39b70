/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>

#include "cursor.h"
#include "device-path.h"
#include "guid.h"
#include "utf16.h"

enum {
        TYPE_HARDWARE = 0x01,
        TYPE_ACPI = 0x02,
        TYPE_MESSAGING = 0x03,
        TYPE_MEDIA = 0x04,
        TYPE_END = 0x7f,
        END_INSTANCE = 0x01,
        END_ENTIRE = 0xff,
};

#define NODE_HEADER 4U
#define NODE_STRING_MAX 1024U           /* bytes of a file path or URI shown */
#define NODE_VENDOR_DATA_MAX 64U        /* bytes of vendor data shown in hex */
#define EISA_PNP_VENDOR 0x41d0U         /* "PNP", compressed, in the low half of an ACPI HID */

static void put_guid(StrBuf *b, Cursor *c) {
        char s[EFI_GUID_STRING_MAX];
        EfiGuid g;

        if (cursor_copy(c, g.bytes, 16))
                strbuf_puts(b, efi_guid_to_string(&g, s));
}

static void put_hex(StrBuf *b, const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                strbuf_printf(b, "%02x", p[i]);
}

static void put_ipv4(StrBuf *b, const uint8_t *p) {
        strbuf_printf(b, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
}

static void put_ipv6(StrBuf *b, const uint8_t *p) {
        for (size_t i = 0; i < 16; i += 2)
                strbuf_printf(b, "%s%02x%02x", i ? ":" : "", p[i], p[i + 1]);
}

static void put_protocol(StrBuf *b, uint16_t protocol) {
        if (protocol == 6)
                strbuf_puts(b, "TCP");
        else if (protocol == 17)
                strbuf_puts(b, "UDP");
        else
                strbuf_printf(b, "0x%x", protocol);
}

/* VenHw(guid), VenMsg(guid,data)...: the data in hex, cut after NODE_VENDOR_DATA_MAX bytes. */
static bool put_vendor(StrBuf *b, const char *name, Cursor c) {
        if (c.left < 16)
                return false;
        strbuf_printf(b, "%s(", name);
        put_guid(b, &c);
        if (c.left > 0) {
                strbuf_puts(b, ",");
                put_hex(b, c.p, c.left < NODE_VENDOR_DATA_MAX ? c.left : NODE_VENDOR_DATA_MAX);
                if (c.left > NODE_VENDOR_DATA_MAX)
                        strbuf_puts(b, "...");
        }
        strbuf_puts(b, ")");
        return true;
}

static bool put_hardware(StrBuf *b, uint8_t subtype, Cursor c) {
        uint8_t function, device;
        uint32_t controller;

        switch (subtype) {
        case 0x01:
                if (!cursor_u8(&c, &function) || !cursor_u8(&c, &device))
                        return false;
                strbuf_printf(b, "Pci(0x%x,0x%x)", device, function);
                return true;
        case 0x04:
                return put_vendor(b, "VenHw", c);
        case 0x05:
                if (!cursor_u32(&c, &controller))
                        return false;
                strbuf_printf(b, "Ctrl(0x%x)", controller);
                return true;
        default:
                return false;
        }
}

static bool put_acpi(StrBuf *b, uint8_t subtype, Cursor c) {
        uint32_t hid, uid;

        if (subtype == 0x03 && cursor_u32(&c, &hid)) {
                strbuf_printf(b, "AcpiAdr(0x%x)", hid);
                return true;
        }
        if (subtype != 0x01 || !cursor_u32(&c, &hid) || !cursor_u32(&c, &uid))
                return false;
        if ((hid & 0xffff) != EISA_PNP_VENDOR)
                strbuf_printf(b, "Acpi(0x%08x,0x%x)", hid, uid);
        else if (hid >> 16 == 0x0a03)
                strbuf_printf(b, "PciRoot(0x%x)", uid);
        else if (hid >> 16 == 0x0a08)
                strbuf_printf(b, "PcieRoot(0x%x)", uid);
        else
                strbuf_printf(b, "Acpi(PNP%04x,0x%x)", hid >> 16, uid);
        return true;
}

static bool put_ip(StrBuf *b, uint8_t subtype, Cursor c) {
        const uint8_t *local, *remote, *gateway, *mask;
        uint16_t local_port, remote_port, protocol;
        uint8_t kind, prefix;
        bool v4 = subtype == 0x0c;
        size_t alen = v4 ? 4 : 16;

        if (!cursor_take(&c, alen, &local) || !cursor_take(&c, alen, &remote) || !cursor_u16(&c, &local_port) ||
            !cursor_u16(&c, &remote_port) || !cursor_u16(&c, &protocol) || !cursor_u8(&c, &kind))
                return false;
        strbuf_puts(b, v4 ? "IPv4(" : "IPv6(");
        (v4 ? put_ipv4 : put_ipv6)(b, remote);
        strbuf_puts(b, ",");
        put_protocol(b, protocol);
        if (v4)
                strbuf_puts(b, kind ? ",Static," : ",DHCP,");
        else
                strbuf_puts(b, kind == 0 ? ",Static," : kind == 1 ? ",StatelessAutoConfigure," :
                                                                   ",StatefulAutoConfigure,");
        (v4 ? put_ipv4 : put_ipv6)(b, local);
        if (v4 && cursor_take(&c, 4, &gateway) && cursor_take(&c, 4, &mask)) {
                strbuf_puts(b, ",");
                put_ipv4(b, gateway);
                strbuf_puts(b, ",");
                put_ipv4(b, mask);
        } else if (!v4 && cursor_u8(&c, &prefix) && cursor_take(&c, 16, &gateway)) {
                strbuf_printf(b, ",0x%x,", prefix);
                put_ipv6(b, gateway);
        }
        strbuf_puts(b, ")");
        return true;
}

/* Uri(...): printable ASCII as it is, anything else as %XX, cut after NODE_STRING_MAX bytes. */
static void put_uri(StrBuf *b, Cursor c) {
        strbuf_puts(b, "Uri(");
        for (size_t i = 0; i < c.left && i < NODE_STRING_MAX; i++) {
                if (c.p[i] > 0x20 && c.p[i] < 0x7f)
                        strbuf_append(b, (const char *) c.p + i, 1);
                else
                        strbuf_printf(b, "%%%02X", c.p[i]);
        }
        strbuf_puts(b, c.left > NODE_STRING_MAX ? "...)" : ")");
}

static bool put_messaging_numbers(StrBuf *b, uint8_t subtype, Cursor c) {
        uint16_t a, d, e;
        uint8_t x, y;
        uint32_t ns;
        const uint8_t *eui;

        switch (subtype) {
        case 0x01:      /* ATAPI */
                if (!cursor_u8(&c, &x) || !cursor_u8(&c, &y) || !cursor_u16(&c, &a))
                        return false;
                strbuf_printf(b, "Ata(%s,%s,0x%x)", x ? "Secondary" : "Primary", y ? "Slave" : "Master", a);
                return true;
        case 0x02:      /* SCSI */
                if (!cursor_u16(&c, &a) || !cursor_u16(&c, &d))
                        return false;
                strbuf_printf(b, "Scsi(0x%x,0x%x)", a, d);
                return true;
        case 0x05:      /* USB */
                if (!cursor_u8(&c, &x) || !cursor_u8(&c, &y))
                        return false;
                strbuf_printf(b, "USB(0x%x,0x%x)", x, y);
                return true;
        case 0x12:      /* SATA: a port multiplier number with the top bit set means none */
                if (!cursor_u16(&c, &a) || !cursor_u16(&c, &d) || !cursor_u16(&c, &e))
                        return false;
                if (d & 0x8000)
                        strbuf_printf(b, "Sata(0x%x,0x%x)", a, e);
                else
                        strbuf_printf(b, "Sata(0x%x,0x%x,0x%x)", a, d, e);
                return true;
        case 0x14:      /* VLAN */
                if (!cursor_u16(&c, &a))
                        return false;
                strbuf_printf(b, "Vlan(%u)", a);
                return true;
        case 0x17:      /* NVMe namespace */
                if (!cursor_u32(&c, &ns) || !cursor_take(&c, 8, &eui))
                        return false;
                strbuf_printf(b, "NVMe(0x%x,%02X-%02X-%02X-%02X-%02X-%02X-%02X-%02X)", ns, eui[7], eui[6], eui[5],
                              eui[4], eui[3], eui[2], eui[1], eui[0]);
                return true;
        default:
                return false;
        }
}

static bool put_messaging(StrBuf *b, uint8_t subtype, Cursor c) {
        const uint8_t *mac;
        uint8_t if_type;

        switch (subtype) {
        case 0x0a:
                return put_vendor(b, "VenMsg", c);
        case 0x0b:      /* MAC: 32 bytes, of which Ethernet (if type 0 or 1) uses 6 */
                if (!cursor_take(&c, 32, &mac) || !cursor_u8(&c, &if_type))
                        return false;
                strbuf_puts(b, "MAC(");
                put_hex(b, mac, if_type <= 1 ? 6 : 32);
                strbuf_printf(b, ",0x%x)", if_type);
                return true;
        case 0x0c:
        case 0x0d:
                return put_ip(b, subtype, c);
        case 0x18:
                put_uri(b, c);
                return true;
        default:
                return put_messaging_numbers(b, subtype, c);
        }
}

static bool put_hard_drive(StrBuf *b, Cursor c) {
        uint32_t number;
        uint64_t start, size;
        const uint8_t *signature;
        uint8_t mbr_type, signature_type;
        char s[EFI_GUID_STRING_MAX];

        if (!cursor_u32(&c, &number) || !cursor_u64(&c, &start) || !cursor_u64(&c, &size) ||
            !cursor_take(&c, 16, &signature) || !cursor_u8(&c, &mbr_type) || !cursor_u8(&c, &signature_type))
                return false;
        if (signature_type == 2)
                strbuf_printf(b, "HD(%" PRIu32 ",GPT,%s,", number, efi_guid_to_string((const EfiGuid *) signature, s));
        else if (signature_type == 1)
                strbuf_printf(b, "HD(%" PRIu32 ",MBR,0x%08x,", number,
                              (uint32_t) signature[0] | (uint32_t) signature[1] << 8 |
                              (uint32_t) signature[2] << 16 | (uint32_t) signature[3] << 24);
        else
                strbuf_printf(b, "HD(%" PRIu32 ",%u,0,", number, signature_type);
        strbuf_printf(b, "0x%" PRIx64 ",0x%" PRIx64 ")", start, size);
        return true;
}

static int put_file_path(StrBuf *b, Cursor c) {
        _cleanup_(freep) char *s = NULL;
        int r;

        r = utf16le_to_utf8(c.p, c.left, NODE_STRING_MAX, &s, NULL);
        if (r < 0)
                return r;
        strbuf_puts(b, s);
        return 1;
}

/* Returns 1 when the node was written, 0 when it is not one this knows, or -ENOMEM. */
static int put_media(StrBuf *b, uint8_t subtype, Cursor c) {
        uint32_t entry;
        uint64_t start, end;

        switch (subtype) {
        case 0x01:
                return put_hard_drive(b, c);
        case 0x02:
                if (!cursor_u32(&c, &entry) || !cursor_u64(&c, &start) || !cursor_u64(&c, &end))
                        return 0;
                strbuf_printf(b, "CDROM(0x%x,0x%" PRIx64 ",0x%" PRIx64 ")", entry, start, end);
                return 1;
        case 0x03:
                return put_vendor(b, "VenMedia", c);
        case 0x04:
                return put_file_path(b, c);
        case 0x06:
        case 0x07:
                if (c.left < 16)
                        return 0;
                strbuf_puts(b, subtype == 0x06 ? "FvFile(" : "Fv(");
                put_guid(b, &c);
                strbuf_puts(b, ")");
                return 1;
        case 0x08:
                if (!cursor_skip(&c, 4) || !cursor_u64(&c, &start) || !cursor_u64(&c, &end))
                        return 0;
                strbuf_printf(b, "Offset(0x%" PRIx64 ",0x%" PRIx64 ")", start, end);
                return 1;
        default:
                return 0;
        }
}

/* Writes one node (body: what follows its header). Returns 0 or -ENOMEM. */
static int put_node(StrBuf *b, uint8_t type, uint8_t subtype, Cursor body) {
        size_t mark = b->len;
        int r = 0;

        switch (type) {
        case TYPE_HARDWARE:
                r = put_hardware(b, subtype, body);
                break;
        case TYPE_ACPI:
                r = put_acpi(b, subtype, body);
                break;
        case TYPE_MESSAGING:
                r = put_messaging(b, subtype, body);
                break;
        case TYPE_MEDIA:
                r = put_media(b, subtype, body);
                break;
        }
        if (r < 0)
                return r;
        if (r == 0) {
                /* a node this does not know, or one too short for its kind: what the firmware would print too */
                if (b->buf)
                        b->buf[mark] = 0;
                b->len = mark;
                strbuf_printf(b, "Path(%u,%u)", type, subtype);
        }
        return b->oom ? -ENOMEM : 0;
}

int efi_device_path_to_text(const uint8_t *p, size_t n, const char *what, EfiProblems *problems, char **ret) {
        _cleanup_(strbuf_done) StrBuf b = {};
        Cursor c = cursor_make(p, n, 0);
        bool start = true, ended = false, broken = false;
        int r;

        for (unsigned nodes = 0; c.left > 0 && !ended && !broken; nodes++) {
                size_t at = c.offset;
                uint8_t type, subtype;
                uint16_t length;
                Cursor body;

                if (nodes >= EFI_DEVICE_PATH_NODES_MAX || b.len >= EFI_DEVICE_PATH_TEXT_MAX) {
                        efi_problems_add(problems, "%s: device path longer than %u nodes or %u bytes of text, cut",
                                         what, EFI_DEVICE_PATH_NODES_MAX, EFI_DEVICE_PATH_TEXT_MAX);
                        strbuf_puts(&b, "/...");
                        broken = true;
                        break;
                }
                if (c.left < NODE_HEADER) {
                        efi_problems_add(problems, "%s: device path node at offset %zu cut short", what, at);
                        broken = true;
                        break;
                }
                (void) cursor_u8(&c, &type);
                (void) cursor_u8(&c, &subtype);
                (void) cursor_u16(&c, &length);
                if (length < NODE_HEADER || !cursor_sub(&c, length - NODE_HEADER, &body)) {
                        efi_problems_add(problems, "%s: device path node at offset %zu of length %u does not fit "
                                         "the %zu bytes of the path", what, at, length, n);
                        broken = true;
                        break;
                }
                if (type == TYPE_END) {
                        ended = subtype == END_ENTIRE;
                        if (!ended) {
                                strbuf_puts(&b, ",");
                                start = true;
                        }
                        continue;
                }
                if (!start)
                        strbuf_puts(&b, "/");
                start = false;
                r = put_node(&b, type, subtype, body);
                if (r < 0)
                        return r;
        }
        if (!ended && !broken)
                efi_problems_add(problems, "%s: device path without an end node", what);
        if (b.oom)
                return -ENOMEM;
        *ret = b.buf ? strbuf_steal(&b) : strdup("");
        return *ret ? 0 : -ENOMEM;
}
