/* smtp-logstat's logic on hand-written lines: stamps, fields and their
 * quoting, the bounded tables and histograms, what each line of the log
 * (before and after issue 19's fields) adds to the summary, and -m. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logstat.h"

static struct stats st;

static void feed(const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        stats_line(&st, p, n);
        p += n + (nl ? 1 : 0);
    }
}

static uint64_t count(const struct table *t, const char *key)
{
    unsigned i;
    for (i = 0; i < t->n; i++)
        if (!strcmp(t->e[i].key, key)) return t->e[i].count;
    return 0;
}

START_TEST(test_stamp)
{
    int64_t t;
    /* s6-tai64n's label: 2^62 + TAI seconds, TAI 37 s ahead of UTC */
    ck_assert_uint_eq(stamp_parse("@4000000069c1a2b30c5d8e4f x", 27, &t), 26);
    ck_assert_int_eq(t, 0x69c1a2b3 - 37);
    ck_assert_uint_eq(stamp_parse("@4000000069c1a2b30c5d8e4fx", 26, &t), 0);
    ck_assert_uint_eq(stamp_parse("@4000000069c1a2b30c5d8e4 x", 26, &t), 0);
    ck_assert_uint_eq(stamp_parse("@40000000g9c1a2b30c5d8e4f x", 27, &t), 0);
    ck_assert_uint_eq(stamp_parse("smtp-proxyd: info: end", 22, &t), 0);
    setenv("TZ", "UTC", 1);
    ck_assert_uint_eq(stamp_parse("2026-11-24 10:42:07.310512114 x", 31, &t), 30);
    ck_assert_int_eq(t, 1795516927);
    ck_assert_int_eq(time_parse("2026-11-24", &t), 0);
    ck_assert_int_eq(t, 1795478400);
    ck_assert_int_eq(time_parse("2026-11-24 10:42", &t), 0);
    ck_assert_int_eq(t, 1795516920);
    ck_assert_int_eq(time_parse("2026-11-24T10:42:07", &t), 0);
    ck_assert_int_eq(t, 1795516927);
    ck_assert_int_eq(time_parse("@1795516927", &t), 0);
    ck_assert_int_eq(t, 1795516927);
    ck_assert_int_eq(time_parse("2026-11-24 10", &t), -1);
    ck_assert_int_eq(time_parse("2026-11-24 25:00", &t), -1);
    ck_assert_int_eq(time_parse("2026-00-24", &t), -1);
    ck_assert_int_eq(time_parse("@", &t), -1);
    ck_assert_int_eq(time_parse("", &t), -1);
}
END_TEST

START_TEST(test_fields)
{
    const char *s = "a=1 b=\"x y \\\"q\\\" \\\\ \\x41\\x0A\" word c= d=\"\" e=\"unclosed";
    const char *p = s, *end = s + strlen(s);
    char k[16], v[64];
    ck_assert(field_next(&p, end, k, sizeof k, v, sizeof v));
    ck_assert_str_eq(k, "a"); ck_assert_str_eq(v, "1");
    ck_assert(field_next(&p, end, k, sizeof k, v, sizeof v));
    ck_assert_str_eq(k, "b"); ck_assert_str_eq(v, "x y \"q\" \\ A\n");
    ck_assert(field_next(&p, end, k, sizeof k, v, sizeof v));
    ck_assert_str_eq(k, ""); ck_assert_str_eq(v, "word");
    ck_assert(field_next(&p, end, k, sizeof k, v, sizeof v));
    ck_assert_str_eq(k, "c"); ck_assert_str_eq(v, "");
    ck_assert(field_next(&p, end, k, sizeof k, v, sizeof v));
    ck_assert_str_eq(k, "d"); ck_assert_str_eq(v, "");
    ck_assert(field_next(&p, end, k, sizeof k, v, sizeof v));
    ck_assert_str_eq(k, "e"); ck_assert_str_eq(v, "unclosed");
    ck_assert(!field_next(&p, end, k, sizeof k, v, sizeof v));
    /* cut to the buffer */
    p = "key=0123456789";
    ck_assert(field_next(&p, p + 14, k, sizeof k, v, 5));
    ck_assert_str_eq(v, "0123");
}
END_TEST

