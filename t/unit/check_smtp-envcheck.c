/* smtp-envcheck: each check against tables written here in the format
 * smtp-table(8) makes (noqueue-tables(5)): the client (prefixes, most
 * specific first, RBLSMTPD, RELAYCLIENT), HELO, the sender (address,
 * @domain, parent domains, <>), recipients (address, *@domain, unknown,
 * relaying), the answer lines, and the event loop on garbage. */
#include <cdb.h>
#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envcheck.h"

static char dir[64];
static struct envcheck ec;
static struct verdict v;

/* make_table(name, kind, key, value, ..., NULL) -> its path */
static const char *make_table(const char *name, const char *kind, ...)
{
    static char paths[4][128];
    static int next;
    char *path = paths[next++ % 4];
    struct cdb_make cm;
    char kindvalue[32];
    const char *k, *val;
    va_list ap;
    int fd;
    snprintf(path, 128, "%s/%s", dir, name);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(cdb_make_start(&cm, fd), 0);
    if (kind) {
        snprintf(kindvalue, sizeof kindvalue, "%s 1", kind);
        cdb_make_add(&cm, "noqueue-table", 13, kindvalue, (unsigned)strlen(kindvalue));
    }
    va_start(ap, kind);
    while ((k = va_arg(ap, const char *))) {
        val = va_arg(ap, const char *);
        cdb_make_add(&cm, k, (unsigned)strlen(k), val, (unsigned)strlen(val));
    }
    va_end(ap);
    ck_assert_int_eq(cdb_make_finish(&cm), 0);
    close(fd);
    return path;
}

