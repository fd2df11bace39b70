/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* descriptor_parse(): every rule of the QEMU 11.0 descriptor schema, every problem message with its member
 * path, the limits on the document, and the accessors the resolver uses. */

#include "catalogue/descriptor.h"
#include "tests.h"

/* Test documents are written with ' for " to stay readable; no value in them contains a quote. */
#define DESCRIPTION "'Test firmware'"
#define INTERFACES "['uefi']"
#define EXECUTABLE "{'filename': '/usr/share/fw/CODE.fd', 'format': 'raw'}"
#define TEMPLATE "{'filename': '/usr/share/fw/VARS.fd', 'format': 'raw'}"
#define MAPPING_SPLIT "{'device': 'flash', 'executable': " EXECUTABLE ", 'nvram-template': " TEMPLATE "}"
#define MAPPING_MEMORY "{'device': 'memory', 'filename': '/usr/share/fw/bios.bin'}"
#define MAPPING_HOSTVARS                                                                                \
        "{'device': 'memory', 'filename': '/usr/share/fw/hostvars.fd', "                               \
        "'uefi-vars': {'template': '/usr/share/fw/hostvars.json'}}"
#define TARGETS "[{'architecture': 'x86_64', 'machines': ['pc-q35-*']}]"
#define FEATURES "['acpi-s3']"
#define TAGS "[]"

/* Top-level members of a test document: NULL takes the default above, OMIT leaves the member out. */
typedef struct Members {
        const char *description;
        const char *interface_types;
        const char *mapping;
        const char *targets;
        const char *features;
        const char *tags;
        const char *extra;              /* further members, written out as they are */
} Members;

#define OMIT ""

#define ARCH_EXPECTED "(expected aarch64, arm, i386, loongarch64, riscv64 or x86_64)"
#define VERBOSE_BOTH "'verbose-dynamic' and 'verbose-static' exclude each other"
#define UEFI_VARS_RULE "allowed only when interface-types lists 'uefi' and features lists 'host-uefi-vars'"
#define BIT(feature) (UINT64_C(1) << (feature))
#define PARSE(...) parse_members(&(Members) { __VA_ARGS__ })

static char *unquote(const char *s) {
        char *t = strdup(s);

        CHECK(t);
        for (char *p = t; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return t;
}

static Descriptor *parse_data(const char *data, size_t size) {
        Descriptor *d = NULL;

        CHECK(descriptor_parse(data, size, &d) == 0);
        CHECK(d);
        CHECK(d->n_ref == 1);
        return d;
}

static Descriptor *parse_text(const char *text) {
        _cleanup_(freep) char *t = unquote(text);
        return parse_data(t, strlen(t));
}

static Descriptor *parse_members(const Members *m) {
        const char *const names[] = { "description", "interface-types", "mapping", "targets", "features",
                                      "tags" };
        const char *const values[] = { m->description ?: DESCRIPTION, m->interface_types ?: INTERFACES,
                                       m->mapping ?: MAPPING_SPLIT, m->targets ?: TARGETS,
                                       m->features ?: FEATURES, m->tags ?: TAGS };
        StrBuf b = {};
        bool first = true;

        strbuf_puts(&b, "{");
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                if (isempty(values[i]))
                        continue;
                strbuf_printf(&b, "%s'%s': %s", first ? "" : ", ", names[i], values[i]);
                first = false;
        }
        if (m->extra)
                strbuf_printf(&b, "%s%s", first ? "" : ", ", m->extra);
        strbuf_puts(&b, "}");
        CHECK(!b.oom);

        _cleanup_(freep) char *text = strbuf_steal(&b);
        return parse_text(text);
}

static Descriptor *parse_fixture(const char *name) {
        _cleanup_(freep) char *relative = path_join("descriptors", name);
        _cleanup_(freep) char *path = test_data_path(relative);
        _cleanup_(freep) char *data = NULL;
        size_t size;

        data = test_read_file(path, &size);
        return parse_data(data, size);
}

static void dump_problems(const Descriptor *d) {
        fprintf(stderr, "%zu problems, %zu errors:\n", d->n_problems, d->n_errors);
        for (size_t i = 0; i < d->n_problems; i++) {
                _cleanup_(freep) char *s = problem_to_string(&d->problems[i]);
                fprintf(stderr, "  [%zu] %s\n", i, strempty(s));
        }
}

static size_t count_warnings(const Descriptor *d) {
        return d->n_problems - d->n_errors;
}

#define CHECK_COUNTS(d, errors, warnings) check_counts(__LINE__, d, errors, warnings)
static void check_counts(int line, const Descriptor *d, size_t errors, size_t warnings) {
        size_t e = 0;

        for (size_t i = 0; i < d->n_problems; i++)
                if (d->problems[i].severity == PROBLEM_ERROR)
                        e++;
        if (d->n_errors != errors || e != errors || count_warnings(d) != warnings) {
                fprintf(stderr, "line %d: expected %zu errors and %zu warnings\n", line, errors, warnings);
                dump_problems(d);
        }
        CHECK(e == d->n_errors);
        CHECK(d->n_errors == errors);
        CHECK(count_warnings(d) == warnings);
        CHECK(descriptor_is_valid(d) == (errors == 0));
}

#define CHECK_PROBLEM(d, i, severity, path, message) check_problem(__LINE__, d, i, severity, path, message)
static void check_problem(int line, const Descriptor *d, size_t i, ProblemSeverity severity, const char *path,
                          const char *message) {
        if (i >= d->n_problems || d->problems[i].severity != severity || !streq(d->problems[i].path, path) ||
            !streq(d->problems[i].message, message)) {
                fprintf(stderr, "line %d: expected problem [%zu] %s: %s%s\n", line, i, path,
                        severity == PROBLEM_WARNING ? "warning: " : "", message);
                dump_problems(d);
        }
        CHECK(i < d->n_problems);
        CHECK(d->problems[i].severity == severity);
        CHECK_STREQ(d->problems[i].path, path);
        CHECK_STREQ(d->problems[i].message, message);
}

/* The descriptor has this problem and no other. */
#define CHECK_ONLY(d, severity, path, message) check_only(__LINE__, d, severity, path, message)
static void check_only(int line, const Descriptor *d, ProblemSeverity severity, const char *path,
                       const char *message) {
        check_counts(line, d, severity == PROBLEM_ERROR, severity == PROBLEM_WARNING);
        check_problem(line, d, 0, severity, path, message);
}

/* The descriptor has one problem, an error about the document itself, and its message contains text. */
#define CHECK_DOCUMENT_ERROR(d, text) check_document_error(__LINE__, d, text)
static void check_document_error(int line, const Descriptor *d, const char *text) {
        check_counts(line, d, 1, 0);
        if (!strstr(d->problems[0].message, text))
                fprintf(stderr, "line %d: expected a message containing \"%s\", got \"%s\"\n", line, text,
                        d->problems[0].message);
        CHECK_STREQ(d->problems[0].path, "");
        CHECK(strstr(d->problems[0].message, text));
}

static void test_string_tables(void) {
        for (InterfaceType t = 0; t < _INTERFACE_MAX; t++)
                CHECK(interface_type_from_string(interface_type_to_string(t)) == t);
        for (Architecture a = 0; a < _ARCH_MAX; a++)
                CHECK(architecture_from_string(architecture_to_string(a)) == a);
        for (Device v = 0; v < _DEVICE_MAX; v++)
                CHECK(device_from_string(device_to_string(v)) == v);
        for (FlashMode m = 0; m < _FLASH_MODE_MAX; m++)
                CHECK(flash_mode_from_string(flash_mode_to_string(m)) == m);
        for (Format f = 0; f < _FORMAT_MAX; f++)
                CHECK(format_from_string(format_to_string(f)) == f);
        for (Feature f = 0; f < _FEATURE_MAX; f++)
                CHECK(feature_from_string(feature_to_string(f)) == f);

        CHECK_STREQ(interface_type_to_string(INTERFACE_OPENFIRMWARE), "openfirmware");
        CHECK_STREQ(architecture_to_string(ARCH_LOONGARCH64), "loongarch64");
        CHECK_STREQ(device_to_string(DEVICE_IGVM), "igvm");
        CHECK_STREQ(flash_mode_to_string(FLASH_MODE_STATELESS), "stateless");
        CHECK_STREQ(format_to_string(FORMAT_QCOW2), "qcow2");
        CHECK_STREQ(feature_to_string(FEATURE_HOST_UEFI_VARS), "host-uefi-vars");
        CHECK_STREQ(feature_to_string(FEATURE_AMD_SEV_SNP), "amd-sev-snp");

        CHECK(!architecture_to_string(_ARCH_MAX));
        CHECK(!device_to_string(_DEVICE_INVALID));
        CHECK(architecture_from_string(NULL) == _ARCH_INVALID);
        CHECK(architecture_from_string("x86-64") == _ARCH_INVALID);
        CHECK(interface_type_from_string("UEFI") == _INTERFACE_INVALID);   /* names are case-sensitive */
        CHECK(feature_from_string("") == _FEATURE_INVALID);
        CHECK(format_from_string("vmdk") == _FORMAT_INVALID);
        CHECK_STREQ(architecture_expected(), "aarch64, arm, i386, loongarch64, riscv64 or x86_64");
}

