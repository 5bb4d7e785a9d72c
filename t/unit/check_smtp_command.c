/* SMTP command lines: line checks, verbs, paths, parameters, domains. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "smtp_command.h"

/* smtp_line_check on a copy of a literal of n bytes; the stripped length
 * goes to *len. */
static int line_check(const char *lit, size_t n, char *buf, size_t *len)
{
    memcpy(buf, lit, n);
    buf[n] = 'Z';           /* not NUL terminated on entry */
    *len = n;
    return smtp_line_check(buf, len);
}
#define LINE_CHECK(lit, buf, len) line_check(lit, sizeof lit - 1, buf, len)

START_TEST(test_line_check_strips_crlf)
{
    char buf[64];
    size_t n;
    ck_assert_int_eq(LINE_CHECK("MAIL FROM:<a@b>\r\n", buf, &n), SMTP_LINE_OK);
    ck_assert_uint_eq(n, 15);
    ck_assert_str_eq(buf, "MAIL FROM:<a@b>");
}
END_TEST

START_TEST(test_line_check_empty_line_is_ok)
{
    char buf[8];
    size_t n;
    ck_assert_int_eq(LINE_CHECK("\r\n", buf, &n), SMTP_LINE_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_line_check_bare_lf_at_end_refused)
{
    char buf[64];
    size_t n;
    ck_assert_int_eq(LINE_CHECK("NOOP\n", buf, &n), SMTP_LINE_BARE_LF);
    ck_assert_int_eq(LINE_CHECK("\n", buf, &n), SMTP_LINE_BARE_LF);
}
END_TEST

START_TEST(test_line_check_no_line_end_refused)
{
    char buf[64];
    size_t n;
    ck_assert_int_eq(LINE_CHECK("NOOP", buf, &n), SMTP_LINE_BARE_LF);
    ck_assert_int_eq(LINE_CHECK("NOOP\r", buf, &n), SMTP_LINE_BARE_LF);
    n = 0;
    ck_assert_int_eq(smtp_line_check(buf, &n), SMTP_LINE_BARE_LF);
}
END_TEST

START_TEST(test_line_check_bare_cr_inside_refused)
{
    char buf[64];
    size_t n;
    ck_assert_int_eq(LINE_CHECK("NOOP\rQUIT\r\n", buf, &n), SMTP_LINE_BARE_CR);
    ck_assert_int_eq(LINE_CHECK("\r\r\n", buf, &n), SMTP_LINE_BARE_CR);
}
END_TEST

START_TEST(test_line_check_lf_inside_refused)
{
    char buf[64];
    size_t n;
    ck_assert_int_eq(LINE_CHECK("NOOP\nQUIT\r\n", buf, &n), SMTP_LINE_BARE_LF);
}
END_TEST

START_TEST(test_line_check_control_bytes_refused)
{
    static const unsigned char bad[] = { 0, 1, 8, 11, 12, 27, 31, 127 };
    size_t i;
    for (i = 0; i < sizeof bad; i++) {
        char buf[16] = "NOOP x\r\n";
        size_t n = 8;
        buf[5] = (char)bad[i];
        ck_assert_msg(smtp_line_check(buf, &n) == SMTP_LINE_BAD_BYTE,
                      "byte %u accepted", bad[i]);
    }
}
END_TEST

START_TEST(test_line_check_eight_bit_refused)
{
    char buf[64];
    size_t n;
    ck_assert_int_eq(LINE_CHECK("HELO caf\xc3\xa9\r\n", buf, &n), SMTP_LINE_BAD_BYTE);
    ck_assert_int_eq(LINE_CHECK("\x80\r\n", buf, &n), SMTP_LINE_BAD_BYTE);
    ck_assert_int_eq(LINE_CHECK("\xff\r\n", buf, &n), SMTP_LINE_BAD_BYTE);
}
END_TEST

START_TEST(test_line_check_tab_allowed)
{
    char buf[64];
    size_t n;
    ck_assert_int_eq(LINE_CHECK("HELO\tx\r\n", buf, &n), SMTP_LINE_OK);
    ck_assert_str_eq(buf, "HELO\tx");
}
END_TEST

START_TEST(test_split_verb_case_insensitive)
{
    struct smtp_command c;
    const char *l = "mAiL FROM:<a@b>";
    smtp_command_split(l, strlen(l), &c);
    ck_assert_int_eq(c.verb, SMTP_MAIL);
    ck_assert_uint_eq(c.arglen, 10);
    ck_assert(c.arg == l + 5);
}
END_TEST

START_TEST(test_split_every_verb)
{
    static const struct { const char *s; enum smtp_verb v; } t[] = {
        { "HELO", SMTP_HELO }, { "ehlo", SMTP_EHLO }, { "MAIL", SMTP_MAIL },
        { "RCPT", SMTP_RCPT }, { "DATA", SMTP_DATA }, { "RSET", SMTP_RSET },
        { "NOOP", SMTP_NOOP }, { "QUIT", SMTP_QUIT }, { "VRFY", SMTP_VRFY },
        { "EXPN", SMTP_EXPN }, { "HELP", SMTP_HELP }, { "StartTLS", SMTP_STARTTLS },
        { "AUTH", SMTP_AUTH }, { "BDAT", SMTP_BDAT }, { "ETRN", SMTP_ETRN },
        { "TURN", SMTP_TURN },
    };
    size_t i;
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct smtp_command c;
        smtp_command_split(t[i].s, strlen(t[i].s), &c);
        ck_assert_msg(c.verb == t[i].v, "%s: got %d", t[i].s, (int)c.verb);
        ck_assert_uint_eq(c.arglen, 0);
        ck_assert_str_eq(c.arg, "");
    }
}
END_TEST