static void setup(void)
{
    strcpy(dir, "/tmp/check-envcheck.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    memset(&ec, 0, sizeof ec);
    ec.helo = HELO_SYNTAX | HELO_SELF;
    unsetenv("RBLSMTPD");
    unsetenv("RELAYCLIENT");
    unsetenv("TCPLOCALHOST");
}

static void teardown(void)
{
    static const char *names[] = { "clients", "senders", "recipients", "other" };
    char path[128];
    size_t i;
    envcheck_close(&ec);
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void open_ok(void)
{
    char why[600];
    ck_assert_msg(envcheck_open(&ec, why, sizeof why) == 0, "%s", why);
}

static void clients(void)
{
    ec.clients.path = make_table("clients", "clients",
        "noqueue-prefixes4", "32 24 16 8", "noqueue-prefixes6", "128 48 32",
        "10.0.0.0/8", "relay",
        "192.0.2.0/24", "deny",
        "192.0.2.25/32", "allow",
        "198.51.100.0/24", "deny 5.7.0 Go away",
        "203.0.0.0/16", "deny Not you",
        "2001:db8:0:0:0:0:0:0/32", "deny",
        "2001:db8:25:0:0:0:0:0/48", "relay",
        "2001:db8:0:0:0:0:0:1/128", "allow",
        (char *)0);
}

static void recipients(void)
{
    ec.recipients.path = make_table("recipients", "recipients",
        "*@example.org", "accept staff",
        "bob@example.net", "accept sales",
        "carol@example.net", "accept",
        "@example.net", "domain",
        (char *)0);
}

static void connect_from(const char *ip)
{
    envcheck_connect(&ec, ip, "192.0.2.10", &v);
    ck_assert_int_eq(v.code, 0);            /* held until RCPT */
}

static void rcpt(const char *address)
{
    envcheck_rcpt(&ec, address, strlen(address), &v);
}

#define VERDICT(c, t) do { \
    ck_assert_int_eq(v.code, c); \
    ck_assert_str_eq(v.text, t); \
} while (0)

/* --- opening --------------------------------------------------------------- */

START_TEST(test_open_missing_table)
{
    char why[600];
    ec.recipients.path = "/nonexistent/rcpt.cdb";
    ck_assert_int_eq(envcheck_open(&ec, why, sizeof why), -1);
    ck_assert_str_eq(why, "unable to open /nonexistent/rcpt.cdb: No such file or directory");
}
END_TEST

START_TEST(test_open_table_of_another_kind)
{
    char why[600];
    ec.recipients.path = make_table("other", "senders", (char *)0);
    ck_assert_int_eq(envcheck_open(&ec, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "is not a recipients table made by smtp-table (it says: senders 1)"));
    ec.recipients.path = make_table("other", 0, "a@b.example", "accept", (char *)0);
    ck_assert_int_eq(envcheck_open(&ec, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "is not a recipients table made by smtp-table"));
}
END_TEST

START_TEST(test_open_clients_needs_its_prefix_lists)
{
    char why[600];
    ec.clients.path = make_table("clients", "clients", "noqueue-prefixes4", "8", (char *)0);
    ck_assert_int_eq(envcheck_open(&ec, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "no valid noqueue-prefixes6"));
    ec.clients.path = make_table("clients", "clients", "noqueue-prefixes4", "8 24",
                                 "noqueue-prefixes6", "", (char *)0);
    ck_assert_int_eq(envcheck_open(&ec, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "no valid noqueue-prefixes4"));
    ec.clients.path = make_table("clients", "clients", "noqueue-prefixes4", "33",
                                 "noqueue-prefixes6", "", (char *)0);
    ck_assert_int_eq(envcheck_open(&ec, why, sizeof why), -1);
}
END_TEST

START_TEST(test_helo_check_lists)
{
    unsigned bits;
    ck_assert_int_eq(envcheck_helo_checks("syntax,self", &bits), 0);
    ck_assert_uint_eq(bits, HELO_SYNTAX | HELO_SELF);
    ck_assert_int_eq(envcheck_helo_checks("fqdn", &bits), 0);
    ck_assert_uint_eq(bits, HELO_FQDN);
    ck_assert_int_eq(envcheck_helo_checks("none", &bits), 0);
    ck_assert_uint_eq(bits, 0);
    ck_assert_int_eq(envcheck_helo_checks("syntax,", &bits), -1);
    ck_assert_int_eq(envcheck_helo_checks("", &bits), -1);
    ck_assert_int_eq(envcheck_helo_checks("syntax,none", &bits), -1);
    ck_assert_int_eq(envcheck_helo_checks("Syntax", &bits), -1);
}
END_TEST

/* --- the client ---------------------------------------------------------------- */

START_TEST(test_client_prefixes_most_specific_first)
{
    clients();
    recipients();
    open_ok();
    connect_from("192.0.2.1");              /* in 192.0.2.0/24 deny */
    rcpt("bob@example.net");
    VERDICT(554, "5.7.1 Client host rejected");
    ck_assert_str_eq(v.entry, "192.0.2.0/24");
    connect_from("192.0.2.25");             /* the /32 allow inside it */
    rcpt("bob@example.net");
    VERDICT(0, "");
    ck_assert_str_eq(v.class, "sales");
    connect_from("198.51.100.7");           /* its own text and code */
    rcpt("bob@example.net");
    VERDICT(554, "5.7.0 Go away");
    connect_from("203.0.9.9");
    rcpt("bob@example.net");
    VERDICT(554, "5.7.1 Not you");
    connect_from("203.1.0.1");              /* not listed */
    rcpt("bob@example.net");
    VERDICT(0, "");
}
END_TEST

START_TEST(test_client_only_listed_prefix_lengths_are_looked_up)
{
    /* a /24 entry that the table's own list does not name is not seen */
    ec.clients.path = make_table("clients", "clients", "noqueue-prefixes4", "32",
                                 "noqueue-prefixes6", "", "192.0.2.0/24", "deny", (char *)0);
    recipients();
    open_ok();
    connect_from("192.0.2.1");
    rcpt("bob@example.net");
    VERDICT(0, "");
}
END_TEST

START_TEST(test_client_ipv6_and_mapped)
{
    clients();
    recipients();
    open_ok();
    connect_from("2001:db8::5");
    rcpt("bob@example.net");
    VERDICT(554, "5.7.1 Client host rejected");
    ck_assert_str_eq(v.entry, "2001:db8:0:0:0:0:0:0/32");
    connect_from("2001:DB8:0::1");          /* the /128 allow */
    rcpt("bob@example.net");
    VERDICT(0, "");
    connect_from("::ffff:192.0.2.7");       /* IPv4 over an IPv6 socket */
    rcpt("bob@example.net");
    VERDICT(554, "5.7.1 Client host rejected");
    connect_from("2001:db8:25::9");         /* relay */
    rcpt("x@elsewhere.example");
    VERDICT(0, "");
}
END_TEST

START_TEST(test_client_relay_entry)
{
    clients();
    recipients();
    open_ok();
    connect_from("10.1.2.3");
    rcpt("anyone@elsewhere.example");
    VERDICT(0, "");
    ck_assert_str_eq(v.class, "");
    rcpt("nobody@example.net");             /* still unknown here */
    VERDICT(550, "5.1.1 No such user here");
    connect_from("203.1.0.1");              /* the next connection: no relay */
    rcpt("anyone@elsewhere.example");
    VERDICT(554, "5.7.1 Relaying denied");
}
END_TEST

START_TEST(test_client_address_not_an_address)
{
    clients();
    recipients();
    open_ok();
    connect_from("unknown");
    rcpt("bob@example.net");
    VERDICT(451, "4.3.0 Temporary lookup failure, try again later");
    connect_from("");
    rcpt("bob@example.net");
    ck_assert_int_eq(v.code, 451);
}
END_TEST

START_TEST(test_client_without_table_takes_any_address)
{
    recipients();
    open_ok();
    connect_from("unknown");
    rcpt("bob@example.net");
    VERDICT(0, "");
}
END_TEST

START_TEST(test_rblsmtpd_permanent_temporary_and_empty)
{
    clients();
    recipients();
    open_ok();
    setenv("RBLSMTPD", "-Listed at bl.example, see http://bl.example/", 1);
    connect_from("203.1.0.1");
    rcpt("bob@example.net");
    VERDICT(553, "5.7.1 Listed at bl.example, see http://bl.example/");
    ck_assert_str_eq(v.reason, "RBLSMTPD");
    setenv("RBLSMTPD", "Try again later", 1);
    connect_from("203.1.0.1");
    rcpt("bob@example.net");
    VERDICT(451, "4.7.1 Try again later");
    setenv("RBLSMTPD", "-5.7.0 Own code", 1);
    connect_from("203.1.0.1");
    rcpt("bob@example.net");
    VERDICT(553, "5.7.0 Own code");
    setenv("RBLSMTPD", "-", 1);
    connect_from("203.1.0.1");
    rcpt("bob@example.net");
    VERDICT(553, "5.7.1 Client host rejected");
    /* set and empty: allowed by the rules, the table is not asked */
    setenv("RBLSMTPD", "", 1);
    connect_from("192.0.2.1");
    rcpt("bob@example.net");
    VERDICT(0, "");
}
END_TEST

START_TEST(test_rblsmtpd_text_made_safe)
{
    char long_text[1000];
    recipients();
    open_ok();
    setenv("RBLSMTPD", "-bad\ttext\xc3\xa9", 1);
    connect_from("203.1.0.1");
    rcpt("bob@example.net");
    VERDICT(553, "5.7.1 bad?text??");
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = 0;
    setenv("RBLSMTPD", long_text, 1);
    connect_from("203.1.0.1");
    rcpt("bob@example.net");
    ck_assert_int_eq(v.code, 451);
    ck_assert_uint_eq(strlen(v.text), STATUSTEXT_MAX);
}
END_TEST

START_TEST(test_relayclient)
{
    recipients();
    open_ok();
    setenv("RELAYCLIENT", "", 1);           /* set, even empty */
    connect_from("203.1.0.1");
    rcpt("x@elsewhere.example");
    VERDICT(0, "");
    rcpt("bob@example.net");
    ck_assert_str_eq(v.class, "sales");
    unsetenv("RELAYCLIENT");
    connect_from("203.1.0.1");
    rcpt("x@elsewhere.example");
    VERDICT(554, "5.7.1 Relaying denied");
}
END_TEST

START_TEST(test_rblsmtpd_wins_over_relayclient)
{
    recipients();
    open_ok();
    setenv("RELAYCLIENT", "", 1);
    setenv("RBLSMTPD", "-No", 1);
    connect_from("203.1.0.1");
    rcpt("x@elsewhere.example");
    VERDICT(553, "5.7.1 No");
}
END_TEST

/* --- HELO -------------------------------------------------------------------------- */

static void helo(const char *name)
{
    envcheck_helo(&ec, name, strlen(name), &v);
}

START_TEST(test_helo_syntax)
{
    static const char *bad[] = { "", "bad_name", "-x.example", "a..example", "1.2.3.4", "host.123",
                                 "123", "[300.1.1.1]", "[1.2.3.4", "x.example.", "a b" };
    static const char *good[] = { "mx.example.org", "localhost", "[192.0.2.1]", "[IPv6:2001:db8::1]",
                                  "MX-1.Example.ORG", "1.example", "x.example.c0m" };
    size_t i;
    open_ok();
    connect_from("203.1.0.1");
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        helo(bad[i]);
        ck_assert_msg(v.code == 501, "%s was taken", bad[i]);
        ck_assert_str_eq(v.text, "5.5.2 Invalid HELO name");
    }
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        helo(good[i]);
        ck_assert_msg(v.code == 0, "%s was refused", good[i]);
    }
    envcheck_helo(&ec, "a.example\0x", 11, &v);
    ck_assert_int_eq(v.code, 501);
}
END_TEST