static void test_problem_to_string(void) {
        static const struct {
                Problem problem;
                const char *text;
        } cases[] = {
                { { PROBLEM_ERROR, (char *) "mapping.executable.format",
                    (char *) "unknown format 'vmdk' (expected raw or qcow2)" },
                  "mapping.executable.format: unknown format 'vmdk' (expected raw or qcow2)" },
                { { PROBLEM_WARNING, (char *) "description",
                    (char *) "missing member (the schema requires it)" },
                  "description: warning: missing member (the schema requires it)" },
                { { PROBLEM_ERROR, (char *) "", (char *) "contains a NUL byte at offset 3: not a JSON text" },
                  "contains a NUL byte at offset 3: not a JSON text" },
                { { PROBLEM_WARNING, (char *) "", (char *) "something odd" }, "warning: something odd" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(freep) char *s = problem_to_string(&cases[i].problem);
                CHECK_STREQ(s, cases[i].text);
        }
}

static void test_minimal_valid(void) {
        Descriptor *d = PARSE();

        CHECK_COUNTS(d, 0, 0);
        CHECK_STREQ(d->description, "Test firmware");
        CHECK(strv_length(d->interface_types) == 1);
        CHECK_STREQ(d->interface_types[0], "uefi");
        CHECK(d->interface_mask == 1U << INTERFACE_UEFI);
        CHECK(d->device == DEVICE_FLASH);
        CHECK(d->mode == FLASH_MODE_SPLIT);
        CHECK_STREQ(d->executable.filename, "/usr/share/fw/CODE.fd");
        CHECK(d->executable.format == FORMAT_RAW);
        CHECK_STREQ(d->nvram_template.filename, "/usr/share/fw/VARS.fd");
        CHECK(d->nvram_template.format == FORMAT_RAW);
        CHECK(!d->filename);
        CHECK(!d->uefi_vars_template);
        CHECK(d->n_targets == 1);
        CHECK(d->targets[0].architecture == ARCH_X86_64);
        CHECK(strv_length(d->targets[0].machines) == 1);
        CHECK_STREQ(d->targets[0].machines[0], "pc-q35-*");
        CHECK(d->architecture_mask == 1U << ARCH_X86_64);
        CHECK(strv_length(d->features) == 1);
        CHECK(d->feature_mask == UINT64_C(1) << FEATURE_ACPI_S3);
        CHECK(d->tags && !d->tags[0]);
        descriptor_unref(d);
}

static void test_ref_unref(void) {
        Descriptor *d = PARSE();

        CHECK(descriptor_ref(d) == d);
        CHECK(d->n_ref == 2);
        CHECK(!descriptor_unref(d));
        CHECK(d->n_ref == 1);
        CHECK_STREQ(d->description, "Test firmware");       /* still alive */
        CHECK(!descriptor_unref(d));
        CHECK(!descriptor_unref(NULL));
        CHECK(!descriptor_ref(NULL));
}

static void test_new_unreadable(void) {
        Descriptor *d = NULL;

        CHECK(descriptor_new_unreadable("not a regular file", &d) == 0);
        CHECK_ONLY(d, PROBLEM_ERROR, "", "not a regular file");
        CHECK(d->device == _DEVICE_INVALID);
        CHECK(!descriptor_image(d));
        CHECK(!descriptor_vars_template(d));
        CHECK(!descriptor_matches_target(d, ARCH_X86_64, NULL));
        _cleanup_(freep) char *s = problem_to_string(&d->problems[0]);
        CHECK_STREQ(s, "not a regular file");
        descriptor_unref(d);
}

/* description and tags are required by the schema but tolerated; the other four are not. */
static void test_missing_top_level(void) {
        static const struct {
                Members m;
                ProblemSeverity severity;
                const char *path, *message;
        } cases[] = {
                { { .description = OMIT }, PROBLEM_WARNING, "description",
                  "missing member (the schema requires it)" },
                { { .tags = OMIT }, PROBLEM_WARNING, "tags", "missing member (the schema requires it)" },
                { { .interface_types = OMIT }, PROBLEM_ERROR, "interface-types", "missing member" },
                { { .mapping = OMIT }, PROBLEM_ERROR, "mapping", "missing member" },
                { { .targets = OMIT }, PROBLEM_ERROR, "targets", "missing member" },
                { { .features = OMIT }, PROBLEM_ERROR, "features", "missing member" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Descriptor *d = parse_members(&cases[i].m);
                CHECK_ONLY(d, cases[i].severity, cases[i].path, cases[i].message);
                descriptor_unref(d);
        }

        /* what is missing is left unset */
        Descriptor *d = PARSE(.description = OMIT, .tags = OMIT);
        CHECK_COUNTS(d, 0, 2);
        CHECK(!d->description);
        CHECK(!d->tags);
        descriptor_unref(d);

        d = PARSE(.mapping = OMIT);
        CHECK(d->device == _DEVICE_INVALID);
        CHECK(!descriptor_image(d));
        descriptor_unref(d);

        /* all of them: two warnings and four errors, in document order */
        d = parse_text("{}");
        CHECK_COUNTS(d, 4, 2);
        CHECK_PROBLEM(d, 0, PROBLEM_WARNING, "description", "missing member (the schema requires it)");
        CHECK_PROBLEM(d, 1, PROBLEM_ERROR, "interface-types", "missing member");
        CHECK_PROBLEM(d, 2, PROBLEM_ERROR, "mapping", "missing member");
        CHECK_PROBLEM(d, 3, PROBLEM_ERROR, "targets", "missing member");
        CHECK_PROBLEM(d, 4, PROBLEM_ERROR, "features", "missing member");
        CHECK_PROBLEM(d, 5, PROBLEM_WARNING, "tags", "missing member (the schema requires it)");
        descriptor_unref(d);
}

static void test_not_an_object(void) {
        static const struct {
                const char *text, *message;
        } cases[] = {
                { "[]", "expected an object at the top level, got an array" },
                { "42", "expected an object at the top level, got a number" },
                { "'uefi'", "expected an object at the top level, got a string" },
                { "null", "expected an object at the top level, got null" },
                { "true", "expected an object at the top level, got a boolean" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Descriptor *d = parse_text(cases[i].text);
                CHECK_ONLY(d, PROBLEM_ERROR, "", cases[i].message);
                descriptor_unref(d);
        }
}

/* A value of the wrong JSON type is an error at its own path, and nothing more is said about it. */
static void test_wrong_types(void) {
        static const struct {
                Members m;
                const char *path, *message;
        } cases[] = {
                { { .description = "42" }, "description", "expected a string, got a number" },
                { { .interface_types = "'uefi'" }, "interface-types", "expected an array, got a string" },
                { { .interface_types = "['uefi', 1]" }, "interface-types[1]",
                  "expected a string, got a number" },
                { { .mapping = "[]" }, "mapping", "expected an object, got an array" },
                { { .mapping = "{'device': 1}" }, "mapping.device", "expected a string, got a number" },
                { { .mapping = "{'device': 'flash', 'mode': 2, 'executable': " EXECUTABLE "}" },
                  "mapping.mode", "expected a string, got a number" },
                { { .mapping = "{'device': 'flash', 'executable': '/usr/share/fw/CODE.fd', "
                               "'nvram-template': " TEMPLATE "}" },
                  "mapping.executable", "expected an object, got a string" },
                { { .mapping = "{'device': 'flash', 'executable': {'filename': null, 'format': 'raw'}, "
                               "'nvram-template': " TEMPLATE "}" },
                  "mapping.executable.filename", "expected a string, got null" },
                { { .mapping = "{'device': 'flash', "
                               "'executable': {'filename': '/fw/CODE.fd', 'format': true}, "
                               "'nvram-template': " TEMPLATE "}" },
                  "mapping.executable.format", "expected a string, got a boolean" },
                { { .mapping = "{'device': 'flash', 'executable': " EXECUTABLE ", 'nvram-template': []}" },
                  "mapping.nvram-template", "expected an object, got an array" },
                { { .mapping = "{'device': 'memory', 'filename': 256}" },
                  "mapping.filename", "expected a string, got a number" },
                { { .mapping = "{'device': 'memory', 'filename': '/fw/bios.bin', "
                               "'uefi-vars': '/fw/vars.json'}" },
                  "mapping.uefi-vars", "expected an object, got a string" },
                { { .mapping = "{'device': 'memory', 'filename': '/fw/bios.bin', "
                               "'uefi-vars': {'template': 1}}" },
                  "mapping.uefi-vars.template", "expected a string, got a number" },
                { { .mapping = "{'device': 'kernel', 'filename': {}}" },
                  "mapping.filename", "expected a string, got an object" },
                { { .mapping = "{'device': 'igvm', 'filename': ['/fw/a.igvm']}" },
                  "mapping.filename", "expected a string, got an array" },
                { { .targets = "{}" }, "targets", "expected an array, got an object" },
                { { .targets = "['x86_64']" }, "targets[0]", "expected an object, got a string" },
                { { .targets = "[{'architecture': 64, 'machines': ['pc-q35-*']}]" },
                  "targets[0].architecture", "expected a string, got a number" },
                { { .targets = "[{'architecture': 'x86_64', 'machines': 'pc-q35-*'}]" },
                  "targets[0].machines", "expected an array, got a string" },
                { { .targets = "[{'architecture': 'x86_64', 'machines': ['pc-q35-*', 9]}]" },
                  "targets[0].machines[1]", "expected a string, got a number" },
                { { .features = "'acpi-s3'" }, "features", "expected an array, got a string" },
                { { .features = "['acpi-s3', null]" }, "features[1]", "expected a string, got null" },
                { { .tags = "{}" }, "tags", "expected an array, got an object" },
                { { .tags = "[1]" }, "tags[0]", "expected a string, got a number" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Descriptor *d = parse_members(&cases[i].m);
                CHECK_ONLY(d, PROBLEM_ERROR, cases[i].path, cases[i].message);
                descriptor_unref(d);
        }
}

static void test_unknown_members(void) {
        static const struct {
                Members m;
                const char *path;
        } cases[] = {
                { { .extra = "'comment': 'built from the 2025.02 sources'" }, "comment" },
                { { .mapping = "{'device': 'flash', 'size': 4194304, 'executable': " EXECUTABLE ", "
                               "'nvram-template': " TEMPLATE "}" },
                  "mapping.size" },
                { { .mapping = "{'device': 'flash', "
                               "'executable': {'filename': '/fw/CODE.fd', 'format': 'raw', 'sha256': 'x'}, "
                               "'nvram-template': " TEMPLATE "}" },
                  "mapping.executable.sha256" },
                { { .mapping = "{'device': 'flash', 'executable': " EXECUTABLE ", 'nvram-template': "
                               "{'filename': '/fw/VARS.fd', 'format': 'raw', 'size': 1}}" },
                  "mapping.nvram-template.size" },
                { { .mapping = "{'device': 'memory', 'filename': '/fw/bios.bin', 'address': 0}" },
                  "mapping.address" },
                { { .mapping = "{'device': 'kernel', 'filename': '/fw/u-boot.bin', 'cmdline': ''}" },
                  "mapping.cmdline" },
                { { .mapping = "{'device': 'igvm', 'filename': '/fw/svsm.igvm', 'policy': 1}" },
                  "mapping.policy" },
                { { .interface_types = "['uefi']",
                    .mapping = "{'device': 'memory', 'filename': '/fw/hv.fd', 'uefi-vars': "
                               "{'template': '/fw/hv.json', 'format': 'json'}}",
                    .features = "['host-uefi-vars']" },
                  "mapping.uefi-vars.format" },
                { { .targets = "[{'architecture': 'x86_64', 'machines': ['pc-q35-*'], 'cpu': 'host'}]" },
                  "targets[0].cpu" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Descriptor *d = parse_members(&cases[i].m);
                CHECK_ONLY(d, PROBLEM_WARNING, cases[i].path, "unknown member, ignored");
                descriptor_unref(d);
        }

        /* the warning names the member as written, with control characters made visible */
        Descriptor *d = PARSE(.extra = "'new\\tline': 1");
        CHECK_ONLY(d, PROBLEM_WARNING, "new?line", "unknown member, ignored");
        descriptor_unref(d);
}

/* A member of another device's branch is a mistake, not an extension. */
static void test_foreign_members(void) {
        static const struct {
                const char *mapping, *path, *message;
        } cases[] = {
                { "{'device': 'flash', 'filename': '/fw/CODE.fd', 'executable': " EXECUTABLE ", "
                  "'nvram-template': " TEMPLATE "}",
                  "mapping.filename", "member does not belong in a flash mapping" },
                { "{'device': 'flash', 'uefi-vars': {'template': '/fw/v.json'}, "
                  "'executable': " EXECUTABLE ", 'nvram-template': " TEMPLATE "}",
                  "mapping.uefi-vars", "member does not belong in a flash mapping" },
                { "{'device': 'memory', 'filename': '/fw/bios.bin', 'executable': " EXECUTABLE "}",
                  "mapping.executable", "member does not belong in a memory mapping" },
                { "{'device': 'memory', 'filename': '/fw/bios.bin', 'mode': 'split'}",
                  "mapping.mode", "member does not belong in a memory mapping" },
                { "{'device': 'memory', 'filename': '/fw/bios.bin', 'nvram-template': " TEMPLATE "}",
                  "mapping.nvram-template", "member does not belong in a memory mapping" },
                { "{'device': 'kernel', 'filename': '/fw/u-boot.bin', 'nvram-template': " TEMPLATE "}",
                  "mapping.nvram-template", "member does not belong in a kernel mapping" },
                { "{'device': 'kernel', 'filename': '/fw/u-boot.bin', "
                  "'uefi-vars': {'template': '/fw/v.json'}}",
                  "mapping.uefi-vars", "member does not belong in a kernel mapping" },
                { "{'device': 'igvm', 'filename': '/fw/svsm.igvm', 'mode': 'stateless'}",
                  "mapping.mode", "member does not belong in an igvm mapping" },
                { "{'device': 'igvm', 'filename': '/fw/svsm.igvm', 'executable': " EXECUTABLE "}",
                  "mapping.executable", "member does not belong in an igvm mapping" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Descriptor *d = PARSE(.mapping = cases[i].mapping);
                CHECK_ONLY(d, PROBLEM_ERROR, cases[i].path, cases[i].message);
                descriptor_unref(d);
        }
}

static void test_interface_types(void) {
        Descriptor *d;

        d = PARSE(.interface_types = "[]");
        CHECK_ONLY(d, PROBLEM_ERROR, "interface-types", "empty list (at least one is required)");
        CHECK(d->interface_mask == 0);
        descriptor_unref(d);

        d = PARSE(.interface_types = "['x']");
        CHECK_ONLY(d, PROBLEM_ERROR, "interface-types[0]",
                   "unknown interface type 'x' (expected bios, openfirmware, uboot or uefi)");
        descriptor_unref(d);

        /* unknown ones are kept as written, but only known ones enter the mask */
        d = PARSE(.interface_types = "['bios', 'efi']");
        CHECK_ONLY(d, PROBLEM_ERROR, "interface-types[1]",
                   "unknown interface type 'efi' (expected bios, openfirmware, uboot or uefi)");
        CHECK(strv_length(d->interface_types) == 2);
        CHECK_STREQ(d->interface_types[1], "efi");
        CHECK(d->interface_mask == 1U << INTERFACE_BIOS);
        descriptor_unref(d);

        d = PARSE(.interface_types = "['uefi', 'uefi']");
        CHECK_ONLY(d, PROBLEM_WARNING, "interface-types[1]", "duplicate entry 'uefi'");
        CHECK(strv_length(d->interface_types) == 1);
        CHECK(d->interface_mask == 1U << INTERFACE_UEFI);
        descriptor_unref(d);

        d = PARSE(.interface_types = "['uefi', 'bios', 'openfirmware', 'uboot']");
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->interface_mask == ((1U << INTERFACE_BIOS) | (1U << INTERFACE_OPENFIRMWARE) |
                                    (1U << INTERFACE_UBOOT) | (1U << INTERFACE_UEFI)));
        CHECK_STREQ(d->interface_types[0], "uefi");         /* the order is kept: most native first */
        descriptor_unref(d);
}

static void test_mapping_device(void) {
        Descriptor *d;

        d = PARSE(.mapping = "{'executable': " EXECUTABLE ", 'nvram-template': " TEMPLATE "}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.device", "missing member");
        CHECK(d->device == _DEVICE_INVALID);
        descriptor_unref(d);

        /* an unknown device says nothing about the members beside it */
        d = PARSE(.mapping = "{'device': 'floppy', 'filename': '/fw/a.img', 'whatever': 1}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.device",
                   "unknown device 'floppy' (expected flash, memory, kernel or igvm)");
        CHECK(d->device == _DEVICE_INVALID);
        CHECK(!d->filename);
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'Flash', 'executable': " EXECUTABLE "}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.device",
                   "unknown device 'Flash' (expected flash, memory, kernel or igvm)");
        descriptor_unref(d);
}

static void test_flash_modes(void) {
        Descriptor *d;

        /* split is the default */
        d = PARSE();
        CHECK(d->mode == FLASH_MODE_SPLIT);
        CHECK_COUNTS(d, 0, 0);
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'flash', 'mode': 'split', 'executable': " EXECUTABLE ", "
                             "'nvram-template': " TEMPLATE "}");
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->mode == FLASH_MODE_SPLIT);
        CHECK_STREQ(d->nvram_template.filename, "/usr/share/fw/VARS.fd");
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'flash', 'mode': 'combined', 'executable': "
                             "{'filename': '/fw/OVMF.qcow2', 'format': 'qcow2'}}");
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->mode == FLASH_MODE_COMBINED);
        CHECK(d->executable.format == FORMAT_QCOW2);
        CHECK(!d->nvram_template.filename);
        CHECK(d->nvram_template.format == _FORMAT_INVALID);
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'flash', 'mode': 'stateless', 'executable': " EXECUTABLE "}");
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->mode == FLASH_MODE_STATELESS);
        CHECK(!d->nvram_template.filename);
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'flash', 'mode': 'dual', 'executable': " EXECUTABLE "}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.mode",
                   "unknown flash mode 'dual' (expected split, combined or stateless)");
        CHECK(d->mode == _FLASH_MODE_INVALID);
        descriptor_unref(d);

        /* with the mode unknown, the template can be neither required nor refused */
        d = PARSE(.mapping = "{'device': 'flash', 'mode': 'dual', 'executable': " EXECUTABLE ", "
                             "'nvram-template': " TEMPLATE "}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.mode",
                   "unknown flash mode 'dual' (expected split, combined or stateless)");
        descriptor_unref(d);
}