START_TEST(test_split_unknown_verbs)
{
    static const char *const t[] = { "", "X", "MAILX", "MAI", "STARTTL", "DATA2", " DATA", "DATA\tx" };
    size_t i;
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct smtp_command c;
        smtp_command_split(t[i], strlen(t[i]), &c);
        ck_assert_msg(c.verb == SMTP_UNKNOWN, "\"%s\" recognised as %d", t[i], (int)c.verb);
    }
}
END_TEST

START_TEST(test_split_takes_only_one_space)
{
    struct smtp_command c;
    const char *l = "RCPT  TO:<a@b>";
    smtp_command_split(l, strlen(l), &c);
    ck_assert_int_eq(c.verb, SMTP_RCPT);
    ck_assert_uint_eq(c.arglen, 9);
    ck_assert_int_eq(c.arg[0], ' ');
}
END_TEST

START_TEST(test_split_respects_length)
{
    struct smtp_command c;
    smtp_command_split("QUITTER", 4, &c);
    ck_assert_int_eq(c.verb, SMTP_QUIT);
    ck_assert_uint_eq(c.arglen, 0);
}
END_TEST

/* smtp_path_parse on a string; *addr and *used out. */
static int path(const char *s, int allow_null, char *addr, size_t *used)
{
    return smtp_path_parse(s, strlen(s), allow_null, addr, used);
}

START_TEST(test_path_simple_mailbox)
{
    char a[SMTP_ADDRESS_MAX + 1];
    size_t used = 0;
    ck_assert_int_eq(path("<user@example.com>", 1, a, &used), SMTP_PATH_OK);
    ck_assert_str_eq(a, "user@example.com");
    ck_assert_uint_eq(used, 18);
}
END_TEST

START_TEST(test_path_used_stops_after_bracket)
{
    char a[SMTP_ADDRESS_MAX + 1];
    size_t used = 0;
    ck_assert_int_eq(path("<a@b.c> SIZE=100", 0, a, &used), SMTP_PATH_OK);
    ck_assert_str_eq(a, "a@b.c");
    ck_assert_uint_eq(used, 7);
}
END_TEST

START_TEST(test_path_null_only_where_allowed)
{
    char a[SMTP_ADDRESS_MAX + 1] = "junk";
    size_t used = 0;
    ck_assert_int_eq(path("<>", 1, a, &used), SMTP_PATH_OK);
    ck_assert_str_eq(a, "");
    ck_assert_uint_eq(used, 2);
    ck_assert_int_eq(path("<>", 0, a, &used), SMTP_PATH_SYNTAX);
}
END_TEST

START_TEST(test_path_null_with_source_route_refused)
{
    char a[SMTP_ADDRESS_MAX + 1];
    size_t used;
    ck_assert_int_eq(path("<@a.example:>", 1, a, &used), SMTP_PATH_SYNTAX);
}
END_TEST