START_TEST(test_logline)
{
    struct logline l;
    const char *s = "@4000000069c1a2b30c5d8e4f smtp-proxyd: info: end conn=69c1a2b30c5d8e4f-48213 ip=1.2.3.4";
    ck_assert(logline_parse(s, strlen(s), &l));
    ck_assert_int_eq(l.time, 0x69c1a2b3 - 37);
    ck_assert_uint_eq(l.prog_len, 11);
    ck_assert(!memcmp(l.level, "info", 4));
    ck_assert_uint_eq(l.word_len, 3);
    ck_assert_uint_eq(l.conn_len, 22);
    ck_assert(!memcmp(l.conn, "69c1a2b30c5d8e4f-48213", 22));
    s = "smtp-bodycheck: info: conn=48213 verdict=reject";
    ck_assert(logline_parse(s, strlen(s), &l));
    ck_assert_int_eq(l.time, NO_TIME);
    ck_assert_uint_eq(l.word_len, 0);
    ck_assert_uint_eq(l.conn_len, 5);
    s = "smtp-forward: warning: conn=48213: smarthost refused RSET";
    ck_assert(logline_parse(s, strlen(s), &l));
    ck_assert_uint_eq(l.conn_len, 5);
    ck_assert(!memcmp(l.conn, "48213", 5));
    s = "smtp-proxyd: fatal: unable to bind";
    ck_assert(logline_parse(s, strlen(s), &l));
    ck_assert_ptr_null(l.conn);
    s = "smtp-proxyd: info: end conn= ip=1.2.3.4";
    ck_assert(logline_parse(s, strlen(s), &l));
    ck_assert_ptr_null(l.conn);
    s = "smtp-proxyd: info: end conn=\"4 2\" ip=1.2.3.4";
    ck_assert(logline_parse(s, strlen(s), &l));
    ck_assert_ptr_null(l.conn);
    s = "smtp-proxyd: info: end conn=ABC ip=1.2.3.4";
    ck_assert(logline_parse(s, strlen(s), &l));
    ck_assert_ptr_null(l.conn);
    ck_assert(!logline_parse("random text", 11, &l));
    ck_assert(!logline_parse("x: y", 4, &l));
    ck_assert(!logline_parse("", 0, &l));
}
END_TEST

static struct table tab;