/* nvram-template is present exactly when the mode is split. */
static void test_nvram_template_rule(void) {
        Descriptor *d;

        d = PARSE(.mapping = "{'device': 'flash', 'executable': " EXECUTABLE "}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.nvram-template", "missing member");
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'flash', 'mode': 'split', 'executable': " EXECUTABLE "}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.nvram-template", "missing member");
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'flash', 'mode': 'combined', 'executable': " EXECUTABLE ", "
                             "'nvram-template': " TEMPLATE "}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.nvram-template",
                   "not allowed in combined mode (present exactly when the mode is split)");
        CHECK(!d->nvram_template.filename);
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'flash', 'mode': 'stateless', 'executable': " EXECUTABLE ", "
                             "'nvram-template': " TEMPLATE "}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.nvram-template",
                   "not allowed in stateless mode (present exactly when the mode is split)");
        descriptor_unref(d);
}

static void test_flash_files(void) {
        Descriptor *d;

        d = PARSE(.mapping = "{'device': 'flash', 'executable': " TEMPLATE "}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.nvram-template", "missing member");
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'flash', 'nvram-template': " TEMPLATE "}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.executable", "missing member");
        CHECK(!d->executable.filename);
        CHECK(!descriptor_image(d));
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'flash', 'executable': {'format': 'raw'}, "
                             "'nvram-template': " TEMPLATE "}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.executable.filename", "missing member");
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'flash', 'executable': {'filename': '/fw/CODE.fd'}, "
                             "'nvram-template': " TEMPLATE "}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.executable.format", "missing member");
        CHECK_STREQ(d->executable.filename, "/fw/CODE.fd");
        CHECK(d->executable.format == _FORMAT_INVALID);
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'flash', "
                             "'executable': {'filename': '/fw/CODE.vmdk', 'format': 'vmdk'}, "
                             "'nvram-template': " TEMPLATE "}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.executable.format",
                   "unknown format 'vmdk' (expected raw or qcow2)");
        _cleanup_(freep) char *s = problem_to_string(&d->problems[0]);
        CHECK_STREQ(s, "mapping.executable.format: unknown format 'vmdk' (expected raw or qcow2)");
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'flash', 'executable': " EXECUTABLE ", "
                             "'nvram-template': {'filename': '/fw/VARS.fd', 'format': 'qcow3'}}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.nvram-template.format",
                   "unknown format 'qcow3' (expected raw or qcow2)");
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'flash', 'executable': " EXECUTABLE ", "
                             "'nvram-template': {'format': 'raw'}}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.nvram-template.filename", "missing member");
        descriptor_unref(d);

        /* mixed formats are the schema's business only per file */
        d = PARSE(.mapping = "{'device': 'flash', "
                             "'executable': {'filename': '/fw/CODE.qcow2', 'format': 'qcow2'}, "
                             "'nvram-template': {'filename': '/fw/VARS.fd', 'format': 'raw'}}");
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->executable.format == FORMAT_QCOW2);
        CHECK(d->nvram_template.format == FORMAT_RAW);
        descriptor_unref(d);
}