START_TEST(test_helo_self)
{
    open_ok();
    ec.names[ec.nnames++] = "mx.example.org";
    ck_assert(ipaddr_parse(&ec.addresses[ec.naddresses++], "198.51.100.25", 13));
    ck_assert(ipaddr_parse(&ec.addresses[ec.naddresses++], "2001:db8::25", 12));
    setenv("TCPLOCALHOST", "proxy.example.org", 1);
    connect_from("203.1.0.1");              /* our address there: 192.0.2.10 */
    helo("MX.Example.ORG");
    VERDICT(550, "5.7.1 You are not this host");
    helo("proxy.example.org");
    VERDICT(550, "5.7.1 You are not this host");
    helo("[192.0.2.10]");
    VERDICT(550, "5.7.1 You are not this host");
    helo("[198.51.100.25]");
    ck_assert_int_eq(v.code, 550);
    helo("[IPv6:2001:DB8:0::25]");
    ck_assert_int_eq(v.code, 550);
    helo("[IPv6:::ffff:192.0.2.10]");
    ck_assert_int_eq(v.code, 550);
    helo("client.example.org");
    VERDICT(0, "");
    helo("[192.0.2.11]");
    VERDICT(0, "");
    helo("mx.example.org.example");
    VERDICT(0, "");
}
END_TEST

