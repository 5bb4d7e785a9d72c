/* smtp-table: each line format of noqueue-tables(5), its keys and values
 * as smtp-envcheck looks them up, the errors with their reasons, and the
 * atomic writing of the cdb (a bad source leaves the old table alone). */
#include <check.h>
#include <fcntl.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compile.h"
#include "table.h"

static struct table_entry e;
static char why[300];
static const char *warning;

static int line(enum table_kind kind, const char *s)
{
    why[0] = 0;
    return table_line(kind, s, strlen(s), &e, why, sizeof why, &warning);
}

#define ENTRY(kind, s, k, v) do { \
    ck_assert_msg(line(kind, s) == 1, "%s: %s", s, why); \
    ck_assert_str_eq(e.key, k); \
    ck_assert_uint_eq(e.keylen, strlen(k)); \
    ck_assert_str_eq(e.value, v); \
    ck_assert_uint_eq(e.valuelen, strlen(v)); \
} while (0)

#define BAD(kind, s, reason) do { \
    ck_assert_msg(line(kind, s) == -1, "%s was taken", s); \
    ck_assert_msg(strstr(why, reason), "%s: \"%s\" does not say \"%s\"", s, why, reason); \
} while (0)

START_TEST(test_kind_names)
{
    ck_assert_int_eq(table_kind("clients"), KIND_CLIENTS);
    ck_assert_int_eq(table_kind("senders"), KIND_SENDERS);
    ck_assert_int_eq(table_kind("recipients"), KIND_RECIPIENTS);
    ck_assert_int_eq(table_kind("client"), KIND_NONE);
    ck_assert_str_eq(table_kind_name(KIND_SENDERS), "senders");
}
END_TEST

START_TEST(test_blank_comment_and_line_ends)
{
    ck_assert_int_eq(line(KIND_CLIENTS, ""), 0);
    ck_assert_int_eq(line(KIND_CLIENTS, " \t "), 0);
    ck_assert_int_eq(line(KIND_CLIENTS, "# 10.0.0.0/8 deny"), 0);
    ck_assert_int_eq(line(KIND_SENDERS, "   # indented"), 0);
    ck_assert_int_eq(line(KIND_SENDERS, "\r"), 0);
    ENTRY(KIND_CLIENTS, "10.0.0.0/8 deny\r", "10.0.0.0/8", "deny");
    ENTRY(KIND_CLIENTS, "\t10.0.0.0/8\t\tdeny   Go  away  \t", "10.0.0.0/8", "deny Go  away");
}
END_TEST

START_TEST(test_bytes_outside_printable_ascii)
{
    BAD(KIND_CLIENTS, "10.0.0.1 deny caf\xc3\xa9", "byte 195 (column 18) is not printable ASCII");
    BAD(KIND_SENDERS, "a@example.org deny caf\xc3\xa9", "byte 195 (column 23) is not printable ASCII");
    BAD(KIND_SENDERS, "caf\xc3(@example.org deny", "not UTF-8");
    BAD(KIND_RECIPIENTS, "caf\xc0\xa9" "@example.org", "not UTF-8");     /* overlong */
    BAD(KIND_SENDERS, "a@example.org deny x\x01y", "byte 1 (column 21)");
    BAD(KIND_SENDERS, "a@example.org deny x\ry", "byte 13");
    ck_assert_int_eq(table_line(KIND_SENDERS, "a@b.c deny\0x", 12, &e, why, sizeof why, &warning), -1);
    ck_assert_ptr_nonnull(strstr(why, "byte 0"));
}
END_TEST

/* RFC 6531: UTF-8 addresses and domains, keys lower-cased in ASCII only. */
START_TEST(test_utf8_addresses)
{
    ENTRY(KIND_SENDERS, "J\xc3\xb6" "rg@B\xc3\xbc" "cher.Example deny", "j\xc3\xb6" "rg@b\xc3\xbc" "cher.example", "deny");
    ENTRY(KIND_SENDERS, "@B\xc3\x9c" "CHER.example deny", "@b\xc3\x9c" "cher.example", "deny");
    ENTRY(KIND_RECIPIENTS, "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90" ".example", "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90" ".example", "accept");
    ENTRY(KIND_RECIPIENTS, "*@b\xc3\xbc" "cher.example", "*@b\xc3\xbc" "cher.example", "accept");
    BAD(KIND_CLIENTS, "b\xc3\xbc" "cher.example deny", "byte 195");
    /* the whole first word, a quoted local part with a space included */
    ENTRY(KIND_SENDERS, "\"j \xc3\xb6" "rg\"@example.org deny", "\"j \xc3\xb6" "rg\"@example.org", "deny");
}
END_TEST