static void test_filenames(void) {
        Descriptor *d;

        d = PARSE(.mapping = "{'device': 'flash', "
                             "'executable': {'filename': 'OVMF_CODE.fd', 'format': 'raw'}, "
                             "'nvram-template': " TEMPLATE "}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.executable.filename", "'OVMF_CODE.fd' is not an absolute path");
        CHECK(!d->executable.filename);
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'flash', 'executable': " EXECUTABLE ", "
                             "'nvram-template': {'filename': '', 'format': 'raw'}}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.nvram-template.filename", "empty file name");
        CHECK(!d->nvram_template.filename);
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'memory', 'filename': './bios.bin'}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.filename", "'./bios.bin' is not an absolute path");
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'kernel', 'filename': ''}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.filename", "empty file name");
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'igvm', 'filename': 'usr/share/svsm.igvm'}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.filename", "'usr/share/svsm.igvm' is not an absolute path");
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'memory', 'filename': '/fw/hv.fd', "
                             "'uefi-vars': {'template': 'hv.json'}}",
                  .features = "['host-uefi-vars']");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.uefi-vars.template", "'hv.json' is not an absolute path");
        CHECK(!d->uefi_vars_template);
        descriptor_unref(d);
}

/* File names of up to DESCRIPTOR_PATH_MAX - 1 bytes; quoted values cut at 64 bytes, on a character
 * boundary. */
static void test_filename_length_and_quoting(void) {
        _cleanup_(freep) char *longest = malloc(DESCRIPTOR_PATH_MAX + 1);
        Descriptor *d;

        CHECK(longest);
        memset(longest, 'a', DESCRIPTOR_PATH_MAX);
        longest[0] = '/';
        longest[DESCRIPTOR_PATH_MAX - 1] = 0;

        _cleanup_(freep) char *m1 = strdup_printf("{'device': 'memory', 'filename': '%s'}", longest);
        d = PARSE(.mapping = m1);
        CHECK_COUNTS(d, 0, 0);
        CHECK(strlen(d->filename) == DESCRIPTOR_PATH_MAX - 1);
        descriptor_unref(d);

        longest[DESCRIPTOR_PATH_MAX - 1] = 'a';
        longest[DESCRIPTOR_PATH_MAX] = 0;
        _cleanup_(freep) char *m2 = strdup_printf("{'device': 'memory', 'filename': '%s'}", longest);
        d = PARSE(.mapping = m2);
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.filename", "file name longer than 4095 bytes");
        CHECK(!d->filename);
        descriptor_unref(d);

        /* a long relative name is cut to 64 bytes */
        char rel[101];
        memset(rel, 'b', 100);
        rel[100] = 0;
        _cleanup_(freep) char *m3 = strdup_printf("{'device': 'memory', 'filename': '%s'}", rel);
        d = PARSE(.mapping = m3);
        _cleanup_(freep) char *e3 = strdup_printf("'%.64s...' is not an absolute path", rel);
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.filename", e3);
        descriptor_unref(d);

        /* ... never inside a UTF-8 character: 63 bytes, then a two-byte 'é' */
        char utf[80];
        memset(utf, 'c', 63);
        strcpy(utf + 63, "\xc3\xa9zzz");
        _cleanup_(freep) char *m4 = strdup_printf("{'device': 'memory', 'filename': '%s'}", utf);
        d = PARSE(.mapping = m4);
        _cleanup_(freep) char *e4 = strdup_printf("'%.63s...' is not an absolute path", utf);
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.filename", e4);
        descriptor_unref(d);

        /* control characters in a quoted value are replaced */
        d = PARSE(.mapping = "{'device': 'memory', 'filename': 'bios\\n.bin\\u001b'}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.filename", "'bios?.bin?' is not an absolute path");
        descriptor_unref(d);
}

static void test_memory(void) {
        Descriptor *d;

        d = PARSE(.interface_types = "['bios']", .mapping = MAPPING_MEMORY, .features = "[]");
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->device == DEVICE_MEMORY);
        CHECK_STREQ(d->filename, "/usr/share/fw/bios.bin");
        CHECK(!d->uefi_vars_template);
        CHECK(!d->executable.filename);
        CHECK_STREQ(descriptor_image(d), "/usr/share/fw/bios.bin");
        CHECK(!descriptor_vars_template(d));
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'memory'}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.filename", "missing member");
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'memory', 'filename': '/fw/hv.fd', 'uefi-vars': {}}",
                  .features = "['host-uefi-vars']");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.uefi-vars.template", "missing member");
        descriptor_unref(d);
}