START_TEST(test_table_cap)
{
    char key[32];
    unsigned i, j, idx[TABLE_CAP];
    uint64_t total = 0, sum = 0;
    memset(&tab, 0, sizeof tab);
    for (i = 0; i < TABLE_CAP + 10; i++) {
        snprintf(key, sizeof key, "k%u", i);
        table_add(&tab, key, i < 3 ? 5 - i : 1);
        total += i < 3 ? 5 - i : 1;
    }
    /* full: each new key took the place of one counted once */
    ck_assert_uint_eq(tab.n, TABLE_CAP);
    ck_assert_uint_eq(tab.evicted, 10);
    ck_assert_uint_eq(count(&tab, "k4105"), 2);
    table_add(&tab, "k0", 1);               /* a key kept counts on exactly */
    ck_assert_uint_eq(count(&tab, "k0"), 6);
    /* a key seen often, late, still gets in, counted within its err */
    for (i = 0; i < 100; i++) table_add(&tab, "late", 1);
    total += 101;
    ck_assert_uint_eq(tab.evicted, 11);
    ck_assert_uint_eq(table_sorted(&tab, idx), TABLE_CAP);
    ck_assert_str_eq(tab.e[idx[0]].key, "late");
    ck_assert_uint_eq(tab.e[idx[0]].count - tab.e[idx[0]].err, 100);
    ck_assert_str_eq(tab.e[idx[1]].key, "k0");
    ck_assert_uint_eq(tab.e[idx[1]].err, 0);
    /* the counts add up to all that was counted; every key kept is found
     * again after the deletions from the hash (no second entry made) */
    for (i = 0; i < TABLE_CAP; i++) sum += tab.e[i].count;
    ck_assert_uint_eq(sum, total);
    for (i = 0; i < TABLE_CAP; i++) {
        char k[KEY_MAX];
        memcpy(k, tab.e[i].key, sizeof k);
        table_add(&tab, k, 1);
    }
    ck_assert_uint_eq(tab.evicted, 11);
    for (i = 0; i < 2000; i++) {            /* and so on, churning */
        snprintf(key, sizeof key, "churn%u", i % 300);
        table_add(&tab, key, 1 + i % 7);
    }
    for (i = 0; i < TABLE_CAP; i++)
        for (j = i + 1; j < TABLE_CAP; j += 97)
            ck_assert_str_ne(tab.e[i].key, tab.e[j].key);
    {
        uint64_t before = tab.evicted;
        for (i = 0; i < TABLE_CAP; i++) {
            char k[KEY_MAX];
            memcpy(k, tab.e[i].key, sizeof k);
            table_add(&tab, k, 1);
        }
        ck_assert_uint_eq(tab.evicted, before);
    }
    /* a key past KEY_MAX - 1 octets is cut, and counted as its cut */
    memset(&tab, 0, sizeof tab);
    {
        char longkey[300];
        memset(longkey, 'a', sizeof longkey - 1);
        longkey[sizeof longkey - 1] = 0;
        table_add(&tab, longkey, 1);
        longkey[KEY_MAX - 1] = 0;
        table_add(&tab, longkey, 1);
        ck_assert_uint_eq(tab.n, 1);
        ck_assert_uint_eq(tab.e[0].count, 2);
        ck_assert_uint_eq(strlen(tab.e[0].key), KEY_MAX - 1);
    }
}
END_TEST

static struct series ser;

START_TEST(test_percentiles)
{
    unsigned i;
    memset(&ser, 0, sizeof ser);
    ck_assert_uint_eq(series_percentile(&ser, 50), 0);
    for (i = 100; i >= 1; i--) series_add(&ser, i);
    ck_assert_uint_eq(series_percentile(&ser, 50), 50);
    ck_assert_uint_eq(series_percentile(&ser, 95), 95);
    ck_assert_uint_eq(series_percentile(&ser, 99), 99);
    ck_assert_uint_eq(series_percentile(&ser, 100), 100);
    ck_assert_uint_eq(ser.max, 100);
    memset(&ser, 0, sizeof ser);
    series_add(&ser, 7);
    ck_assert_uint_eq(series_percentile(&ser, 50), 7);
    ck_assert_uint_eq(series_percentile(&ser, 99), 7);
    /* three values of 1 and one slow: the 95th is the slow one */
    memset(&ser, 0, sizeof ser);
    for (i = 0; i < 3; i++) series_add(&ser, 1);
    series_add(&ser, 12345);
    ck_assert_uint_eq(series_percentile(&ser, 50), 1);
    ck_assert_uint_eq(series_percentile(&ser, 95), 12000);     /* whole seconds past 10 s */
    ck_assert_uint_eq(ser.max, 12345);
    series_add(&ser, 9999999);
    ck_assert_uint_eq(series_percentile(&ser, 100), HIST_EXACT + HIST_SECONDS * 1000);
    ck_assert_uint_eq(ser.max, 9999999);
}
END_TEST

/* The log after issue 19: conn ID-PID, msgid, filter_ms, upstream_ms,
 * norecipient, unavailable, would-reject. */