START_TEST(test_helo_self_without_syntax)
{
    open_ok();
    ec.helo = HELO_SELF;
    ec.names[ec.nnames++] = "mx.example.org";
    connect_from("203.1.0.1");
    helo("mx.example.org.");                /* a trailing dot is still us */
    ck_assert_int_eq(v.code, 550);
    helo("192.0.2.10");                     /* so is a bare address */
    ck_assert_int_eq(v.code, 550);
    helo("bad_name");
    VERDICT(0, "");
}
END_TEST

START_TEST(test_helo_fqdn_and_none)
{
    open_ok();
    connect_from("203.1.0.1");
    helo("localhost");
    VERDICT(0, "");                         /* fqdn is not on by default */
    ec.helo |= HELO_FQDN;
    helo("localhost");
    VERDICT(504, "5.5.2 HELO name must be a fully qualified domain name");
    helo("[192.0.2.1]");
    VERDICT(0, "");
    ec.helo = 0;
    helo("bad_name");
    VERDICT(0, "");
    helo("[192.0.2.10]");
    VERDICT(0, "");
}
END_TEST

/* --- the sender ---------------------------------------------------------------------- */

static void senders(void)
{
    ec.senders.path = make_table("senders", "senders",
        "spammer@example.com", "deny We do not want your mail",
        "@spam.example", "deny",
        ".spam.example", "deny 5.7.0 Nor from below",
        "friend@spam.example", "allow",
        "@ok.bad.example", "allow",
        ".bad.example", "deny",
        ".tld", "deny",
        "@[192.0.2.1]", "deny",
        (char *)0);
}