/* uefi-vars is allowed only when interface-types lists uefi and features lists host-uefi-vars. */
static void test_uefi_vars_rule(void) {
        Descriptor *d;

        d = PARSE(.mapping = MAPPING_HOSTVARS, .features = "['host-uefi-vars']");
        CHECK_COUNTS(d, 0, 0);
        CHECK_STREQ(d->filename, "/usr/share/fw/hostvars.fd");
        CHECK_STREQ(d->uefi_vars_template, "/usr/share/fw/hostvars.json");
        CHECK_STREQ(descriptor_image(d), "/usr/share/fw/hostvars.fd");
        CHECK_STREQ(descriptor_vars_template(d), "/usr/share/fw/hostvars.json");
        CHECK(descriptor_has_feature(d, FEATURE_HOST_UEFI_VARS));
        descriptor_unref(d);

        d = PARSE(.interface_types = "['bios', 'uefi']", .mapping = MAPPING_HOSTVARS,
                  .features = "['acpi-s3', 'host-uefi-vars']");
        CHECK_COUNTS(d, 0, 0);
        descriptor_unref(d);

        d = PARSE(.interface_types = "['bios']", .mapping = MAPPING_HOSTVARS,
                  .features = "['host-uefi-vars']");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.uefi-vars", UEFI_VARS_RULE);
        descriptor_unref(d);

        d = PARSE(.mapping = MAPPING_HOSTVARS, .features = "['acpi-s3']");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.uefi-vars", UEFI_VARS_RULE);
        descriptor_unref(d);

        d = PARSE(.interface_types = "['openfirmware']", .mapping = MAPPING_HOSTVARS, .features = "[]");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.uefi-vars", UEFI_VARS_RULE);
        descriptor_unref(d);

        /* the feature alone, without the template, is fine */
        d = PARSE(.mapping = MAPPING_MEMORY, .features = "['host-uefi-vars']");
        CHECK_COUNTS(d, 0, 0);
        CHECK(!descriptor_vars_template(d));
        descriptor_unref(d);
}

static void test_kernel_and_igvm(void) {
        Descriptor *d;

        d = PARSE(.interface_types = "['uboot']",
                  .mapping = "{'device': 'kernel', 'filename': '/usr/share/u-boot/u-boot.bin'}",
                  .targets = "[{'architecture': 'arm', 'machines': ['virt-*']}]");
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->device == DEVICE_KERNEL);
        CHECK_STREQ(descriptor_image(d), "/usr/share/u-boot/u-boot.bin");
        CHECK(!descriptor_vars_template(d));
        CHECK(d->architecture_mask == 1U << ARCH_ARM);
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'kernel'}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.filename", "missing member");
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'igvm', 'filename': '/usr/share/svsm/svsm.igvm'}",
                  .features = "['amd-sev-snp']");
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->device == DEVICE_IGVM);
        CHECK_STREQ(descriptor_image(d), "/usr/share/svsm/svsm.igvm");
        CHECK(!descriptor_vars_template(d));
        descriptor_unref(d);

        d = PARSE(.mapping = "{'device': 'igvm'}");
        CHECK_ONLY(d, PROBLEM_ERROR, "mapping.filename", "missing member");
        descriptor_unref(d);
}

static void test_targets(void) {
        Descriptor *d;

        d = PARSE(.targets = "[]");
        CHECK_ONLY(d, PROBLEM_WARNING, "targets", "empty list: the descriptor never matches");
        CHECK(d->n_targets == 0);
        CHECK(!descriptor_matches_target(d, ARCH_X86_64, NULL));
        descriptor_unref(d);

        d = PARSE(.targets = "[{'architecture': 'mips64el', 'machines': ['malta']}]");
        CHECK_ONLY(d, PROBLEM_ERROR, "targets[0].architecture",
                   "unknown architecture 'mips64el' " ARCH_EXPECTED);
        CHECK(d->targets[0].architecture == _ARCH_INVALID);
        CHECK(d->architecture_mask == 0);
        descriptor_unref(d);

        d = PARSE(.targets = "[{'architecture': 'x86_64', 'machines': ['pc-q35-*']}, "
                             "{'architecture': 'x86-64', 'machines': ['pc-q35-*']}]");
        CHECK_ONLY(d, PROBLEM_ERROR, "targets[1].architecture",
                   "unknown architecture 'x86-64' " ARCH_EXPECTED);
        descriptor_unref(d);

        d = PARSE(.targets = "[{'architecture': 'x86_64', 'machines': []}]");
        CHECK_ONLY(d, PROBLEM_WARNING, "targets[0].machines", "no machine types: this target only matches requests that name no machine");
        descriptor_unref(d);

        d = PARSE(.targets = "[{'architecture': 'x86_64', 'machines': ['pc-q35-*', '']}]");
        CHECK_ONLY(d, PROBLEM_ERROR, "targets[0].machines[1]", "empty machine type");
        descriptor_unref(d);

        d = PARSE(.targets = "[{'architecture': 'x86_64', 'machines': ['pc-q35-*', 'pc-q35-*']}]");
        CHECK_ONLY(d, PROBLEM_WARNING, "targets[0].machines[1]", "duplicate entry 'pc-q35-*'");
        CHECK(strv_length(d->targets[0].machines) == 1);
        descriptor_unref(d);

        d = PARSE(.targets = "[{'machines': ['pc-q35-*']}]");
        CHECK_ONLY(d, PROBLEM_ERROR, "targets[0].architecture", "missing member");
        descriptor_unref(d);

        d = PARSE(.targets = "[{'architecture': 'x86_64'}]");
        CHECK_ONLY(d, PROBLEM_ERROR, "targets[0].machines", "missing member");
        descriptor_unref(d);

        /* every architecture of the schema */
        d = PARSE(.targets = "[{'architecture': 'aarch64', 'machines': ['virt-*']}, "
                             "{'architecture': 'arm', 'machines': ['virt-*']}, "
                             "{'architecture': 'i386', 'machines': ['pc-i440fx-*']}, "
                             "{'architecture': 'loongarch64', 'machines': ['virt']}, "
                             "{'architecture': 'riscv64', 'machines': ['virt']}, "
                             "{'architecture': 'x86_64', 'machines': ['pc-q35-*']}]");
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->n_targets == 6);
        CHECK(d->architecture_mask == (1U << _ARCH_MAX) - 1);
        CHECK(d->targets[3].architecture == ARCH_LOONGARCH64);
        descriptor_unref(d);
}

static void test_features(void) {
        Descriptor *d;

        d = PARSE(.features = "[]");
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->feature_mask == 0);
        CHECK(d->features && !d->features[0]);
        descriptor_unref(d);

        /* all twelve; the only contradiction among them is the two verbose flavours */
        d = PARSE(.features = "['acpi-s3', 'acpi-s4', 'amd-sev', 'amd-sev-es', 'amd-sev-snp', 'intel-tdx', "
                              "'enrolled-keys', 'requires-smm', 'secure-boot', 'host-uefi-vars', "
                              "'verbose-dynamic', 'verbose-static']");
        CHECK_ONLY(d, PROBLEM_WARNING, "features", VERBOSE_BOTH);
        CHECK(d->feature_mask == (UINT64_C(1) << _FEATURE_MAX) - 1);
        CHECK(strv_length(d->features) == 12);
        for (Feature f = 0; f < _FEATURE_MAX; f++)
                CHECK(descriptor_has_feature(d, f));
        descriptor_unref(d);

        d = PARSE(.features = "['amd-sev-es', 'intel-tdx']");
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->feature_mask == ((UINT64_C(1) << FEATURE_AMD_SEV_ES) | (UINT64_C(1) << FEATURE_INTEL_TDX)));
        CHECK(!descriptor_has_feature(d, FEATURE_AMD_SEV));
        descriptor_unref(d);

        /* unknown features are kept for matching, with a warning */
        d = PARSE(.features = "['acpi-s3', 'arm-cca']");
        CHECK_ONLY(d, PROBLEM_WARNING, "features[1]", "unknown feature 'arm-cca', kept for matching");
        CHECK(strv_length(d->features) == 2);
        CHECK_STREQ(d->features[1], "arm-cca");
        CHECK(d->feature_mask == UINT64_C(1) << FEATURE_ACPI_S3);
        descriptor_unref(d);

        d = PARSE(.features = "['acpi-s3', '']");
        CHECK_ONLY(d, PROBLEM_ERROR, "features[1]", "empty feature name");
        descriptor_unref(d);

        d = PARSE(.features = "['acpi-s3', 'acpi-s4', 'acpi-s3']");
        CHECK_ONLY(d, PROBLEM_WARNING, "features[2]", "duplicate entry 'acpi-s3'");
        CHECK(strv_length(d->features) == 2);
        descriptor_unref(d);
}