START_TEST(test_new_log)
{
    setenv("TZ", "UTC", 1);
    stats_init(&st);
    feed("@4000000069c1a2b30c5d8e4f smtp-proxyd: info: transaction conn=69c1a2b30c5d8e4f-48213 n=1 ip=192.0.2.7 helo=mx.example.org from=<a@example.org> rcpt=<b@example.net>:250 accepted=1 size=1234 msgid=<x@example.org> filters=bodycheck:eom:accept filter_ms=envcheck:0,bodycheck:3 upstream=250 reply=250 upstream_ms=12 upstream_text=\"2.0.0 Ok: queued as 4F3A2\" result=delivered ms=40\n"
         "@4000000069c1a2b30c5d8e4f smtp-proxyd: info: would-reject conn=69c1a2b30c5d8e4f-48213 n=2 filter=spf event=mail verdict=reject code=550 text=\"5.7.1 SPF fail\"\n"
         "@4000000069c1a2b30c5d8e4f smtp-proxyd: info: transaction conn=69c1a2b30c5d8e4f-48213 n=2 ip=192.0.2.7 helo=mx.example.org from=<c@example.org> rcpt=\"<\\\"x y\\\"@example.net>:550,<Z@Example.NET>:452,<w@example.net>:554\" accepted=0 filters=spf:mail:would-reject,envcheck:rcpt:reject,envcheck:rcpt:reject filter_ms=spf:5,envcheck:1 result=norecipient ms=4\n"
         "@4000000069c1a2b30c5d8e50 smtp-proxyd: info: transaction conn=69c1a2b30c5d8e50-48214 n=1 ip=192.0.2.8 helo=h from=<> rcpt=<b@example.net>:250 accepted=1 size=10 reply=451 result=unavailable ms=4\n"
         "@4000000069c1a2b30c5d8e50 smtp-proxyd: info: transaction conn=69c1a2b30c5d8e50-48214 n=2 ip=192.0.2.8 helo=h from=<> rcpt=<b@example.net>:250 accepted=1 size=10 upstream=554 reply=554 upstream_ms=30000 result=rejected ms=4\n"
         "@4000000069c1a2b30c5d8e50 smtp-proxyd: info: transaction conn=69c1a2b30c5d8e50-48214 n=3 ip=192.0.2.8 helo=h from=<> accepted=0 result=\"timeout in data\" ms=4\n"
         "@4000000069c1a2b30c5d8e51 smtp-proxyd: info: end conn=69c1a2b30c5d8e4f-48213 ip=192.0.2.7 helo=mx tls=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 transactions=2 filter_ms=envcheck:2 reason=quit ms=9\n"
         "@4000000069c1a2b30c5d8e51 smtp-proxyd: info: early-talker conn=69c1a2b30c5d8e51-1 ip=198.51.100.1 octets=6 said=EHLO\\x0D\n"
         "@4000000069c1a2b30c5d8e51 smtp-proxyd: info: end conn=69c1a2b30c5d8e51-1 ip=198.51.100.1 transactions=0 filters=early-talker reason=\"disconnected before the greeting\" ms=1\n"
         "@4000000069c1a2b30c5d8e52 smtp-proxyd: info: end conn=69c1a2b30c5d8e51-2 ip=198.51.100.2 transactions=0 filters=envcheck:connect:tempfail reason=\"refused by filter\" ms=1\n"
         "@4000000069c1a2b30c5d8e52 smtp-proxyd: info: would-accept conn=69c1a2b30c5d8e51-2 filter=trust event=connect verdict=accept\n"
         "@4000000069c1a2b30c5d8e52 smtp-proxyd: info: would-tempfail conn=69c1a2b30c5d8e51-2 filter=grey event=rcpt verdict=tempfail code=451 text=\"4.7.1 later\"\n"
         "@4000000069c1a2b30c5d8e52 smtp-proxyd: info: end conn=69c1a2b30c5d8e50-48214 ip=192.0.2.8 transactions=3 reason=\"timeout in data\" ms=1\n");
    ck_assert_uint_eq(st.lines, 13);
    ck_assert_uint_eq(st.unstamped, 0);
    ck_assert_uint_eq(st.transactions, 5);
    ck_assert_uint_eq(st.results[R_DELIVERED], 1);
    ck_assert_uint_eq(st.results[R_NORECIPIENT], 1);
    ck_assert_uint_eq(st.results[R_UNAVAILABLE], 1);
    ck_assert_uint_eq(st.results[R_REJECTED], 1);
    ck_assert_uint_eq(st.results[R_OTHER], 1);
    ck_assert_uint_eq(count(&st.other_results, "timeout in data"), 1);
    ck_assert_uint_eq(st.connections, 4);
    ck_assert_uint_eq(st.tls, 1);
    ck_assert_uint_eq(st.early_talkers, 1);
    ck_assert_uint_eq(st.refused_rcpts, 3);
    /* two envcheck rejects take the two 5xx recipients; the 452 is no filter's */
    ck_assert_uint_eq(count(&st.refusals, "envcheck:rcpt:reject 550"), 1);
    ck_assert_uint_eq(count(&st.refusals, "envcheck:rcpt:reject 554"), 1);
    ck_assert_uint_eq(count(&st.refusals, "(no filter):rcpt:refused 452"), 1);
    ck_assert_uint_eq(count(&st.refusals, "spf:mail:would-reject -"), 1);
    ck_assert_uint_eq(count(&st.refusals, "(smarthost):data:refused 554"), 1);
    ck_assert_uint_eq(count(&st.refusals, "early-talker -"), 1);
    ck_assert_uint_eq(count(&st.refusals, "envcheck:connect:tempfail -"), 1);
    ck_assert_uint_eq(count(&st.refusals, "bodycheck:eom:accept 250"), 0);
    ck_assert_uint_eq(count(&st.filter_lines, "smtp-proxyd would-reject spf:mail 550"), 1);
    ck_assert_uint_eq(count(&st.filter_lines, "smtp-proxyd would-tempfail grey:rcpt 451"), 1);
    ck_assert_uint_eq(st.filter_lines.n, 2);     /* would-accept is no refusal */
    ck_assert_uint_eq(count(&st.domains, "example.net"), 3);
    /* refused transactions (norecipient, rejected) and refused connections */
    ck_assert_uint_eq(count(&st.clients, "192.0.2.7"), 1);
    ck_assert_uint_eq(count(&st.clients, "192.0.2.8"), 1);
    ck_assert_uint_eq(count(&st.clients, "198.51.100.1"), 1);
    ck_assert_uint_eq(count(&st.clients, "198.51.100.2"), 1);
    ck_assert_uint_eq(count(&st.senders, "<c@example.org>"), 1);
    ck_assert_uint_eq(count(&st.senders, "<>"), 1);
    ck_assert_uint_eq(count(&st.end_reasons, "quit"), 1);
    ck_assert_uint_eq(count(&st.end_reasons, "refused by filter"), 1);
    /* times */
    ck_assert_uint_eq(st.upstream.count, 2);
    ck_assert_uint_eq(series_percentile(&st.upstream, 50), 12);
    ck_assert_uint_eq(series_percentile(&st.upstream, 99), 30000);
    ck_assert_uint_eq(st.nfilters, 3);
    ck_assert_str_eq(st.filters[0].name, "envcheck");
    ck_assert_uint_eq(st.filters[0].count, 3);
    ck_assert_uint_eq(st.filters[0].max, 2);
    ck_assert_str_eq(st.filters[2].name, "spf");
    /* per hour: 0x69c1a2b3 - 37 is 20:29 UTC */
    ck_assert_uint_eq(st.hours[20].transactions, 5);
    ck_assert_uint_eq(st.hours[20].delivered, 1);
    ck_assert_uint_eq(st.hours[20].refused, 2);
    ck_assert_uint_eq(st.hours[20].connections, 4);
}
END_TEST