static void mail(const char *sender)
{
    envcheck_mail(&ec, sender, strlen(sender), &v);
}

START_TEST(test_sender_lookup_order)
{
    senders();
    open_ok();
    mail("spammer@example.com");
    VERDICT(550, "5.7.1 We do not want your mail");
    ck_assert_str_eq(v.entry, "spammer@example.com");
    mail("SPAMMER@Example.COM");
    ck_assert_int_eq(v.code, 550);
    mail("other@example.com");
    VERDICT(0, "");
    mail("anyone@spam.example");
    VERDICT(550, "5.7.1 Sender address rejected");
    ck_assert_str_eq(v.entry, "@spam.example");
    mail("anyone@deep.sub.spam.example");
    VERDICT(550, "5.7.0 Nor from below");
    ck_assert_str_eq(v.entry, ".spam.example");
    mail("friend@spam.example");            /* the address before its domain */
    VERDICT(0, "");
    mail("x@ok.bad.example");               /* @domain before its parent */
    VERDICT(0, "");
    mail("x@no.bad.example");
    ck_assert_int_eq(v.code, 550);
    ck_assert_str_eq(v.entry, ".bad.example");
    mail("x@bad.example");                  /* .bad.example is below it only */
    VERDICT(0, "");
    mail("x@a.b.c.tld");
    ck_assert_str_eq(v.entry, ".tld");
    mail("x@[192.0.2.1]");
    ck_assert_str_eq(v.entry, "@[192.0.2.1]");
}
END_TEST

START_TEST(test_sender_null)
{
    senders();
    open_ok();
    envcheck_mail(&ec, "", 0, &v);
    VERDICT(0, "");
    envcheck_close(&ec);
    ec.senders.path = make_table("senders", "senders", "<>", "deny No bounces here", (char *)0);
    open_ok();
    envcheck_mail(&ec, "", 0, &v);
    VERDICT(550, "5.7.1 No bounces here");
}
END_TEST

START_TEST(test_sender_without_table)
{
    open_ok();
    mail("spammer@example.com");
    VERDICT(0, "");
}
END_TEST

START_TEST(test_sender_malformed)
{
    char big[400];
    senders();
    open_ok();
    envcheck_mail(&ec, "a@b\0c", 5, &v);
    ck_assert_int_eq(v.code, 550);
    memset(big, 'a', sizeof big);
    envcheck_mail(&ec, big, sizeof big, &v);
    ck_assert_int_eq(v.code, 550);
    mail("no-at-sign");
    VERDICT(0, "");
    mail("@");
    VERDICT(0, "");
    mail("x@.");
    VERDICT(0, "");
}
END_TEST

START_TEST(test_bad_values_are_lookup_failures)
{
    ec.senders.path = make_table("senders", "senders", "a@b.example", "frob",
                                 "c@b.example", "deny bad\ttext", (char *)0);
    ec.recipients.path = make_table("recipients", "recipients", "a@b.example", "accept bad class!",
                                    "c@b.example", "domain", "@d.example", "accept", (char *)0);
    open_ok();
    connect_from("203.1.0.1");
    mail("a@b.example");
    VERDICT(451, "4.3.0 Temporary lookup failure, try again later");
    mail("c@b.example");
    ck_assert_int_eq(v.code, 451);
    rcpt("a@b.example");
    ck_assert_int_eq(v.code, 451);
    rcpt("c@b.example");
    ck_assert_int_eq(v.code, 451);
    rcpt("x@d.example");
    ck_assert_int_eq(v.code, 451);
}
END_TEST

/* --- recipients --------------------------------------------------------------------- */