START_TEST(test_clients_actions)
{
    ENTRY(KIND_CLIENTS, "192.0.2.1 allow", "192.0.2.1/32", "allow");
    ENTRY(KIND_CLIENTS, "10.0.0.0/8 relay", "10.0.0.0/8", "relay");
    ENTRY(KIND_CLIENTS, "192.0.2.0/24 deny", "192.0.2.0/24", "deny");
    ENTRY(KIND_CLIENTS, "192.0.2.0/24 deny Go away", "192.0.2.0/24", "deny Go away");
    ck_assert_uint_eq(e.prefix, 24);
    ck_assert_uint_eq(e.bits, 32);
    ck_assert_ptr_null(warning);
    ENTRY(KIND_CLIENTS, "2001:DB8::/32 deny", "2001:db8:0:0:0:0:0:0/32", "deny");
    ck_assert_uint_eq(e.bits, 128);
    ENTRY(KIND_CLIENTS, "0.0.0.0/0 deny", "0.0.0.0/0", "deny");
    ck_assert_uint_eq(e.prefix, 0);
}
END_TEST

START_TEST(test_clients_normalised_with_a_warning)
{
    ENTRY(KIND_CLIENTS, "10.1.2.3/8 deny", "10.0.0.0/8", "deny");
    ck_assert_ptr_nonnull(warning);
    ck_assert_str_eq(warning, "10.1.2.3/8 taken as 10.0.0.0/8");
    ENTRY(KIND_CLIENTS, "::ffff:10.0.0.0/104 allow", "10.0.0.0/8", "allow");
    ck_assert_str_eq(warning, "::ffff:10.0.0.0/104 taken as 10.0.0.0/8");
    ck_assert_uint_eq(e.bits, 32);
    ENTRY(KIND_CLIENTS, "2001:db8::1/32 deny", "2001:db8:0:0:0:0:0:0/32", "deny");
    ck_assert_ptr_nonnull(warning);
}
END_TEST

START_TEST(test_clients_errors)
{
    BAD(KIND_CLIENTS, "10.0.0.300 deny", "not an address or address/length: 10.0.0.300");
    BAD(KIND_CLIENTS, "10.0.0.0/33 deny", "not an address or address/length");
    BAD(KIND_CLIENTS, "example.org deny", "not an address");
    BAD(KIND_CLIENTS, "10.0.0.0/8", "no action after 10.0.0.0/8 (allow, relay, deny)");
    BAD(KIND_CLIENTS, "10.0.0.0/8 block", "unknown action block");
    BAD(KIND_CLIENTS, "10.0.0.0/8 Deny", "unknown action Deny");
    BAD(KIND_CLIENTS, "10.0.0.0/8 allow Welcome", "text after allow");
    BAD(KIND_CLIENTS, "10.0.0.0/8 relay x", "text after relay");
    /* no message may be written on a line with a host-bits warning */
    BAD(KIND_CLIENTS, "10.1.0.0/8 frob", "unknown action frob");
}
END_TEST

START_TEST(test_deny_texts)
{
    char text[TABLE_TEXT_MAX + 40];
    ENTRY(KIND_SENDERS, "a@b.example deny 5.7.0 Own code", "a@b.example", "deny 5.7.0 Own code");
    BAD(KIND_SENDERS, "a@b.example deny 4.7.1 Not now", "must be 5.x.x");
    /* 394 characters, and 6 for the "5.7.1 " the filter adds */
    snprintf(text, sizeof text, "a@b.example deny %0394d", 0);
    ck_assert_int_eq(line(KIND_SENDERS, text), 1);
    snprintf(text, sizeof text, "a@b.example deny %0395d", 0);
    BAD(KIND_SENDERS, text, "text longer than 394 characters");
    snprintf(text, sizeof text, "a@b.example deny 5.7.1 %0394d", 0);
    ck_assert_int_eq(line(KIND_SENDERS, text), 1);
    snprintf(text, sizeof text, "a@b.example deny 5.7.1 %0395d", 0);
    BAD(KIND_SENDERS, text, "text longer than 400 characters");
}
END_TEST