static void test_feature_relations(void) {
        static const char *const smm_message =
                "'secure-boot' on x86 flash without 'requires-smm': "
                "the varstore is not protected from the guest";
        Descriptor *d;

        d = PARSE(.features = "['enrolled-keys']");
        CHECK_ONLY(d, PROBLEM_WARNING, "features", "'enrolled-keys' without 'secure-boot'");
        descriptor_unref(d);

        d = PARSE(.features = "['verbose-static', 'verbose-dynamic']");
        CHECK_ONLY(d, PROBLEM_WARNING, "features", VERBOSE_BOTH);
        descriptor_unref(d);

        d = PARSE(.features = "['secure-boot']");
        CHECK_ONLY(d, PROBLEM_WARNING, "features", smm_message);
        /* a warning: matching still sees exactly what is written */
        CHECK(!descriptor_has_feature(d, FEATURE_REQUIRES_SMM));
        descriptor_unref(d);

        d = PARSE(.features = "['secure-boot']",
                  .targets = "[{'architecture': 'i386', 'machines': ['pc-q35-*']}]");
        CHECK_ONLY(d, PROBLEM_WARNING, "features", smm_message);
        descriptor_unref(d);

        d = PARSE(.features = "['secure-boot']",
                  .targets = "[{'architecture': 'aarch64', 'machines': ['virt-*']}, "
                             "{'architecture': 'x86_64', 'machines': ['pc-q35-*']}]");
        CHECK_ONLY(d, PROBLEM_WARNING, "features", smm_message);
        descriptor_unref(d);

        /* no SMM on Arm; no flash varstore to protect in memory mappings */
        d = PARSE(.features = "['secure-boot']",
                  .targets = "[{'architecture': 'aarch64', 'machines': ['virt-*']}]");
        CHECK_COUNTS(d, 0, 0);
        descriptor_unref(d);

        d = PARSE(.features = "['secure-boot']", .mapping = MAPPING_MEMORY);
        CHECK_COUNTS(d, 0, 0);
        descriptor_unref(d);

        d = PARSE(.features = "['enrolled-keys', 'requires-smm', 'secure-boot', 'verbose-dynamic']");
        CHECK_COUNTS(d, 0, 0);
        descriptor_unref(d);

        /* several at once, one warning each */
        d = PARSE(.features = "['enrolled-keys', 'verbose-static', 'verbose-dynamic']");
        CHECK_COUNTS(d, 0, 2);
        CHECK_PROBLEM(d, 0, PROBLEM_WARNING, "features", "'enrolled-keys' without 'secure-boot'");
        CHECK_PROBLEM(d, 1, PROBLEM_WARNING, "features", VERBOSE_BOTH);
        descriptor_unref(d);
}

static void test_unknown_top_level(void) {
        Descriptor *d = PARSE(.extra = "'x-vendor': {'build': 7}");

        CHECK_ONLY(d, PROBLEM_WARNING, "x-vendor", "unknown member, ignored");
        _cleanup_(freep) char *s = problem_to_string(&d->problems[0]);
        CHECK_STREQ(s, "x-vendor: warning: unknown member, ignored");
        descriptor_unref(d);
}

static void test_matches_target(void) {
        Descriptor *d = PARSE(.targets = "[{'architecture': 'x86_64', "
                                         "'machines': ['pc-q35-*', 'pc-i440fx-[0-9]*']}, "
                                         "{'architecture': 'aarch64', 'machines': ['virt*', 'sbsa-ref']}, "
                                         "{'architecture': 'riscv64', 'machines': []}]");

        CHECK_COUNTS(d, 0, 1);          /* the riscv64 target without machines */
        CHECK(descriptor_matches_target(d, ARCH_X86_64, NULL));
        CHECK(descriptor_matches_target(d, ARCH_X86_64, "pc-q35-10.2"));
        CHECK(descriptor_matches_target(d, ARCH_X86_64, "pc-i440fx-9.0"));
        CHECK(!descriptor_matches_target(d, ARCH_X86_64, "pc-i440fx-"));
        CHECK(!descriptor_matches_target(d, ARCH_X86_64, "pc-q35"));
        CHECK(!descriptor_matches_target(d, ARCH_X86_64, "PC-Q35-10.2"));
        CHECK(!descriptor_matches_target(d, ARCH_X86_64, "q35"));
        CHECK(!descriptor_matches_target(d, ARCH_X86_64, "virt"));        /* that glob is aarch64's */
        CHECK(descriptor_matches_target(d, ARCH_AARCH64, "virt"));
        CHECK(descriptor_matches_target(d, ARCH_AARCH64, "virt-10.1"));
        CHECK(descriptor_matches_target(d, ARCH_AARCH64, "sbsa-ref"));
        CHECK(!descriptor_matches_target(d, ARCH_AARCH64, "sbsa-ref-2"));
        CHECK(!descriptor_matches_target(d, ARCH_AARCH64, "pc-q35-10.2"));
        CHECK(descriptor_matches_target(d, ARCH_RISCV64, NULL));
        CHECK(!descriptor_matches_target(d, ARCH_RISCV64, "virt"));
        CHECK(!descriptor_matches_target(d, ARCH_I386, NULL));
        CHECK(!descriptor_matches_target(d, ARCH_I386, "pc-q35-10.2"));
        descriptor_unref(d);
}

/* A descriptor of up to 1 MiB is read; one byte more is refused before parsing. */
static void test_size_limit(void) {
        _cleanup_(freep) char *text = unquote("{'description': 'd', 'interface-types': ['uefi'], "
                                              "'mapping': " MAPPING_MEMORY ", 'targets': " TARGETS ", "
                                              "'features': [], 'tags': []}");
        size_t len = strlen(text);
        _cleanup_(freep) char *big = malloc(DESCRIPTOR_SIZE_MAX + 1);
        Descriptor *d;

        CHECK(big);
        memset(big, ' ', DESCRIPTOR_SIZE_MAX + 1);
        memcpy(big, text, len);

        d = parse_data(big, DESCRIPTOR_SIZE_MAX);
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->device == DEVICE_MEMORY);
        descriptor_unref(d);

        d = parse_data(big, DESCRIPTOR_SIZE_MAX + 1);
        CHECK_ONLY(d, PROBLEM_ERROR, "", "larger than 1048576 bytes (1048577 bytes)");
        CHECK(d->device == _DEVICE_INVALID);
        descriptor_unref(d);
}

static void test_nul_byte(void) {
        static const char text[] = "{\"description\": \"x\0y\"}";
        Descriptor *d;

        d = parse_data(text, sizeof(text) - 1);
        CHECK_ONLY(d, PROBLEM_ERROR, "", "contains a NUL byte at offset 18: not a JSON text");
        descriptor_unref(d);

        /* a trailing NUL, as some editors and tools write, is no better */
        _cleanup_(freep) char *valid = unquote("{'description': 'd', 'interface-types': ['uefi'], "
                                               "'mapping': " MAPPING_MEMORY ", 'targets': " TARGETS ", "
                                               "'features': [], 'tags': []}");
        size_t len = strlen(valid);
        d = parse_data(valid, len + 1);
        _cleanup_(freep) char *msg = strdup_printf("contains a NUL byte at offset %zu: not a JSON text", len);
        CHECK_ONLY(d, PROBLEM_ERROR, "", msg);
        descriptor_unref(d);

        /* an escaped NUL reaches the JSON reader, which refuses it as well */
        d = PARSE(.description = "'x\\u0000y'");
        CHECK_DOCUMENT_ERROR(d, "string contains a NUL character (\\u0000)");
        descriptor_unref(d);
}

static void test_malformed_json(void) {
        Descriptor *d;

        d = parse_text("{'description': 'caf\xe9'}");
        CHECK_DOCUMENT_ERROR(d, "invalid bytes in UTF8 string");
        CHECK(strncmp(d->problems[0].message, "invalid JSON at line 1, column ", 31) == 0);
        descriptor_unref(d);

        d = parse_text("{'description': 'd', 'interface-types': ['uefi'], 'mapping': {'device'");
        CHECK_DOCUMENT_ERROR(d, "premature EOF");
        descriptor_unref(d);

        d = parse_text("");
        CHECK_DOCUMENT_ERROR(d, "invalid JSON at line 1");
        descriptor_unref(d);

        d = parse_text("{'features': ['acpi-s3'], 'features': []}");
        CHECK_DOCUMENT_ERROR(d, "duplicate member 'features'");
        descriptor_unref(d);

        d = parse_text("{'description': 'd'} {}");
        CHECK_DOCUMENT_ERROR(d, "trailing garbage");
        descriptor_unref(d);

        d = parse_text("{/* vendor build */ 'description': 'd'}");
        CHECK_DOCUMENT_ERROR(d, "comments are not enabled");
        descriptor_unref(d);
}

static void test_deep_nesting(void) {
        static const char *const prefixes[] = { "", "{\"tags\": " };

        for (size_t k = 0; k < ELEMENTSOF(prefixes); k++) {
                StrBuf b = {};

                strbuf_puts(&b, prefixes[k]);
                for (size_t i = 0; i < 100000; i++)
                        strbuf_puts(&b, "[");
                CHECK(!b.oom);

                _cleanup_(freep) char *text = strbuf_steal(&b);
                uint64_t start = now_nsec();
                Descriptor *d = parse_data(text, strlen(text));
                CHECK(now_nsec() - start < UINT64_C(2000000000));
                CHECK_DOCUMENT_ERROR(d, "nested deeper than 32 levels");
                descriptor_unref(d);
        }
}