/* The log before: conn=PID, no norecipient (aborted), filters' lines. */
START_TEST(test_old_log)
{
    stats_init(&st);
    feed("smtp-envcheck: info: refused conn=4242 ip=192.0.2.1 event=rcpt address=x@example.net code=550 reason=\"unknown recipient\" entry=@example.net\n"
         "smtp-proxyd: info: transaction conn=4242 n=1 ip=192.0.2.1 helo=h from=<a@b.example> rcpt=<x@example.net>:550 accepted=0 filters=smtp-envcheck:rcpt:reject result=aborted ms=1\n"
         "smtp-proxyd: info: transaction conn=4242 n=2 ip=192.0.2.1 helo=h from=<a@b.example> accepted=0 result=aborted ms=1\n"
         "smtp-bodycheck: info: conn=4243 verdict=reject size=2345 found=extension=exe@2.2.2\n"
         "smtp-bodycheck: info: conn=4243 verdict=accept size=2345\n"
         "smtp-clamd: info: conn=4244 clamd=infected:Win.Test.EICAR_HDB-1 size=820 ms=4\n"
         "smtp-clamd: info: conn=4244 clamd=clean size=820 ms=4\n"
         "smtp-spamd: info: conn=4245 spamd=spam score=1002.7 required=5.0 tests=GTUBE size=310 ms=52\n"
         "smtp-dupcheck: info: duplicate conn=4246 fp=ab msgid=<m@x> from=a@b rcpts=1 source=store age=0 action=discard\n"
         "smtp-dupcheck: info: recorded conn=4246 fp=ab msgid=<m@x>\n"
         "smtp-greylist: info: greylisted conn=4247 net=192.0.2.0/24 from=a@b to=c@d age=0\n"
         "smtp-greylist: info: passed conn=4247 net=192.0.2.0/24 from=a@b to=c@d age=400\n"
         "smtp-rspamd: info: scan conn=4248 id=X action=\"soft reject\" score=9 changes=0 ms=3\n"
         "smtp-rspamd: info: scan conn=4248 id=X action=\"no action\" score=0 changes=0 ms=3\n"
         "smtp-milter: info: milter conn=4249 milter=inet:x event=eom id=1 reply=reject code=550 text=\"no\"\n"
         "smtp-spf: info: refused conn=4250 spf=fail ip=192.0.2.1 domain=b.example problem=x\n"
         "smtp-dnscheck: info: refused conn=4251 ip=192.0.2.1 score=5 zones=zen.example dnsbl=x\n"
         "smtp-forward: warning: conn=4242: smarthost said 421\n");
    ck_assert_uint_eq(st.transactions, 2);
    ck_assert_uint_eq(st.results[R_NORECIPIENT], 1);
    ck_assert_uint_eq(st.results[R_ABORTED], 1);
    ck_assert_uint_eq(st.unstamped, 18);
    ck_assert_uint_eq(st.hours[24].transactions, 2);
    ck_assert_uint_eq(count(&st.filter_lines, "smtp-envcheck refused 550 reason=unknown recipient"), 1);
    ck_assert_uint_eq(count(&st.filter_lines, "smtp-bodycheck reject found=extension=exe@2.2.2"), 1);
    ck_assert_uint_eq(count(&st.filter_lines, "smtp-clamd refused clamd=infected:Win.Test.EICAR_HDB-1"), 1);
    ck_assert_uint_eq(count(&st.filter_lines, "smtp-spamd refused spamd=spam"), 1);
    ck_assert_uint_eq(count(&st.filter_lines, "smtp-dupcheck duplicate action=discard"), 1);
    ck_assert_uint_eq(count(&st.filter_lines, "smtp-greylist greylisted"), 1);
    ck_assert_uint_eq(count(&st.filter_lines, "smtp-rspamd scan action=soft reject"), 1);
    ck_assert_uint_eq(count(&st.filter_lines, "smtp-milter milter 550 reply=reject"), 1);
    ck_assert_uint_eq(count(&st.filter_lines, "smtp-spf refused spf=fail"), 1);
    ck_assert_uint_eq(count(&st.filter_lines, "smtp-dnscheck refused zones=zen.example"), 1);
    ck_assert_uint_eq(st.filter_lines.n, 10);
}
END_TEST