START_TEST(test_path_postmaster_without_domain_only_for_rcpt)
{
    char a[SMTP_ADDRESS_MAX + 1];
    size_t used;
    ck_assert_int_eq(path("<postmaster>", 0, a, &used), SMTP_PATH_OK);
    ck_assert_str_eq(a, "postmaster");
    ck_assert_int_eq(path("<PostMaster>", 0, a, &used), SMTP_PATH_OK);
    ck_assert_str_eq(a, "PostMaster");
    /* MAIL (null path allowed) takes no bare postmaster */
    ck_assert_int_eq(path("<postmaster>", 1, a, &used), SMTP_PATH_SYNTAX);
    /* and no other bare local part anywhere */
    ck_assert_int_eq(path("<root>", 0, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(path("<postmasterx>", 0, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(path("<postmaste>", 0, a, &used), SMTP_PATH_SYNTAX);
}
END_TEST

START_TEST(test_path_quoted_local_part)
{
    char a[SMTP_ADDRESS_MAX + 1];
    size_t used;
    ck_assert_int_eq(path("<\"john doe\"@example.com>", 0, a, &used), SMTP_PATH_OK);
    ck_assert_str_eq(a, "\"john doe\"@example.com");
    ck_assert_int_eq(path("<\"a\\\"b\"@example.com>", 0, a, &used), SMTP_PATH_OK);
    ck_assert_str_eq(a, "\"a\\\"b\"@example.com");
}
END_TEST

START_TEST(test_path_quoted_local_part_with_bracket_inside)
{
    char a[SMTP_ADDRESS_MAX + 1];
    size_t used;
    const char *s = "<\"a>b\"@example.com> SIZE=1";
    ck_assert_int_eq(path(s, 0, a, &used), SMTP_PATH_OK);
    ck_assert_str_eq(a, "\"a>b\"@example.com");
    ck_assert_uint_eq(used, 19);
}
END_TEST

START_TEST(test_path_quoted_local_part_malformed)
{
    char a[SMTP_ADDRESS_MAX + 1];
    size_t used;
    ck_assert_int_eq(path("<\"abc@example.com>", 0, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(path("<\"a\"b@example.com>", 0, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(path("<\"a\tb\"@example.com>", 0, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(path("<\"a\\", 0, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(path("<\"\xc3\xa9\"@example.com>", 0, a, &used), SMTP_PATH_SYNTAX);
}
END_TEST

START_TEST(test_path_source_route_dropped)
{
    char a[SMTP_ADDRESS_MAX + 1];
    size_t used;
    const char *s = "<@a.example,@b.example:user@c.example>";
    ck_assert_int_eq(path(s, 1, a, &used), SMTP_PATH_OK);
    ck_assert_str_eq(a, "user@c.example");
    ck_assert_uint_eq(used, strlen(s));
    ck_assert_int_eq(path("<@a.example:user@c.example>", 0, a, &used), SMTP_PATH_OK);
    ck_assert_str_eq(a, "user@c.example");
}
END_TEST

START_TEST(test_path_source_route_without_colon_refused)
{
    char a[SMTP_ADDRESS_MAX + 1];
    size_t used;
    ck_assert_int_eq(path("<@a.example>", 1, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(path("<@a.example,user@c.example>", 1, a, &used), SMTP_PATH_SYNTAX);
}
END_TEST

START_TEST(test_path_address_literals)
{
    char a[SMTP_ADDRESS_MAX + 1];
    size_t used;
    ck_assert_int_eq(path("<a@[192.0.2.1]>", 0, a, &used), SMTP_PATH_OK);
    ck_assert_str_eq(a, "a@[192.0.2.1]");
    ck_assert_int_eq(path("<a@[IPv6:2001:db8::1]>", 0, a, &used), SMTP_PATH_OK);
    ck_assert_str_eq(a, "a@[IPv6:2001:db8::1]");
    ck_assert_int_eq(path("<a@[ipv6:::ffff:192.0.2.1]>", 0, a, &used), SMTP_PATH_OK);
    ck_assert_int_eq(path("<a@[0.0.0.0]>", 0, a, &used), SMTP_PATH_OK);
    ck_assert_int_eq(path("<a@[255.255.255.255]>", 0, a, &used), SMTP_PATH_OK);
}
END_TEST

START_TEST(test_path_bad_address_literals)
{
    static const char *const t[] = {
        "<a@[256.0.0.1]>", "<a@[1.2.3]>", "<a@[1.2.3.4.5]>", "<a@[1.2.3.]>",
        "<a@[1..3.4]>", "<a@[1.2.3.0004]>", "<a@[]>", "<a@[IPv6:]>",
        "<a@[IPv6:2001:db8::g]>", "<a@[IPv6 ::1]>", "<a@[192.0.2.1>",
        "<a@192.0.2.1]>", "<a@[1.2.3.a]>", "<a@[tag:]>",
    };
    size_t i;
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        char a[SMTP_ADDRESS_MAX + 1];
        size_t used;
        ck_assert_msg(path(t[i], 0, a, &used) == SMTP_PATH_SYNTAX, "%s accepted", t[i]);
    }
}
END_TEST

START_TEST(test_path_bad_domains)
{
    static const char *const t[] = {
        "<a@>", "<a@-example.com>", "<a@example-.com>", "<a@ex..com>",
        "<a@.example.com>", "<a@example.com.>", "<a@exa_mple.com>",
        "<a@exa mple.com>", "<a@b@c.com>", "<a@caf\xc3\xa9.com>", "<@example.com>",
        "<a@example.com-.org>",
    };
    size_t i;
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        char a[SMTP_ADDRESS_MAX + 1];
        size_t used;
        ck_assert_msg(path(t[i], 1, a, &used) == SMTP_PATH_SYNTAX, "%s accepted", t[i]);
    }
}
END_TEST

START_TEST(test_path_missing_brackets_refused)
{
    char a[SMTP_ADDRESS_MAX + 1];
    size_t used;
    ck_assert_int_eq(path("a@b.c", 1, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(path("<a@b.c", 1, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(path("a@b.c>", 1, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(path(" <a@b.c>", 1, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(path("", 1, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(path("<", 1, a, &used), SMTP_PATH_SYNTAX);
}
END_TEST

START_TEST(test_path_respects_length_argument)
{
    char a[SMTP_ADDRESS_MAX + 1];
    size_t used;
    ck_assert_int_eq(smtp_path_parse("<a@b.c>", 6, 1, a, &used), SMTP_PATH_SYNTAX);
}
END_TEST

/* "<" + a@ + a domain of labels, total mailbox length len, + ">" */
static void long_path(char *buf, size_t len)
{
    size_t i, label = 0;
    buf[0] = '<';
    buf[1] = 'a';
    buf[2] = '@';
    for (i = 3; i < len + 1; i++) {
        if (label == 63 || i == len) {  /* never end a label on a dot */
            buf[i] = label == 63 && i != len ? '.' : 'x';
            label = buf[i] == '.' ? 0 : label + 1;
        } else {
            buf[i] = 'x';
            label++;
        }
    }
    buf[len + 1] = '>';
    buf[len + 2] = 0;
}

START_TEST(test_path_longest_accepted)
{
    char buf[SMTP_ADDRESS_MAX + 8], a[SMTP_ADDRESS_MAX + 1];
    size_t used;
    long_path(buf, SMTP_ADDRESS_MAX);
    ck_assert_uint_eq(strlen(buf), SMTP_ADDRESS_MAX + 2);
    ck_assert_int_eq(path(buf, 0, a, &used), SMTP_PATH_OK);
    ck_assert_uint_eq(strlen(a), SMTP_ADDRESS_MAX);
    ck_assert_uint_eq(used, SMTP_ADDRESS_MAX + 2);
}
END_TEST

START_TEST(test_path_over_long_is_toolong)
{
    char buf[SMTP_ADDRESS_MAX + 600], a[SMTP_ADDRESS_MAX + 1 + 16];
    size_t used;
    memset(a, 'Q', sizeof a);
    long_path(buf, SMTP_ADDRESS_MAX + 1);
    ck_assert_int_eq(path(buf, 0, a, &used), SMTP_PATH_TOOLONG);
    long_path(buf, 500);
    ck_assert_int_eq(path(buf, 0, a, &used), SMTP_PATH_TOOLONG);
    /* nothing written past the caller's SMTP_ADDRESS_MAX + 1 */
    ck_assert_int_eq(a[SMTP_ADDRESS_MAX + 1], 'Q');
}
END_TEST

START_TEST(test_path_label_of_64_refused)
{
    char buf[128], a[SMTP_ADDRESS_MAX + 1];
    size_t used;
    memcpy(buf, "<a@", 3);
    memset(buf + 3, 'x', 64);
    memcpy(buf + 67, ".com>", 6);
    ck_assert_int_eq(path(buf, 0, a, &used), SMTP_PATH_SYNTAX);
    memcpy(buf + 66, ".com>", 6);   /* 63: fine */
    ck_assert_int_eq(path(buf, 0, a, &used), SMTP_PATH_OK);
}
END_TEST

START_TEST(test_path_dot_string_local_parts)
{
    char a[SMTP_ADDRESS_MAX + 1];
    size_t used;
    ck_assert_int_eq(path("<first.last+tag@example.com>", 0, a, &used), SMTP_PATH_OK);
    ck_assert_int_eq(path("<!#$%&'*+-/=?^_`{|}~@example.com>", 0, a, &used), SMTP_PATH_OK);
    ck_assert_int_eq(path("<a(b)@example.com>", 0, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(path("<a,b@example.com>", 0, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(path("<a b@example.com>", 0, a, &used), SMTP_PATH_SYNTAX);
}
END_TEST

START_TEST(test_prefix_case_insensitive)
{
    ck_assert_uint_eq(smtp_path_prefix("FROM:<a@b>", 10, "FROM:"), 5);
    ck_assert_uint_eq(smtp_path_prefix("from:<a@b>", 10, "FROM:"), 5);
    ck_assert_uint_eq(smtp_path_prefix("To:<a@b>", 8, "TO:"), 3);
}
END_TEST

START_TEST(test_prefix_one_space_after_colon_tolerated)
{
    ck_assert_uint_eq(smtp_path_prefix("FROM: <a@b>", 11, "FROM:"), 6);
    /* only one: the second space is left for the path parser to refuse */
    ck_assert_uint_eq(smtp_path_prefix("FROM:  <a@b>", 12, "FROM:"), 6);
}
END_TEST

START_TEST(test_prefix_mismatch_gives_zero)
{
    ck_assert_uint_eq(smtp_path_prefix("FROM <a@b>", 10, "FROM:"), 0);
    ck_assert_uint_eq(smtp_path_prefix("FRO", 3, "FROM:"), 0);
    ck_assert_uint_eq(smtp_path_prefix("TO:<a@b>", 8, "FROM:"), 0);
    ck_assert_uint_eq(smtp_path_prefix("", 0, "TO:"), 0);
    ck_assert_uint_eq(smtp_path_prefix("FROM:<a@b>", 4, "FROM:"), 0);
}
END_TEST

START_TEST(test_prefix_alone)
{
    ck_assert_uint_eq(smtp_path_prefix("TO:", 3, "TO:"), 3);
    ck_assert_uint_eq(smtp_path_prefix("TO: ", 4, "TO:"), 4);
}
END_TEST

START_TEST(test_param_iterates_key_value_pairs)
{
    const char *s = " SIZE=1000  BODY=8BITMIME SMTPUTF8";
    const char *end = s + strlen(s);
    struct smtp_param p;
    ck_assert_int_eq(smtp_param_next(&s, end, &p), 1);
    ck_assert_str_eq(p.key, "SIZE");
    ck_assert_str_eq(p.value, "1000");
    ck_assert_int_eq(smtp_param_next(&s, end, &p), 1);
    ck_assert_str_eq(p.key, "BODY");
    ck_assert_str_eq(p.value, "8BITMIME");
    ck_assert_int_eq(smtp_param_next(&s, end, &p), 1);
    ck_assert_str_eq(p.key, "SMTPUTF8");
    ck_assert_str_eq(p.value, "");
    ck_assert_int_eq(smtp_param_next(&s, end, &p), 0);
    ck_assert(s == end);
    ck_assert_int_eq(smtp_param_next(&s, end, &p), 0);
}
END_TEST

START_TEST(test_param_empty_and_spaces_only_end)
{
    const char *s = "   ";
    struct smtp_param p;
    ck_assert_int_eq(smtp_param_next(&s, s + 3, &p), 0);
    s = "";
    ck_assert_int_eq(smtp_param_next(&s, s, &p), 0);
}
END_TEST

START_TEST(test_param_syntax_errors)
{
    static const char *const t[] = {
        "=x", "SIZE=", "SIZE=a=b", "-SIZE=1", "SIZE_X=1", "SIZE=\x01",
        "SIZE=caf\xc3\xa9", "SIZE=1\t", "ENVID=x=", "\tSIZE=1",
    };
    size_t i;
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *s = t[i];
        struct smtp_param p;
        ck_assert_msg(smtp_param_next(&s, t[i] + strlen(t[i]), &p) == -1, "\"%s\" accepted", t[i]);
    }
}
END_TEST

START_TEST(test_param_key_with_hyphen)
{
    const char *s = "X-FOO=bar";
    struct smtp_param p;
    ck_assert_int_eq(smtp_param_next(&s, s + 9, &p), 1);
    ck_assert_str_eq(p.key, "X-FOO");
    ck_assert_str_eq(p.value, "bar");
}
END_TEST

START_TEST(test_param_key_and_value_limits)
{
    char buf[600];
    const char *s;
    struct smtp_param p;
    memset(buf, 'K', 31);
    strcpy(buf + 31, "=v");
    s = buf;
    ck_assert_int_eq(smtp_param_next(&s, buf + strlen(buf), &p), 1);
    ck_assert_uint_eq(strlen(p.key), 31);
    memset(buf, 'K', 32);
    strcpy(buf + 32, "=v");
    s = buf;
    ck_assert_int_eq(smtp_param_next(&s, buf + strlen(buf), &p), -1);

    /* ORCPT's 500 octets fit (RFC 3461 4.2). */
    strcpy(buf, "K=");
    memset(buf + 2, 'v', 511);
    buf[513] = 0;
    s = buf;
    ck_assert_int_eq(smtp_param_next(&s, buf + strlen(buf), &p), 1);
    ck_assert_uint_eq(strlen(p.value), 511);
    memset(buf + 2, 'v', 512);
    buf[514] = 0;
    s = buf;
    ck_assert_int_eq(smtp_param_next(&s, buf + strlen(buf), &p), -1);
}
END_TEST

START_TEST(test_param_respects_end)
{
    const char *s = "SIZE=10 BODY=7BIT";
    struct smtp_param p;
    ck_assert_int_eq(smtp_param_next(&s, s + 6, &p), 1);
    ck_assert_str_eq(p.key, "SIZE");
    ck_assert_str_eq(p.value, "1");
}
END_TEST

START_TEST(test_domain_valid_names)
{
    ck_assert(smtp_domain_valid("example.com", 11));
    ck_assert(smtp_domain_valid("a", 1));
    ck_assert(smtp_domain_valid("x-1.example", 11));
    ck_assert(smtp_domain_valid("123.example", 11));
    ck_assert(!smtp_domain_valid("", 0));
    ck_assert(!smtp_domain_valid("example.com.", 12));
    ck_assert(!smtp_domain_valid("-a.com", 6));
    ck_assert(!smtp_domain_valid("a-.com", 6));
    ck_assert(!smtp_domain_valid("a..com", 6));
    ck_assert(!smtp_domain_valid("a_b.com", 7));
}
END_TEST

START_TEST(test_domain_valid_literals)
{
    ck_assert(smtp_domain_valid("[10.0.0.1]", 10));
    ck_assert(smtp_domain_valid("[IPv6:::1]", 10));
    ck_assert(smtp_domain_valid("[x-tag:abc]", 11));
    ck_assert(!smtp_domain_valid("[10.0.0.1", 9));
    ck_assert(!smtp_domain_valid("[300.0.0.1]", 11));
    ck_assert(!smtp_domain_valid("[]", 2));
    ck_assert(!smtp_domain_valid("[x-tag:a]b]", 11));
}
END_TEST

/* RFC 6531: UTF-8 mailboxes only when asked, well-formed only. */
START_TEST(test_path_utf8)
{
    char a[SMTP_ADDRESS_MAX + 1];
    size_t used;
    const char *ok = "<j\303\266rg@b\303\274cher.example>";
    ck_assert_int_eq(smtp_path_parse(ok, strlen(ok), 0, a, &used), SMTP_PATH_SYNTAX);
    ck_assert_int_eq(smtp_path_parse_utf8(ok, strlen(ok), 0, 0, a, &used), SMTP_PATH_NOT_ASCII);
    ck_assert_int_eq(smtp_path_parse_utf8(ok, strlen(ok), 0, 1, a, &used), SMTP_PATH_OK);
    ck_assert_str_eq(a, "j\303\266rg@b\303\274cher.example");
    ck_assert_uint_eq(used, strlen(ok));
    /* quoted local part with UTF-8 */
    ok = "<\"\344\270\255 \346\226\207\"@example.org>";
    ck_assert_int_eq(smtp_path_parse_utf8(ok, strlen(ok), 0, 1, a, &used), SMTP_PATH_OK);
    {
        static const char *const bad[] = {
            "<a\377@b.example>",           /* never in UTF-8 */
            "<a\303@b.example>",           /* cut short */
            "<a\300\200@b.example>",       /* overlong NUL */
            "<a\355\240\200@b.example>",   /* a surrogate */
            "<a\364\220\200\200@b.example>", /* above U+10FFFF */
            "<a@\200.example>",            /* a lone continuation */
        };
        size_t i;
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
            ck_assert_msg(smtp_path_parse_utf8(bad[i], strlen(bad[i]), 0, 1, a, &used) == SMTP_PATH_NOT_ASCII,
                          "bad[%zu] accepted", i);
    }
    /* ASCII still as before */
    ck_assert_int_eq(smtp_path_parse_utf8("<a@b.c>", 7, 0, 1, a, &used), SMTP_PATH_OK);
    ck_assert_int_eq(smtp_path_parse_utf8("<a b@c>", 7, 0, 1, a, &used), SMTP_PATH_SYNTAX);
}
END_TEST

START_TEST(test_line_check8)
{
    char buf[64];
    size_t n;
    int e8;
    strcpy(buf, "MAIL FROM:<\303\244@b>\r\n");
    n = strlen(buf);
    ck_assert_int_eq(smtp_line_check8(buf, &n, &e8), SMTP_LINE_OK);
    ck_assert_int_eq(e8, 1);
    strcpy(buf, "MAIL FROM:<a@b>\r\n");
    n = strlen(buf);
    ck_assert_int_eq(smtp_line_check8(buf, &n, &e8), SMTP_LINE_OK);
    ck_assert_int_eq(e8, 0);
    strcpy(buf, "A\001B\r\n");
    n = strlen(buf);
    ck_assert_int_eq(smtp_line_check8(buf, &n, &e8), SMTP_LINE_BAD_BYTE);
    strcpy(buf, "A\rB\r\n");
    n = strlen(buf);
    ck_assert_int_eq(smtp_line_check8(buf, &n, &e8), SMTP_LINE_BARE_CR);
}
END_TEST

static int kind_of(const char *key, const char *value, int rcpt, int *valid)
{
    struct smtp_param p;
    size_t n = strlen(value);
    snprintf(p.key, sizeof p.key, "%s", key);
    ck_assert_uint_lt(n, sizeof p.value);
    memcpy(p.value, value, n + 1);
    return smtp_param_kind(&p, rcpt, valid);
}

/* RFC 3461's parameters, and the others noqueue knows. */
START_TEST(test_param_kind)
{
    int v;
    char orcpt[520];
    ck_assert_int_eq(kind_of("RET", "HDRS", 0, &v), SMTP_PARAM_RET); ck_assert(v);
    ck_assert_int_eq(kind_of("ret", "full", 0, &v), SMTP_PARAM_RET); ck_assert(v);
    ck_assert_int_eq(kind_of("RET", "ALL", 0, &v), SMTP_PARAM_RET); ck_assert(!v);
    ck_assert_int_eq(kind_of("RET", "HDRS", 1, &v), SMTP_PARAM_UNKNOWN);
    ck_assert_int_eq(kind_of("ENVID", "QQ314159+2Bx", 0, &v), SMTP_PARAM_ENVID); ck_assert(v);
    ck_assert_int_eq(kind_of("ENVID", "a+2bx", 0, &v), SMTP_PARAM_ENVID); ck_assert(!v);
    ck_assert_int_eq(kind_of("ENVID", "a+4", 0, &v), SMTP_PARAM_ENVID); ck_assert(!v);
    memset(orcpt, 'x', 101); orcpt[101] = 0;
    ck_assert_int_eq(kind_of("ENVID", orcpt, 0, &v), SMTP_PARAM_ENVID); ck_assert(!v);
    orcpt[100] = 0;
    ck_assert_int_eq(kind_of("ENVID", orcpt, 0, &v), SMTP_PARAM_ENVID); ck_assert(v);
    ck_assert_int_eq(kind_of("NOTIFY", "NEVER", 1, &v), SMTP_PARAM_NOTIFY); ck_assert(v);
    ck_assert_int_eq(kind_of("NOTIFY", "SUCCESS,FAILURE,DELAY", 1, &v), SMTP_PARAM_NOTIFY); ck_assert(v);
    ck_assert_int_eq(kind_of("NOTIFY", "delay", 1, &v), SMTP_PARAM_NOTIFY); ck_assert(v);
    ck_assert_int_eq(kind_of("NOTIFY", "NEVER,DELAY", 1, &v), SMTP_PARAM_NOTIFY); ck_assert(!v);
    ck_assert_int_eq(kind_of("NOTIFY", "SUCCESS,SUCCESS", 1, &v), SMTP_PARAM_NOTIFY); ck_assert(!v);
    ck_assert_int_eq(kind_of("NOTIFY", "SUCCESS,", 1, &v), SMTP_PARAM_NOTIFY); ck_assert(!v);
    ck_assert_int_eq(kind_of("NOTIFY", "", 1, &v), SMTP_PARAM_NOTIFY); ck_assert(!v);
    ck_assert_int_eq(kind_of("NOTIFY", "NEVER", 0, &v), SMTP_PARAM_UNKNOWN);
    ck_assert_int_eq(kind_of("ORCPT", "rfc822;a+40b.example", 1, &v), SMTP_PARAM_ORCPT); ck_assert(v);
    ck_assert_int_eq(kind_of("ORCPT", "utf-8;a\\x{E4}@b", 1, &v), SMTP_PARAM_ORCPT); ck_assert(v);
    ck_assert_int_eq(kind_of("ORCPT", "rfc822", 1, &v), SMTP_PARAM_ORCPT); ck_assert(!v);
    ck_assert_int_eq(kind_of("ORCPT", ";a@b", 1, &v), SMTP_PARAM_ORCPT); ck_assert(!v);
    ck_assert_int_eq(kind_of("ORCPT", "rfc822;", 1, &v), SMTP_PARAM_ORCPT); ck_assert(!v);
    memcpy(orcpt, "rfc822;", 7); memset(orcpt + 7, 'a', 494); orcpt[501] = 0;
    ck_assert_int_eq(kind_of("ORCPT", orcpt, 1, &v), SMTP_PARAM_ORCPT); ck_assert(!v);
    orcpt[500] = 0;
    ck_assert_int_eq(kind_of("ORCPT", orcpt, 1, &v), SMTP_PARAM_ORCPT); ck_assert(v);
    ck_assert_int_eq(kind_of("SMTPUTF8", "", 0, &v), SMTP_PARAM_SMTPUTF8); ck_assert(v);
    ck_assert_int_eq(kind_of("SMTPUTF8", "yes", 0, &v), SMTP_PARAM_SMTPUTF8); ck_assert(!v);
    ck_assert_int_eq(kind_of("BODY", "BINARYMIME", 0, &v), SMTP_PARAM_BODY); ck_assert(v);
    ck_assert_int_eq(kind_of("SIZE", "123", 0, &v), SMTP_PARAM_SIZE); ck_assert(v);
    ck_assert_int_eq(kind_of("SIZE", "123456789012345678901", 0, &v), SMTP_PARAM_SIZE); ck_assert(!v);
    ck_assert_int_eq(kind_of("XFOO", "1", 0, &v), SMTP_PARAM_UNKNOWN);
}
END_TEST

static Suite *command_suite(void)
{
    Suite *s = suite_create("smtp_command");
    TCase *tc = tcase_create("line");
    tcase_add_test(tc, test_line_check_strips_crlf);
    tcase_add_test(tc, test_line_check_empty_line_is_ok);
    tcase_add_test(tc, test_line_check_bare_lf_at_end_refused);
    tcase_add_test(tc, test_line_check_no_line_end_refused);
    tcase_add_test(tc, test_line_check_bare_cr_inside_refused);
    tcase_add_test(tc, test_line_check_lf_inside_refused);
    tcase_add_test(tc, test_line_check_control_bytes_refused);
    tcase_add_test(tc, test_line_check_eight_bit_refused);
    tcase_add_test(tc, test_line_check_tab_allowed);
    suite_add_tcase(s, tc);

    tc = tcase_create("split");
    tcase_add_test(tc, test_split_verb_case_insensitive);
    tcase_add_test(tc, test_split_every_verb);
    tcase_add_test(tc, test_split_unknown_verbs);
    tcase_add_test(tc, test_split_takes_only_one_space);
    tcase_add_test(tc, test_split_respects_length);
    suite_add_tcase(s, tc);

    tc = tcase_create("path");
    tcase_add_test(tc, test_path_simple_mailbox);
    tcase_add_test(tc, test_path_used_stops_after_bracket);
    tcase_add_test(tc, test_path_null_only_where_allowed);
    tcase_add_test(tc, test_path_null_with_source_route_refused);
    tcase_add_test(tc, test_path_postmaster_without_domain_only_for_rcpt);
    tcase_add_test(tc, test_path_quoted_local_part);
    tcase_add_test(tc, test_path_quoted_local_part_with_bracket_inside);
    tcase_add_test(tc, test_path_quoted_local_part_malformed);
    tcase_add_test(tc, test_path_source_route_dropped);
    tcase_add_test(tc, test_path_source_route_without_colon_refused);
    tcase_add_test(tc, test_path_address_literals);
    tcase_add_test(tc, test_path_bad_address_literals);
    tcase_add_test(tc, test_path_bad_domains);
    tcase_add_test(tc, test_path_missing_brackets_refused);
    tcase_add_test(tc, test_path_respects_length_argument);
    tcase_add_test(tc, test_path_longest_accepted);
    tcase_add_test(tc, test_path_over_long_is_toolong);
    tcase_add_test(tc, test_path_label_of_64_refused);
    tcase_add_test(tc, test_path_dot_string_local_parts);
    suite_add_tcase(s, tc);

    tc = tcase_create("prefix");
    tcase_add_test(tc, test_prefix_case_insensitive);
    tcase_add_test(tc, test_prefix_one_space_after_colon_tolerated);
    tcase_add_test(tc, test_prefix_mismatch_gives_zero);
    tcase_add_test(tc, test_prefix_alone);
    suite_add_tcase(s, tc);

    tc = tcase_create("param");
    tcase_add_test(tc, test_param_iterates_key_value_pairs);
    tcase_add_test(tc, test_param_empty_and_spaces_only_end);
    tcase_add_test(tc, test_param_syntax_errors);
    tcase_add_test(tc, test_param_key_with_hyphen);
    tcase_add_test(tc, test_param_key_and_value_limits);
    tcase_add_test(tc, test_param_respects_end);
    suite_add_tcase(s, tc);

    tc = tcase_create("domain");
    tcase_add_test(tc, test_domain_valid_names);
    tcase_add_test(tc, test_domain_valid_literals);
    tcase_add_test(tc, test_path_utf8);
    tcase_add_test(tc, test_line_check8);
    tcase_add_test(tc, test_param_kind);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(command_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