START_TEST(test_recipients)
{
    recipients();
    open_ok();
    connect_from("203.1.0.1");
    rcpt("bob@example.net");
    VERDICT(0, "");
    ck_assert_str_eq(v.class, "sales");
    rcpt("Bob@EXAMPLE.Net");
    ck_assert_str_eq(v.class, "sales");
    rcpt("carol@example.net");
    VERDICT(0, "");
    ck_assert_str_eq(v.class, "");
    rcpt("anyone@Example.ORG");
    VERDICT(0, "");
    ck_assert_str_eq(v.class, "staff");
    ck_assert_str_eq(v.entry, "*@example.org");
    rcpt("nobody@example.net");
    VERDICT(550, "5.1.1 No such user here");
    rcpt("bob@sub.example.net");
    VERDICT(554, "5.7.1 Relaying denied");
    rcpt("bob@example.net.evil.example");
    VERDICT(554, "5.7.1 Relaying denied");
    rcpt("bob@example.net@evil.example");
    VERDICT(554, "5.7.1 Relaying denied");
    rcpt("\"bob@example.net\"@evil.example");
    VERDICT(554, "5.7.1 Relaying denied");
}
END_TEST

START_TEST(test_recipients_postmaster_and_malformed)
{
    char big[300];
    recipients();
    open_ok();
    connect_from("203.1.0.1");
    rcpt("PostMaster");
    VERDICT(0, "");
    rcpt("PostMaster@Example.NET");         /* ours, listed or not */
    VERDICT(0, "");
    ck_assert_str_eq(v.class, "");
    rcpt("postmaster@elsewhere.example");
    ck_assert_int_eq(v.code, 554);
    rcpt("xpostmaster@example.net");
    ck_assert_int_eq(v.code, 550);
    rcpt("postmistress");
    ck_assert_int_eq(v.code, 554);
    rcpt("");
    ck_assert_int_eq(v.code, 554);
    envcheck_rcpt(&ec, "bob@example.net\0x", 17, &v);
    ck_assert_int_eq(v.code, 554);
    memset(big, 'a', sizeof big);
    envcheck_rcpt(&ec, big, sizeof big, &v);
    ck_assert_int_eq(v.code, 554);
    rcpt("@example.org");
    ck_assert_str_eq(v.class, "staff");     /* *@example.org takes it */
}
END_TEST

START_TEST(test_no_recipient_table_is_no_relay)
{
    open_ok();
    connect_from("203.1.0.1");
    rcpt("bob@example.net");
    VERDICT(554, "5.7.1 Relaying denied");
    setenv("RELAYCLIENT", "", 1);
    connect_from("203.1.0.1");
    rcpt("bob@example.net");
    VERDICT(0, "");
}
END_TEST

START_TEST(test_texts_from_the_environment)
{
    const char *why;
    struct statustext saved[T_COUNT];
    memcpy(saved, envcheck_texts, sizeof saved);
    setenv("SMTP_TEXT_RELAY_DENIED", "We are not an open relay", 1);
    ck_assert_int_eq(statustext_load(envcheck_texts, T_COUNT, &why), -1);
    open_ok();
    connect_from("203.1.0.1");
    rcpt("x@elsewhere.example");
    VERDICT(554, "5.7.1 We are not an open relay");
    /* the enhanced status code of our own texts stays ours */
    setenv("SMTP_TEXT_RELAY_DENIED", "5.7.0 Own code", 1);
    ck_assert_int_eq(statustext_load(envcheck_texts, T_COUNT, &why), -1);
    rcpt("x@elsewhere.example");
    VERDICT(554, "5.7.1 5.7.0 Own code");
    setenv("SMTP_TEXT_RECIPIENT_UNKNOWN", "caf\xc3\xa9", 1);
    ck_assert_int_eq(statustext_load(envcheck_texts, T_COUNT, &why), T_RECIPIENT_UNKNOWN);
    ck_assert_str_eq(why, "has a non-ASCII byte");
    memcpy(envcheck_texts, saved, sizeof saved);
    unsetenv("SMTP_TEXT_RELAY_DENIED");
    unsetenv("SMTP_TEXT_RECIPIENT_UNKNOWN");
}
END_TEST