static struct track tr;

static const char *const old_log =
    "smtp-envcheck: info: refused conn=100 ip=192.0.2.1 event=rcpt code=550 reason=x\n"   /* 1 */
    "smtp-proxyd: info: transaction conn=100 n=1 ip=192.0.2.1 from=<a@x> result=aborted ms=1\n"
    "smtp-proxyd: info: end conn=100 ip=192.0.2.1 transactions=1 reason=quit ms=1\n"
    "smtp-dupcheck: info: recorded conn=100 fp=ab msgid=<m@x>\n"                          /* 4: pid 100 again */
    "smtp-proxyd: info: transaction conn=200 n=1 ip=192.0.2.2 from=<o@x> result=delivered ms=1\n"
    "smtp-proxyd: info: transaction conn=100 n=1 ip=192.0.2.1 from=<B@x> rcpt=<t@y>:250 msgid=<m@x> result=delivered ms=1\n"
    "smtp-proxyd: info: transaction conn=100 n=2 ip=192.0.2.1 from=<c@x> result=delivered ms=1\n"
    "smtp-forward: warning: conn=100: smarthost said 421\n"
    "smtp-proxyd: info: end conn=100 ip=192.0.2.1 transactions=2 reason=quit ms=1\n"      /* 9 */
    "smtp-proxyd: info: transaction conn=100 n=1 ip=192.0.2.1 from=<b@x> result=aborted ms=1\n"
    "smtp-proxyd: info: end conn=100 ip=192.0.2.1 transactions=1 reason=quit ms=1\n";     /* 11 */