static void test_list_and_string_limits(void) {
        StrBuf b = {};
        Descriptor *d;

        /* 1,024 targets are fine */
        strbuf_puts(&b, "[");
        for (int i = 0; i < 1024; i++)
                strbuf_printf(&b, "%s{'architecture': 'x86_64', 'machines': ['pc-q35-%d.0']}",
                              i ? ", " : "", i);
        strbuf_puts(&b, "]");
        _cleanup_(freep) char *targets = strbuf_steal(&b);
        d = PARSE(.targets = targets);
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->n_targets == 1024);
        CHECK(descriptor_matches_target(d, ARCH_X86_64, "pc-q35-1023.0"));
        descriptor_unref(d);

        /* 1,025 features are not */
        strbuf_puts(&b, "[");
        for (int i = 0; i < 1025; i++)
                strbuf_printf(&b, "%s'x-feature-%d'", i ? ", " : "", i);
        strbuf_puts(&b, "]");
        _cleanup_(freep) char *features = strbuf_steal(&b);
        d = PARSE(.features = features);
        CHECK_DOCUMENT_ERROR(d, "array has more than 1024 items");
        descriptor_unref(d);

        /* a string of 64 KiB is read, one byte more is not */
        _cleanup_(freep) char *s = malloc(DESCRIPTOR_STRING_MAX + 4);
        CHECK(s);
        s[0] = '\'';
        memset(s + 1, 'd', DESCRIPTOR_STRING_MAX);
        strcpy(s + 1 + DESCRIPTOR_STRING_MAX, "'");
        d = PARSE(.description = s);
        CHECK_COUNTS(d, 0, 0);
        CHECK(strlen(d->description) == DESCRIPTOR_STRING_MAX);
        descriptor_unref(d);

        s[DESCRIPTOR_STRING_MAX + 1] = 'd';
        strcpy(s + 2 + DESCRIPTOR_STRING_MAX, "'");
        d = PARSE(.description = s);
        CHECK_DOCUMENT_ERROR(d, "string longer than 65536 bytes");
        descriptor_unref(d);
}

/* A file can only say so much: past 64 problems, further ones are not recorded. */
static void test_problem_cap(void) {
        StrBuf b = {};

        strbuf_puts(&b, "[");
        for (int i = 0; i < 100; i++)
                strbuf_printf(&b, "%s'x-feature-%d'", i ? ", " : "", i);
        strbuf_puts(&b, "]");
        _cleanup_(freep) char *features = strbuf_steal(&b);

        Descriptor *d = PARSE(.features = features);
        CHECK_COUNTS(d, 0, 64);
        CHECK(strv_length(d->features) == 100);            /* all kept for matching */
        CHECK_PROBLEM(d, 63, PROBLEM_WARNING, "features[63]",
                      "unknown feature 'x-feature-63', kept for matching");
        descriptor_unref(d);
}

/* Errors past the cap are not recorded, but they still count: a broken file must never be used for matching
 * because it also had many harmless warnings. */
static void test_errors_past_problem_cap(void) {
        StrBuf b = {};

        for (int i = 0; i < 64; i++)
                strbuf_printf(&b, "%s'x-vendor-%d': 1", i ? ", " : "", i);
        _cleanup_(freep) char *extra = strbuf_steal(&b);

        Descriptor *d = PARSE(.mapping = OMIT, .targets = OMIT, .extra = extra);
        CHECK(d->n_problems == 64);
        for (size_t i = 0; i < d->n_problems; i++)
                CHECK(d->problems[i].severity == PROBLEM_WARNING);
        CHECK(d->n_errors == 2);
        CHECK(!descriptor_is_valid(d));
        CHECK(d->device == _DEVICE_INVALID);
        descriptor_unref(d);
}

static void test_three_mistakes(void) {
        Descriptor *d = parse_fixture("invalid/three-mistakes.json");

        CHECK_COUNTS(d, 3, 0);
        CHECK_PROBLEM(d, 0, PROBLEM_ERROR, "mapping.executable.format",
                      "unknown format 'vmdk' (expected raw or qcow2)");
        CHECK_PROBLEM(d, 1, PROBLEM_ERROR, "mapping.nvram-template.filename",
                      "'OVMF_VARS.4m.fd' is not an absolute path");
        CHECK_PROBLEM(d, 2, PROBLEM_ERROR, "targets[0].architecture",
                      "unknown architecture 'x86-64' " ARCH_EXPECTED);

        _cleanup_(freep) char *s0 = problem_to_string(&d->problems[0]);
        _cleanup_(freep) char *s2 = problem_to_string(&d->problems[2]);
        CHECK_STREQ(s0, "mapping.executable.format: unknown format 'vmdk' (expected raw or qcow2)");
        CHECK_STREQ(s2, "targets[0].architecture: unknown architecture 'x86-64' "
                    "(expected aarch64, arm, i386, loongarch64, riscv64 or x86_64)");

        /* what is right is still read */
        CHECK_STREQ(d->executable.filename, "/usr/share/edk2/x64/OVMF_CODE.4m.fd");
        CHECK(d->nvram_template.format == FORMAT_RAW);
        CHECK(!d->nvram_template.filename);
        CHECK(!descriptor_matches_target(d, ARCH_X86_64, NULL));
        descriptor_unref(d);
}

static void test_invalid_fixtures(void) {
        static const struct {
                const char *file, *path, *message;
                bool substring;
        } cases[] = {
                { "invalid/truncated.json", "", "premature EOF", true },
                { "invalid/comments.json", "", "invalid JSON at line 2, column ", true },
                { "invalid/comments.json", "", "comments are not enabled", true },
                { "invalid/not-an-object.json", "", "expected an object at the top level, got an array",
                  false },
                { "invalid/bad-utf8.json", "", "invalid JSON at line 2, column ", true },
                { "invalid/bad-utf8.json", "", "invalid bytes in UTF8 string", true },
                { "invalid/duplicate-member.json", "", "duplicate member 'features'", false },
                { "invalid/trailing-garbage.json", "", "invalid JSON at line 9, column ", true },
                { "invalid/trailing-garbage.json", "", "trailing garbage", true },
                { "invalid/nvram-template-in-combined.json", "mapping.nvram-template",
                  "not allowed in combined mode (present exactly when the mode is split)", false },
                { "invalid/missing-nvram-template.json", "mapping.nvram-template", "missing member", false },
                { "invalid/unknown-device.json", "mapping.device",
                  "unknown device 'rom' (expected flash, memory, kernel or igvm)", false },
                { "invalid/unknown-interface.json", "interface-types[0]",
                  "unknown interface type 'efi' (expected bios, openfirmware, uboot or uefi)", false },
                { "invalid/uefi-vars-without-feature.json", "mapping.uefi-vars", UEFI_VARS_RULE, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Descriptor *d = parse_fixture(cases[i].file);

                fprintf(stderr, "   %s\n", cases[i].file);
                if (cases[i].substring)
                        CHECK_DOCUMENT_ERROR(d, cases[i].message);
                else
                        CHECK_ONLY(d, PROBLEM_ERROR, cases[i].path, cases[i].message);
                descriptor_unref(d);
        }
}

static void test_fixture_flash_split(void) {
        Descriptor *d = parse_fixture("30-ovmf-x86_64-sb-enrolled.json");

        CHECK_COUNTS(d, 0, 0);
        CHECK(d->interface_mask == 1U << INTERFACE_UEFI);
        CHECK(d->device == DEVICE_FLASH);
        CHECK(d->mode == FLASH_MODE_SPLIT);             /* by default */
        CHECK_STREQ(descriptor_image(d), "/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd");
        CHECK_STREQ(descriptor_vars_template(d), "/usr/share/edk2/x64/OVMF_VARS.enrolled.4m.fd");
        CHECK(d->executable.format == FORMAT_RAW && d->nvram_template.format == FORMAT_RAW);
        CHECK(d->feature_mask == (BIT(FEATURE_ACPI_S3) | BIT(FEATURE_AMD_SEV) | BIT(FEATURE_ENROLLED_KEYS) |
                                  BIT(FEATURE_REQUIRES_SMM) | BIT(FEATURE_SECURE_BOOT) |
                                  BIT(FEATURE_VERBOSE_DYNAMIC)));
        CHECK(strv_length(d->tags) == 1);
        CHECK(descriptor_matches_target(d, ARCH_X86_64, "pc-q35-11.0"));
        CHECK(!descriptor_matches_target(d, ARCH_X86_64, "pc-i440fx-11.0"));
        CHECK(!descriptor_matches_target(d, ARCH_I386, "pc-q35-11.0"));
        descriptor_unref(d);
}

static void test_fixture_flash_combined(void) {
        Descriptor *d = parse_fixture("31-ovmf-x86_64-combined-qcow2.json");

        CHECK_COUNTS(d, 0, 0);
        CHECK(d->mode == FLASH_MODE_COMBINED);
        CHECK(d->executable.format == FORMAT_QCOW2);
        CHECK_STREQ(descriptor_image(d), "/usr/share/edk2/x64/OVMF.combined.qcow2");
        CHECK(!descriptor_vars_template(d));
        CHECK(descriptor_has_feature(d, FEATURE_ACPI_S4));
        CHECK(descriptor_has_feature(d, FEATURE_VERBOSE_STATIC));
        CHECK(descriptor_matches_target(d, ARCH_X86_64, "pc-i440fx-8.2"));
        CHECK(descriptor_matches_target(d, ARCH_X86_64, "pc-q35-8.2"));
        CHECK(!descriptor_matches_target(d, ARCH_X86_64, "microvm"));
        descriptor_unref(d);
}

static void test_fixture_flash_stateless(void) {
        Descriptor *d = parse_fixture("60-ovmf-x86_64-amdsev-stateless.json");

        CHECK_COUNTS(d, 0, 0);
        CHECK(d->mode == FLASH_MODE_STATELESS);
        CHECK_STREQ(descriptor_image(d), "/usr/share/edk2/x64/OVMF.amdsev.fd");
        CHECK(!descriptor_vars_template(d));
        CHECK(descriptor_has_feature(d, FEATURE_AMD_SEV));
        CHECK(descriptor_has_feature(d, FEATURE_AMD_SEV_ES));
        CHECK(descriptor_has_feature(d, FEATURE_AMD_SEV_SNP));
        CHECK(!descriptor_has_feature(d, FEATURE_REQUIRES_SMM));
        descriptor_unref(d);
}

static void test_fixture_memory_bios(void) {
        Descriptor *d = parse_fixture("70-seabios-x86-bios-256k.json");

        CHECK_COUNTS(d, 0, 0);
        CHECK(d->interface_mask == 1U << INTERFACE_BIOS);
        CHECK(d->device == DEVICE_MEMORY);
        CHECK(d->mode == _FLASH_MODE_INVALID);
        CHECK_STREQ(descriptor_image(d), "/usr/share/seabios/bios-256k.bin");
        CHECK(!descriptor_vars_template(d));
        CHECK(d->n_targets == 2);
        CHECK(d->architecture_mask == ((1U << ARCH_I386) | (1U << ARCH_X86_64)));
        CHECK(descriptor_matches_target(d, ARCH_I386, "pc-i440fx-2.12"));
        CHECK(descriptor_matches_target(d, ARCH_X86_64, "pc-q35-11.0"));
        CHECK(!descriptor_matches_target(d, ARCH_AARCH64, NULL));
        descriptor_unref(d);
}

static void test_fixture_memory_host_vars(void) {
        Descriptor *d = parse_fixture("45-ovmf-x86_64-host-uefi-vars.json");

        CHECK_COUNTS(d, 0, 0);
        CHECK(d->device == DEVICE_MEMORY);
        CHECK_STREQ(descriptor_image(d), "/usr/share/edk2/x64/OVMF.hostvars.fd");
        CHECK_STREQ(descriptor_vars_template(d), "/usr/share/edk2/x64/OVMF.hostvars.enrolled.json");
        CHECK(descriptor_has_feature(d, FEATURE_HOST_UEFI_VARS));
        CHECK(descriptor_has_feature(d, FEATURE_SECURE_BOOT));
        descriptor_unref(d);
}

static void test_fixture_kernel_and_igvm(void) {
        Descriptor *d = parse_fixture("80-uboot-aarch64-kernel.json");

        CHECK_COUNTS(d, 0, 0);
        CHECK(d->interface_mask == 1U << INTERFACE_UBOOT);
        CHECK(d->device == DEVICE_KERNEL);
        CHECK_STREQ(descriptor_image(d), "/usr/share/u-boot/qemu-arm64/u-boot.bin");
        CHECK(!descriptor_vars_template(d));
        CHECK(d->feature_mask == 0);
        CHECK(descriptor_matches_target(d, ARCH_AARCH64, "virt-11.0"));
        CHECK(!descriptor_matches_target(d, ARCH_AARCH64, "virt"));
        descriptor_unref(d);

        d = parse_fixture("65-svsm-x86_64-snp-igvm.json");
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->device == DEVICE_IGVM);
        CHECK_STREQ(descriptor_image(d), "/usr/share/svsm/svsm-ovmf.igvm");
        CHECK(!descriptor_vars_template(d));
        CHECK(d->feature_mask == UINT64_C(1) << FEATURE_AMD_SEV_SNP);
        descriptor_unref(d);
}