START_TEST(test_senders_keys)
{
    ENTRY(KIND_SENDERS, "Alice@Example.ORG deny", "alice@example.org", "deny");
    ENTRY(KIND_SENDERS, "@Example.org allow", "@example.org", "allow");
    ENTRY(KIND_SENDERS, ".example.org deny", ".example.org", "deny");
    ENTRY(KIND_SENDERS, ".org deny", ".org", "deny");
    ENTRY(KIND_SENDERS, "<> deny No bounces", "<>", "deny No bounces");
    ENTRY(KIND_SENDERS, "\"a b\"@example.org deny", "\"a b\"@example.org", "deny");
    ENTRY(KIND_SENDERS, "\"a\\\" b\"@example.org deny", "\"a\\\" b\"@example.org", "deny");
    ENTRY(KIND_SENDERS, "x@[192.0.2.1] deny", "x@[192.0.2.1]", "deny");
    ENTRY(KIND_SENDERS, "@[192.0.2.1] deny", "@[192.0.2.1]", "deny");
}
END_TEST

START_TEST(test_senders_errors)
{
    BAD(KIND_SENDERS, "alice deny", "not an address, @domain, .domain or <>: alice");
    BAD(KIND_SENDERS, "postmaster deny", "not an address");
    BAD(KIND_SENDERS, "a@b@c.example deny", "not an address");
    BAD(KIND_SENDERS, "@bad..example deny", "not a domain: bad..example");
    BAD(KIND_SENDERS, "@ deny", "not a domain");
    BAD(KIND_SENDERS, ". deny", "not a domain");
    BAD(KIND_SENDERS, ".[192.0.2.1] deny", "not a domain");
    BAD(KIND_SENDERS, "<a@b.example> deny", "not an address");
    BAD(KIND_SENDERS, "a@b.example relay", "unknown action relay (allow, deny)");
    BAD(KIND_SENDERS, "a@b.example", "no action after a@b.example (allow, deny)");
}
END_TEST

START_TEST(test_recipients)
{
    ENTRY(KIND_RECIPIENTS, "*@Example.ORG staff", "*@example.org", "accept staff");
    ck_assert_uint_eq(e.domain, 0);
    ENTRY(KIND_RECIPIENTS, "Bob@Example.net", "bob@example.net", "accept");
    ck_assert_uint_eq(e.domain, 3);
    ck_assert_str_eq(e.key + e.domain, "@example.net");
    ENTRY(KIND_RECIPIENTS, "\"a@b\"@example.net Sales-2.x_y", "\"a@b\"@example.net", "accept Sales-2.x_y");
    ck_assert_str_eq(e.key + e.domain, "@example.net");
}
END_TEST

START_TEST(test_recipients_errors)
{
    char text[100];
    BAD(KIND_RECIPIENTS, "example.org", "not an address or *@domain: example.org");
    BAD(KIND_RECIPIENTS, "@example.org", "not an address or *@domain");
    BAD(KIND_RECIPIENTS, "*@ staff", "not an address or *@domain");
    BAD(KIND_RECIPIENTS, "*@bad_domain staff", "not a domain: bad_domain");
    BAD(KIND_RECIPIENTS, "bob@example.net sales team", "more than a class after bob@example.net");
    BAD(KIND_RECIPIENTS, "bob@example.net sales!", "not a rule class");
    snprintf(text, sizeof text, "bob@example.net %033d", 0);
    BAD(KIND_RECIPIENTS, text, "not a rule class (1 to 32");
    snprintf(text, sizeof text, "bob@example.net %032d", 0);
    ck_assert_int_eq(line(KIND_RECIPIENTS, text), 1);
}
END_TEST

START_TEST(test_long_address)
{
    char text[400];
    snprintf(text, sizeof text, "%0242d@example.org deny", 0);      /* 254 */
    ck_assert_int_eq(line(KIND_SENDERS, text), 1);
    snprintf(text, sizeof text, "%0243d@example.org deny", 0);      /* 255 */
    BAD(KIND_SENDERS, text, "not an address");
}
END_TEST

/* --- whole files ---------------------------------------------------------- */

static char dir[64], source[128], target[128];

static void setup(void)
{
    strcpy(dir, "/tmp/check-smtp-table.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(source, sizeof source, "%s/source", dir);
    snprintf(target, sizeof target, "%s/table.cdb", dir);
}

static void teardown(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[400];
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            unlink(path);
        }
    if (d) closedir(d);
    rmdir(dir);
}