START_TEST(test_texts_never_longer_than_the_proxy_takes)
{
    char text[STATUSTEXT_MAX + 1];
    const char *why;
    memset(text, 'x', STATUSTEXT_MAX);
    text[STATUSTEXT_MAX] = 0;
    setenv("SMTP_TEXT_RELAY_DENIED", text, 1);
    ck_assert_int_eq(statustext_load(envcheck_texts, T_COUNT, &why), -1);
    open_ok();
    connect_from("203.1.0.1");
    rcpt("x@elsewhere.example");
    ck_assert_uint_eq(strlen(v.text), STATUSTEXT_MAX);
    ck_assert(!strncmp(v.text, "5.7.1 xxx", 9));
    unsetenv("SMTP_TEXT_RELAY_DENIED");
}
END_TEST

/* --- answers and the loop ---------------------------------------------------------- */

START_TEST(test_answer_lines)
{
    char lines[2][STATUSTEXT_MAX + 64];
    struct verdict a;
    memset(&a, 0, sizeof a);
    ck_assert_int_eq(envcheck_answer(&a, lines), 1);
    ck_assert_str_eq(lines[0], "continue");
    strcpy(a.class, "sales");
    ck_assert_int_eq(envcheck_answer(&a, lines), 2);
    ck_assert_str_eq(lines[0], "class sales");
    ck_assert_str_eq(lines[1], "continue");
    a.class[0] = 0;
    a.code = 550;
    strcpy(a.text, "5.1.1 No such user here");
    envcheck_answer(&a, lines);
    ck_assert_str_eq(lines[0], "reject 550 5.1.1 No such user here");
    a.code = 451;
    strcpy(a.text, "4.3.0 Later");
    envcheck_answer(&a, lines);
    ck_assert_str_eq(lines[0], "tempfail 451 4.3.0 Later");
}
END_TEST