/* The three passes of -m on old_log: the numbers of the lines printed. */
static const char *follow(const char *pattern)
{
    static char out[256];
    int pass;
    out[0] = 0;
    if (!track_init(&tr, pattern)) pass = 1; else pass = 3;
    for (; pass <= 3; pass++) {
        const char *p = old_log;
        uint64_t lineno = 0;
        while (*p) {
            const char *nl = strchr(p, '\n');
            struct logline l;
            lineno++;
            if (logline_parse(p, (size_t)(nl - p), &l)) {
                if (pass == 1) track_find(&tr, &l, lineno);
                else if (pass == 2) track_bound(&tr, &l, lineno);
                else if (track_want(&tr, &l, lineno))
                    snprintf(out + strlen(out), sizeof out - strlen(out), "%s%llu", out[0] ? "," : "",
                             (unsigned long long)lineno);
            }
            p = nl + 1;
        }
    }
    return out;
}

START_TEST(test_follow)
{
    /* a sender: its transaction, not the connection's other one, with the
     * lines of no transaction; a pid used again is another connection */
    ck_assert_str_eq(follow("b@x"), "4,6,8,9,10,11");
    ck_assert_str_eq(follow("<b@X>"), "4,6,8,9,10,11");
    ck_assert_str_eq(follow("t@y"), "4,6,8,9");
    /* a Message-ID in a filter's line (no transaction named): the whole connection */
    ck_assert_str_eq(follow("m@x"), "4,6,7,8,9");
    /* by id: every connection of that pid in an old log */
    ck_assert_str_eq(follow("200"), "5");
    ck_assert_str_eq(follow("100.2"), "1,3,4,7,8,9,11");
    ck_assert_str_eq(follow("nobody@x"), "");
    ck_assert_int_eq(track_init(&tr, "69c1a2b30c5d8e4f-48213"), 1);
    ck_assert_int_eq(track_init(&tr, "69c1a2b30c5d8e4f-48213.12"), 1);
    ck_assert_int_eq(tr.t[0].n, 12);
    ck_assert_str_eq(tr.t[0].conn, "69c1a2b30c5d8e4f-48213");
    ck_assert_int_eq(track_init(&tr, "69c1a2b30c5d8e4F-48213"), 0);
    ck_assert_int_eq(track_init(&tr, "1.2.3.4"), 0);
    ck_assert_int_eq(track_init(&tr, "a@b.example"), 0);
}
END_TEST