static void test_fixture_other_architectures(void) {
        Descriptor *d = parse_fixture("60-edk2-riscv64-virt.json");

        CHECK_COUNTS(d, 0, 0);
        CHECK(d->mode == FLASH_MODE_SPLIT);
        CHECK(d->architecture_mask == 1U << ARCH_RISCV64);
        CHECK_STREQ(descriptor_vars_template(d), "/usr/share/edk2/riscv/RISCV_VIRT_VARS.fd");
        CHECK(descriptor_matches_target(d, ARCH_RISCV64, "virt"));
        CHECK(descriptor_matches_target(d, ARCH_RISCV64, "virt-10.2"));
        CHECK(!descriptor_matches_target(d, ARCH_RISCV64, "sifive_u"));
        descriptor_unref(d);

        d = parse_fixture("60-edk2-loongarch64-virt.json");
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->architecture_mask == 1U << ARCH_LOONGARCH64);
        CHECK_STREQ(descriptor_image(d), "/usr/share/edk2/loongarch64/QEMU_EFI.fd");
        CHECK(descriptor_matches_target(d, ARCH_LOONGARCH64, "virt"));
        CHECK(!descriptor_matches_target(d, ARCH_RISCV64, "virt"));
        descriptor_unref(d);

        /* secure boot without SMM is no warning on aarch64 */
        d = parse_fixture("50-edk2-aarch64-secure-qcow2.json");
        CHECK_COUNTS(d, 0, 0);
        CHECK(d->executable.format == FORMAT_QCOW2);
        CHECK(d->nvram_template.format == FORMAT_QCOW2);
        CHECK(descriptor_has_feature(d, FEATURE_SECURE_BOOT));
        CHECK(descriptor_matches_target(d, ARCH_AARCH64, "virt-9.2"));
        descriptor_unref(d);
}

static void test_fixture_future_feature(void) {
        Descriptor *d = parse_fixture("55-ovmf-x86_64-future-feature.json");

        CHECK_ONLY(d, PROBLEM_WARNING, "features[0]", "unknown feature 'measured-boot', kept for matching");
        CHECK(strv_contains(d->features, "measured-boot"));
        CHECK(d->feature_mask == UINT64_C(1) << FEATURE_ACPI_S3);
        descriptor_unref(d);
}

static void test_byte_order_mark(void) {
        Descriptor *plain = parse_text("{'description': 'x', 'interface-types': ['uefi'], 'mapping': {'device': "
                                       "'memory', 'filename': '/fw/x.fd'}, 'targets': [], 'features': [], 'tags': []}");
        _cleanup_(freep) char *bom = strdup_printf("\xef\xbb\xbf{\"description\": \"x\", \"interface-types\": "
                                                   "[\"uefi\"], \"mapping\": {\"device\": \"memory\", "
                                                   "\"filename\": \"/fw/x.fd\"}, \"targets\": [], \"features\": "
                                                   "[], \"tags\": []}");
        Descriptor *d = parse_data(bom, strlen(bom));

        /* tolerated, and said once: the descriptor is what it would be without the mark */
        CHECK(descriptor_is_valid(d));
        CHECK(d->n_problems == plain->n_problems + 1);
        CHECK_STREQ(d->problems[0].path, "");
        CHECK(d->problems[0].severity == PROBLEM_WARNING);
        CHECK(strstr(d->problems[0].message, "byte-order mark"));
        CHECK_STREQ(d->filename, "/fw/x.fd");
        descriptor_unref(d);
        descriptor_unref(plain);
}

int main(void) {
        RUN(test_byte_order_mark);
        RUN(test_string_tables);
        RUN(test_problem_to_string);
        RUN(test_minimal_valid);
        RUN(test_ref_unref);
        RUN(test_new_unreadable);
        RUN(test_missing_top_level);
        RUN(test_not_an_object);
        RUN(test_wrong_types);
        RUN(test_unknown_members);
        RUN(test_foreign_members);
        RUN(test_interface_types);
        RUN(test_mapping_device);
        RUN(test_flash_modes);
        RUN(test_nvram_template_rule);
        RUN(test_flash_files);
        RUN(test_filenames);
        RUN(test_filename_length_and_quoting);
        RUN(test_memory);
        RUN(test_uefi_vars_rule);
        RUN(test_kernel_and_igvm);
        RUN(test_targets);
        RUN(test_features);
        RUN(test_feature_relations);
        RUN(test_unknown_top_level);
        RUN(test_matches_target);
        RUN(test_size_limit);
        RUN(test_nul_byte);
        RUN(test_malformed_json);
        RUN(test_deep_nesting);
        RUN(test_list_and_string_limits);
        RUN(test_problem_cap);
        RUN(test_errors_past_problem_cap);
        RUN(test_three_mistakes);
        RUN(test_invalid_fixtures);
        RUN(test_fixture_flash_split);
        RUN(test_fixture_flash_combined);
        RUN(test_fixture_flash_stateless);
        RUN(test_fixture_memory_bios);
        RUN(test_fixture_memory_host_vars);
        RUN(test_fixture_kernel_and_igvm);
        RUN(test_fixture_other_architectures);
        RUN(test_fixture_future_feature);
        return 0;
}