/* Run the loop with input on fd 0; the output and status. */
static int run(const char *input, size_t n, char *output, size_t size)
{
    char in[128], out[128], why[600];
    int fd, status;
    ssize_t r;
    snprintf(in, sizeof in, "%s/other", dir);
    snprintf(out, sizeof out, "%s/senders", dir);
    fd = open(in, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_eq(write(fd, input, n), (ssize_t)n);
    lseek(fd, 0, SEEK_SET);
    dup2(fd, 0);
    close(fd);
    fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    close(fd);
    status = envcheck_run(&ec, why, sizeof why);
    fd = open(out, O_RDONLY);
    r = read(fd, output, size - 1);
    close(fd);
    output[r > 0 ? r : 0] = 0;
    return status;
}

#define RUN(input, output) run(input, sizeof input - 1, output, sizeof output)

START_TEST(test_loop_session)
{
    char out[2000];
    recipients();
    open_ok();
    ck_assert_int_eq(RUN("filter 1\nconnect 1 192.0.2.1 4000 192.0.2.10 25 -\nhelo 2 EHLO bad_name\n"
                         "helo 3 EHLO client.example\nrcpt 4 Bob@example.net\nrcpt 5 x@elsewhere.example\n"
                         "eom 6 10 -\nrcpt 7\nrcpt 8 +2D\n", out), 0);
    ck_assert_str_eq(out, "filter 1 connect helo rcpt\ncontinue 1\nreject 2 501 5.5.2 Invalid HELO name\n"
                          "continue 3\nclass sales\ncontinue 4\nreject 5 554 5.7.1 Relaying denied\n"
                          "continue 6\nreject 7 554 5.7.1 Relaying denied\n"
                          "reject 8 554 5.7.1 Relaying denied\n");
}
END_TEST

START_TEST(test_loop_subscribes_only_what_it_checks)
{
    char out[200];
    ec.helo = 0;
    ec.senders.path = make_table("recipients", "senders", (char *)0);
    open_ok();
    ck_assert_int_eq(RUN("filter 1\n", out), 0);
    ck_assert_str_eq(out, "filter 1 connect mail rcpt\n");
}
END_TEST

START_TEST(test_loop_garbage_ends_with_111_after_the_answers)
{
    char out[2000], big[FILTERPROTO_LINE_MAX + 100];
    open_ok();
    ck_assert_int_eq(RUN("filter 1\nrcpt 1 x@y.example\nnonsense here\nrcpt 2 a@b.example\n", out), 111);
    ck_assert_str_eq(out, "filter 1 connect helo rcpt\nreject 1 554 5.7.1 Relaying denied\n");
    ck_assert_int_eq(RUN("filter 1\nrcpt 1 +ZZ@y.example\n", out), 111);
    ck_assert_int_eq(RUN("filter 1\nrcpt 1 a+2=b\n", out), 111);
    /* an event without its token */
    ck_assert_int_eq(RUN("filter 1\nrcpt x@y.example\n", out), 111);
    ck_assert_int_eq(RUN("filter 1\nrcpt\n", out), 111);
    ck_assert_int_eq(RUN("filter 2\n", out), 111);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(RUN("", out), 111);
    snprintf(big, sizeof big, "filter 1\nrcpt %0*d\n", FILTERPROTO_LINE_MAX, 0);
    ck_assert_int_eq(run(big, strlen(big), out, sizeof out), 111);
    /* a NUL in a field is refused, not cut short */
    ck_assert_int_eq(RUN("filter 1\nconnect 1 192.0.2.1+00x - - - -\nrcpt 2 postmaster+00\nhelo 3 EHLO a+00b\n", out), 0);
    ck_assert_str_eq(out, "filter 1 connect helo rcpt\ncontinue 1\nreject 2 554 5.7.1 Relaying denied\n"
                          "reject 3 501 5.5.2 Invalid HELO name\n");
}
END_TEST

static Suite *envcheck_suite(void)
{
    Suite *s = suite_create("smtp-envcheck");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_open_missing_table);
    tcase_add_test(tc, test_open_table_of_another_kind);
    tcase_add_test(tc, test_open_clients_needs_its_prefix_lists);
    tcase_add_test(tc, test_helo_check_lists);
    tcase_add_test(tc, test_client_prefixes_most_specific_first);
    tcase_add_test(tc, test_client_only_listed_prefix_lengths_are_looked_up);
    tcase_add_test(tc, test_client_ipv6_and_mapped);
    tcase_add_test(tc, test_client_relay_entry);
    tcase_add_test(tc, test_client_address_not_an_address);
    tcase_add_test(tc, test_client_without_table_takes_any_address);
    tcase_add_test(tc, test_rblsmtpd_permanent_temporary_and_empty);
    tcase_add_test(tc, test_rblsmtpd_text_made_safe);
    tcase_add_test(tc, test_relayclient);
    tcase_add_test(tc, test_rblsmtpd_wins_over_relayclient);
    tcase_add_test(tc, test_helo_syntax);
    tcase_add_test(tc, test_helo_self);
    tcase_add_test(tc, test_helo_self_without_syntax);
    tcase_add_test(tc, test_helo_fqdn_and_none);
    tcase_add_test(tc, test_sender_lookup_order);
    tcase_add_test(tc, test_sender_null);
    tcase_add_test(tc, test_sender_without_table);
    tcase_add_test(tc, test_sender_malformed);
    tcase_add_test(tc, test_bad_values_are_lookup_failures);
    tcase_add_test(tc, test_recipients);
    tcase_add_test(tc, test_recipients_postmaster_and_malformed);
    tcase_add_test(tc, test_no_recipient_table_is_no_relay);
    tcase_add_test(tc, test_texts_from_the_environment);
    tcase_add_test(tc, test_texts_never_longer_than_the_proxy_takes);
    tcase_add_test(tc, test_answer_lines);
    tcase_add_test(tc, test_loop_session);
    tcase_add_test(tc, test_loop_subscribes_only_what_it_checks);
    tcase_add_test(tc, test_loop_garbage_ends_with_111_after_the_answers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(envcheck_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