START_TEST(test_follow_cap)
{
    char line[200];
    unsigned i;
    struct logline l;
    track_init(&tr, "a@b");
    for (i = 0; i < TRACK_MAX + 5; i++) {
        int n = snprintf(line, sizeof line, "smtp-proxyd: info: transaction conn=%u n=1 from=<a@b> result=x", i + 1);
        ck_assert(logline_parse(line, (size_t)n, &l));
        track_find(&tr, &l, i + 1);
    }
    ck_assert_uint_eq(tr.ntargets, TRACK_MAX);
    ck_assert_int_eq(tr.overflow, 1);
}
END_TEST

/* A report of st, as a string. */
static const char *render(int html, unsigned top)
{
    static char buf[65536];
    FILE *f = tmpfile();
    size_t n;
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(html ? report_html(f, &st, top) : report_text(f, &st, top), 0);
    rewind(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

START_TEST(test_reports)
{
    unsigned i;
    char key[32];
    stats_init(&st);
    feed("@4000000069c1a2b30c5d8e50 smtp-proxyd: info: transaction conn=1 n=1 ip=192.0.2.8 helo=h from=<x<y>\"&@z> rcpt=<b@example.net>:550 accepted=0 filters=t:rcpt:reject result=norecipient ms=4\n");
    ck_assert_ptr_nonnull(strstr(render(1, 10), "<td>&lt;x&lt;y&gt;&quot;&amp;@z&gt;</td>"));
    ck_assert_ptr_null(strstr(render(1, 10), "<script"));
    ck_assert_ptr_nonnull(strstr(render(1, 10), "</html>"));
    ck_assert_ptr_nonnull(strstr(render(0, 10), "\ntransactions 1\n"));
    ck_assert_ptr_nonnull(strstr(render(0, 10), "  t:rcpt:reject 550 "));
    /* past a table's cap, and a line without a time in an hour of its own */
    for (i = 0; i < TABLE_CAP + 3; i++) {
        snprintf(key, sizeof key, "192.0.2.%u", i);
        table_add(&st.clients, key, 1);
    }
    feed("smtp-proxyd: info: transaction conn=2 n=1 ip=192.0.2.9 helo=h from=<a@b> accepted=0 result=aborted ms=4\n");
    ck_assert_ptr_nonnull(strstr(render(0, 2), "\n  (more than 4096 keys: 3 gave their place to others)\n"));
    ck_assert_ptr_nonnull(strstr(render(0, 2), "\n  192.0.2.4096                                                          1 (up to 1 more)\n"));
    ck_assert_ptr_nonnull(strstr(render(1, 2), "<tr><td>192.0.2.4096</td><td class=\"n\">1 (up to 1 more)</td></tr>"));
    ck_assert_ptr_nonnull(strstr(render(0, 2), "\n  (4094 more)\n"));
    ck_assert_ptr_nonnull(strstr(render(0, 2), "\n  --                 0            1          0          0\n"));
}
END_TEST

static Suite *logstat_suite(void)
{
    Suite *s = suite_create("smtp-logstat");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_stamp);
    tcase_add_test(tc, test_fields);
    tcase_add_test(tc, test_logline);
    tcase_add_test(tc, test_table_cap);
    tcase_add_test(tc, test_percentiles);
    tcase_add_test(tc, test_new_log);
    tcase_add_test(tc, test_old_log);
    tcase_add_test(tc, test_follow);
    tcase_add_test(tc, test_follow_cap);
    tcase_add_test(tc, test_reports);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(logstat_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