static void write_source(const char *text)
{
    FILE *f = fopen(source, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static int files_in_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static const char *get(const char *key)
{
    static char value[600];
    struct table t;
    int r;
    ck_assert_int_eq(table_open(&t, target), 0);
    r = table_get(&t, key, strlen(key), value, sizeof value);
    table_close(&t);
    ck_assert_int_ge(r, 0);
    return r ? value : 0;
}

static int compile(enum table_kind kind)
{
    why[0] = 0;
    return table_compile(kind, source, target, why, sizeof why);
}

/* A table never opened (a zeroed struct) finds nothing and closes
 * nothing: fd 0 stays open; one that failed to open is the same. */
START_TEST(test_unopened_table)
{
    struct table t;
    char value[8];
    memset(&t, 0, sizeof t);
    ck_assert_int_eq(table_get(&t, "a", 1, value, sizeof value), 0);
    table_close(&t);
    ck_assert_int_ge(fcntl(0, F_GETFD), 0);
    ck_assert_int_eq(table_open(&t, "/nonexistent/table.cdb"), -1);
    ck_assert_int_eq(table_get(&t, "a", 1, value, sizeof value), 0);
    table_close(&t);
    ck_assert_int_ge(fcntl(0, F_GETFD), 0);
}
END_TEST

START_TEST(test_compile_clients)
{
    write_source("# ours\n10.0.0.0/8 relay\n192.0.2.0/24 deny Go away\n192.0.2.25 allow\n"
                 "2001:db8::/32 deny\n10.1.0.0/16 allow");      /* no LF at the end */
    ck_assert_int_eq(compile(KIND_CLIENTS), 0);
    ck_assert_str_eq(get("noqueue-table"), "clients 1");
    ck_assert_str_eq(get("10.0.0.0/8"), "relay");
    ck_assert_str_eq(get("192.0.2.0/24"), "deny Go away");
    ck_assert_str_eq(get("192.0.2.25/32"), "allow");
    ck_assert_str_eq(get("10.1.0.0/16"), "allow");
    ck_assert_str_eq(get("2001:db8:0:0:0:0:0:0/32"), "deny");
    ck_assert_str_eq(get("noqueue-prefixes4"), "32 24 16 8");
    ck_assert_str_eq(get("noqueue-prefixes6"), "32");
    ck_assert_int_eq(files_in_dir(), 2);
}
END_TEST

START_TEST(test_compile_empty_clients_has_empty_prefix_lists)
{
    write_source("# nothing yet\n");
    ck_assert_int_eq(compile(KIND_CLIENTS), 0);
    ck_assert_str_eq(get("noqueue-prefixes4"), "");
    ck_assert_str_eq(get("noqueue-prefixes6"), "");
}
END_TEST

START_TEST(test_compile_recipients_marks_domains)
{
    write_source("*@example.org staff\nbob@example.net sales\ncarol@Example.NET\n");
    ck_assert_int_eq(compile(KIND_RECIPIENTS), 0);
    ck_assert_str_eq(get("noqueue-table"), "recipients 1");
    ck_assert_str_eq(get("*@example.org"), "accept staff");
    ck_assert_str_eq(get("bob@example.net"), "accept sales");
    ck_assert_str_eq(get("carol@example.net"), "accept");
    ck_assert_str_eq(get("@example.net"), "domain");
    ck_assert_ptr_null(get("@example.org"));
}
END_TEST

START_TEST(test_compile_bad_lines_leave_the_old_table)
{
    write_source("a@b.example deny\n");
    ck_assert_int_eq(compile(KIND_SENDERS), 0);
    write_source("c@d.example deny\nnonsense\nA@B.example frob\n");
    ck_assert_int_eq(compile(KIND_SENDERS), 100);
    ck_assert_ptr_nonnull(strstr(why, "source: 2 bad lines; "));
    ck_assert_ptr_nonnull(strstr(why, "table.cdb not changed"));
    ck_assert_str_eq(get("a@b.example"), "deny");
    ck_assert_ptr_null(get("c@d.example"));
    ck_assert_int_eq(files_in_dir(), 2);          /* no temporary file left */
}
END_TEST

START_TEST(test_compile_duplicates_after_normalising)
{
    write_source("10.0.0.0/8 deny\n10.9.9.9/8 allow\n");
    ck_assert_int_eq(compile(KIND_CLIENTS), 100);
    ck_assert_ptr_nonnull(strstr(why, "1 bad line;"));
    write_source("*@example.org\n*@EXAMPLE.org staff\n");
    ck_assert_int_eq(compile(KIND_RECIPIENTS), 100);
    write_source("bob@example.org\nbob@example.org\n");
    ck_assert_int_eq(compile(KIND_RECIPIENTS), 100);
}
END_TEST

START_TEST(test_compile_too_long_line)
{
    char text[TABLE_LINE_MAX + 100];
    snprintf(text, sizeof text, "a@b.example deny %0*d\nc@d.example deny\n", TABLE_LINE_MAX, 0);
    write_source(text);
    ck_assert_int_eq(compile(KIND_SENDERS), 100);
    ck_assert_ptr_nonnull(strstr(why, "1 bad line;"));     /* not two */
}
END_TEST

START_TEST(test_compile_missing_source)
{
    ck_assert_int_eq(table_compile(KIND_SENDERS, "/nonexistent/x", target, why, sizeof why), 100);
    ck_assert_str_eq(why, "unable to open /nonexistent/x: No such file or directory");
    ck_assert_int_eq(files_in_dir(), 0);
}
END_TEST

START_TEST(test_compile_unwritable_directory)
{
    write_source("a@b.example deny\n");
    ck_assert_int_eq(table_compile(KIND_SENDERS, source, "/nonexistent/t.cdb", why, sizeof why), 111);
    ck_assert_ptr_nonnull(strstr(why, "unable to create /nonexistent/t.cdb.tmp"));
}
END_TEST

START_TEST(test_compile_keeps_the_mode_of_the_old_table)
{
    struct stat st;
    write_source("a@b.example deny\n");
    ck_assert_int_eq(compile(KIND_SENDERS), 0);
    ck_assert_int_eq(chmod(target, 0640), 0);
    ck_assert_int_eq(compile(KIND_SENDERS), 0);
    ck_assert_int_eq(stat(target, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0640);
}
END_TEST

START_TEST(test_compile_replaces_by_rename)
{
    struct stat before, after;
    struct table t;
    char value[64];
    write_source("a@b.example deny\n");
    ck_assert_int_eq(compile(KIND_SENDERS), 0);
    ck_assert_int_eq(stat(target, &before), 0);
    /* a reader that has the old table open keeps reading the old one */
    ck_assert_int_eq(table_open(&t, target), 0);
    write_source("c@d.example deny\n");
    ck_assert_int_eq(compile(KIND_SENDERS), 0);
    ck_assert_int_eq(stat(target, &after), 0);
    ck_assert_uint_ne(before.st_ino, after.st_ino);
    ck_assert_int_eq(table_get(&t, "a@b.example", 11, value, sizeof value), 1);
    table_close(&t);
    ck_assert_ptr_null(get("a@b.example"));
    ck_assert_str_eq(get("c@d.example"), "deny");
}
END_TEST

static Suite *table_suite(void)
{
    Suite *s = suite_create("smtp-table");
    TCase *tc = tcase_create("lines");
    TCase *files = tcase_create("files");
    tcase_add_test(tc, test_kind_names);
    tcase_add_test(tc, test_blank_comment_and_line_ends);
    tcase_add_test(tc, test_bytes_outside_printable_ascii);
    tcase_add_test(tc, test_utf8_addresses);
    tcase_add_test(tc, test_clients_actions);
    tcase_add_test(tc, test_clients_normalised_with_a_warning);
    tcase_add_test(tc, test_clients_errors);
    tcase_add_test(tc, test_deny_texts);
    tcase_add_test(tc, test_senders_keys);
    tcase_add_test(tc, test_senders_errors);
    tcase_add_test(tc, test_recipients);
    tcase_add_test(tc, test_recipients_errors);
    tcase_add_test(tc, test_long_address);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(files, setup, teardown);
    tcase_add_test(files, test_compile_clients);
    tcase_add_test(files, test_compile_empty_clients_has_empty_prefix_lists);
    tcase_add_test(files, test_compile_recipients_marks_domains);
    tcase_add_test(files, test_compile_bad_lines_leave_the_old_table);
    tcase_add_test(files, test_compile_duplicates_after_normalising);
    tcase_add_test(files, test_compile_too_long_line);
    tcase_add_test(files, test_compile_missing_source);
    tcase_add_test(files, test_compile_unwritable_directory);
    tcase_add_test(files, test_compile_keeps_the_mode_of_the_old_table);
    tcase_add_test(files, test_compile_replaces_by_rename);
    tcase_add_test(files, test_unopened_table);
    suite_add_tcase(s, files);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(table_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
