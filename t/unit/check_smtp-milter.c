/* smtp-milter's codec: the negotiation reply (versions, actions and
 * steps beyond the offer, symbol lists), replies to events, REPLYCODE
 * checked strictly (codes, enhanced codes, dashes, %%, printable, cut at
 * the proxy's limit), every change reply (header values with LF folding
 * and the leading space, addresses with or without brackets, parameters),
 * header fields as they go to the milter, the end of the header, CRLF in
 * a replaced body, and the addresses taken. */
#include <check.h>
#include <string.h>

#include "milter.h"

static char why[300];

static size_t be32(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return 4;
}

START_TEST(negotiation)
{
    struct milter_negotiation neg;
    unsigned char p[128];
    size_t n = 0;
    n += be32(p + n, 6);
    n += be32(p + n, 0x111);
    n += be32(p + n, 0x100702);
    ck_assert_int_eq(milter_negotiation_parse(p, n, &neg, why, sizeof why), 0);
    ck_assert_uint_eq(neg.actions, 0x111);
    ck_assert(neg.protocol & SMFIP_HDR_LEADSPC);
    ck_assert_int_eq(neg.has_list[STAGE_CONNECT], 0);
    /* a symbol list for the envelope stage */
    n += be32(p + n, STAGE_MAIL);
    memcpy(p + n, "i {auth_type}", 14);
    n += 14;
    ck_assert_int_eq(milter_negotiation_parse(p, n, &neg, why, sizeof why), 0);
    ck_assert_int_eq(neg.has_list[STAGE_MAIL], 1);
    ck_assert_str_eq(neg.list[STAGE_MAIL], "i {auth_type}");
    /* a list without its NUL, a stage that does not exist */
    ck_assert_int_eq(milter_negotiation_parse(p, n - 1, &neg, why, sizeof why), -1);
    be32(p + 12, 7);
    ck_assert_int_eq(milter_negotiation_parse(p, n, &neg, why, sizeof why), -1);
    /* too short, a version from the future, actions or steps not offered */
    ck_assert_int_eq(milter_negotiation_parse(p, 11, &neg, why, sizeof why), -1);
    be32(p, 7);
    ck_assert_int_eq(milter_negotiation_parse(p, 12, &neg, why, sizeof why), -1);
    be32(p, 6);
    be32(p + 4, 0x200);
    ck_assert_int_eq(milter_negotiation_parse(p, 12, &neg, why, sizeof why), -1);
    be32(p + 4, 0x1ff);
    be32(p + 8, 0x10000000);
    ck_assert_int_eq(milter_negotiation_parse(p, 12, &neg, why, sizeof why), -1);
    /* rspamd sets every NR bit unasked: taken as said */
    be32(p + 8, 0xFF080);
    ck_assert_int_eq(milter_negotiation_parse(p, 12, &neg, why, sizeof why), 0);
    ck_assert(neg.protocol & SMFIP_NR_BODY);
    /* a version 2 milter: no DATA, no NR bits */
    be32(p, 2);
    ck_assert_int_eq(milter_negotiation_parse(p, 12, &neg, why, sizeof why), 0);
    ck_assert(neg.protocol & SMFIP_NODATA);
    ck_assert(!(neg.protocol & SMFIP_NR_BODY));
}
END_TEST

START_TEST(replies)
{
    struct milter_verdict v;
    ck_assert_int_eq(milter_reply_parse('c', 0, 0, &v, why, sizeof why), 1);
    ck_assert_int_eq(v.kind, REPLY_CONTINUE);
    ck_assert_int_eq(milter_reply_parse('r', 0, 0, &v, why, sizeof why), 1);
    ck_assert_int_eq(v.code, 550);
    ck_assert_str_eq(v.text, "5.7.1 Command rejected");
    ck_assert_int_eq(milter_reply_parse('t', 0, 0, &v, why, sizeof why), 1);
    ck_assert_int_eq(v.code, 451);
    ck_assert_int_eq(milter_reply_parse('p', 0, 0, &v, why, sizeof why), 0);
    ck_assert_int_eq(milter_reply_parse('d', 0, 0, &v, why, sizeof why), 1);
    ck_assert_int_eq(v.kind, REPLY_DISCARD);
    ck_assert_int_eq(milter_reply_parse('4', 0, 0, &v, why, sizeof why), 1);
    ck_assert_int_eq(v.code, 421);
    /* data after a reply that takes none; unknown replies; a change */
    ck_assert_int_eq(milter_reply_parse('c', (const unsigned char *)"x", 1, &v, why, sizeof why), -1);
    ck_assert_int_eq(milter_reply_parse('f', 0, 0, &v, why, sizeof why), -1);
    ck_assert_int_eq(milter_reply_parse('h', (const unsigned char *)"a\0b", 4, &v, why, sizeof why), -1);
}
END_TEST

static int replycode(const char *s, struct milter_verdict *v)
{
    return milter_reply_parse('y', (const unsigned char *)s, strlen(s) + 1, v, why, sizeof why);
}

START_TEST(replycodes)
{
    struct milter_verdict v;
    char big[1200];
    ck_assert_int_eq(replycode("554 5.7.1 Gtube pattern", &v), 1);
    ck_assert_int_eq(v.kind, REPLY_REJECT);
    ck_assert_int_eq(v.code, 554);
    ck_assert_str_eq(v.text, "5.7.1 Gtube pattern");
    ck_assert_int_eq(replycode("451 4.7.1 Try again later", &v), 1);
    ck_assert_int_eq(v.kind, REPLY_TEMPFAIL);
    /* multi-line, %% */
    ck_assert_int_eq(replycode("550-5.7.1 first line 100%% sure\r\n550 5.7.1 second line", &v), 1);
    ck_assert_str_eq(v.text, "5.7.1 first line 100% sure second line");
    /* a lone % dropped */
    ck_assert_int_eq(replycode("550 5.7.1 50% off", &v), 1);
    ck_assert_str_eq(v.text, "5.7.1 50 off");
    /* no enhanced code: the class's */
    ck_assert_int_eq(replycode("550 go away", &v), 1);
    ck_assert_str_eq(v.text, "5.7.1 go away");
    ck_assert_int_eq(replycode("452", &v), 1);
    ck_assert_str_eq(v.text, "4.7.1");
    /* refused */
    ck_assert_int_eq(replycode("250 2.0.0 ok", &v), -1);
    ck_assert_int_eq(replycode("650 5.7.1 x", &v), -1);
    ck_assert_int_eq(replycode("560 5.7.1 x", &v), -1);
    ck_assert_int_eq(replycode("55", &v), -1);
    ck_assert_int_eq(replycode("550 4.7.1 class mismatch", &v), -1);
    ck_assert_int_eq(replycode("550-5.7.1 a\r\n451 4.7.1 b", &v), -1);
    ck_assert_int_eq(replycode("550 5.7.1 a\r\n550 5.7.1 b", &v), -1);       /* no dash */
    ck_assert_int_eq(replycode("550-5.7.1 a\r\n550-5.7.1 b", &v), -1);      /* dash last */
    ck_assert_int_eq(replycode("550-5.7.1 a\r\n", &v), -1);
    ck_assert_int_eq(replycode("550 5.7.1 bare\nLF", &v), -1);
    ck_assert_int_eq(replycode("550 5.7.1 tab\there", &v), -1);
    ck_assert_int_eq(replycode("550 5.7.1 \xe9", &v), -1);
    ck_assert_int_eq(replycode("550x5.7.1 a", &v), -1);
    ck_assert_int_eq(replycode("", &v), -1);
    ck_assert_int_eq(milter_reply_parse('y', (const unsigned char *)"550 a\0b", 8, &v, why, sizeof why), -1);
    /* cut at the proxy's 400 */
    memcpy(big, "550 5.7.1 ", 10);
    memset(big + 10, 'x', 1000);
    big[1010] = 0;
    ck_assert_int_eq(replycode(big, &v), 1);
    ck_assert_uint_eq(strlen(v.text), FILTERPROTO_TEXT_MAX);
}
END_TEST

static int edit(int c, const char *p, size_t n, int leadspc, struct milter_edit *e)
{
    return milter_edit_parse(c, (const unsigned char *)p, n, leadspc, e, why, sizeof why);
}

START_TEST(edits)
{
    struct milter_edit e;
    unsigned char p[64];
    /* ADDHEADER: a space first without LEADSPC, LF folding made CRLF */
    ck_assert_int_eq(edit('h', "X-A\0one\n\ttwo", 13, 0, &e), 1);
    ck_assert_str_eq(e.name, "X-A");
    ck_assert_str_eq(e.value, " one\r\n\ttwo");
    ck_assert_int_eq(edit('h', "X-A\0 one", 9, 1, &e), 1);
    ck_assert_str_eq(e.value, " one");
    /* INSHEADER and CHGHEADER with their index; 0 is 1 for a change */
    be32(p, 0);
    memcpy(p + 4, "DKIM-Signature\0 v=1\0", 20);
    ck_assert_int_eq(milter_edit_parse('i', p, 24, 1, &e, why, sizeof why), 1);
    ck_assert_uint_eq(e.index, 0);
    ck_assert_int_eq(milter_edit_parse('m', p, 24, 1, &e, why, sizeof why), 1);
    ck_assert_uint_eq(e.index, 1);
    be32(p, 0xffffffff);
    ck_assert_int_eq(milter_edit_parse('m', p, 24, 1, &e, why, sizeof why), 1);
    ck_assert_uint_eq(e.index, 100000);
    /* an empty value deletes */
    be32(p, 2);
    memcpy(p + 4, "Received\0\0", 10);
    ck_assert_int_eq(milter_edit_parse('m', p, 14, 0, &e, why, sizeof why), 1);
    ck_assert_int_eq(e.delete_field, 1);
    /* malformed: no index, missing NUL, trailing octets */
    ck_assert_int_eq(edit('i', "ab", 2, 0, &e), -1);
    ck_assert_int_eq(edit('h', "X-A\0one", 7, 0, &e), -1);
    ck_assert_int_eq(edit('h', "X-A\0one\0x", 9, 0, &e), -1);
    /* not relayable: dropped, not a protocol error */
    ck_assert_int_eq(edit('h', "X A\0one", 8, 0, &e), 0);
    ck_assert_int_eq(edit('h', "X-A\0\xe9t\xe9", 8, 0, &e), 0);
    ck_assert_int_eq(edit('h', "X-A\0bare\rCR", 12, 0, &e), 0);
    /* recipients and the sender */
    ck_assert_int_eq(edit('+', "<new@example.net>", 18, 0, &e), 1);
    ck_assert_str_eq(e.addr, "new@example.net");
    ck_assert_int_eq(edit('2', "new@example.net\0NOTIFY=NEVER ORCPT=rfc822;x@y", 46, 0, &e), 1);
    ck_assert_str_eq(e.addr, "new@example.net");
    ck_assert_str_eq(e.params, "NOTIFY=NEVER ORCPT=rfc822;x@y");
    ck_assert_int_eq(edit('-', "<old@example.net>", 18, 0, &e), 1);
    ck_assert_int_eq(edit('e', "<>", 3, 0, &e), 1);
    ck_assert_str_eq(e.addr, "");
    ck_assert_int_eq(edit('e', "<b@example.org>\0RET=HDRS ENVID=abc", 35, 0, &e), 1);
    ck_assert_str_eq(e.params, "RET=HDRS ENVID=abc");
    ck_assert_int_eq(edit('+', "<>", 3, 0, &e), -1);
    ck_assert_int_eq(edit('+', "a b@c", 6, 0, &e), -1);
    ck_assert_int_eq(edit('-', "x@y\0extra", 10, 0, &e), -1);
    ck_assert_int_eq(edit('q', "bad mail", 9, 0, &e), 1);
    ck_assert_str_eq(e.value, "bad mail");
    ck_assert_int_eq(edit('z', "", 0, 0, &e), -1);
}
END_TEST

START_TEST(header_fields)
{
    char out[256];
    size_t n;
    n = milter_header_payload("Subject: hi there", 17, 0, out, sizeof out);
    ck_assert_uint_eq(n, 8 + 9);         /* "Subject\0hi there\0" */
    ck_assert_str_eq(out, "Subject");
    ck_assert_str_eq(out + 8, "hi there");
    n = milter_header_payload("Subject: hi", 11, 1, out, sizeof out);
    ck_assert_str_eq(out + 8, " hi");
    n = milter_header_payload("To:\t<a@b>,\r\n <c@d>", 18, 0, out, sizeof out);
    ck_assert_str_eq(out, "To");
    ck_assert_str_eq(out + 3, "\t<a@b>,\n <c@d>");
    n = milter_header_payload("Name : v", 8, 0, out, sizeof out);
    ck_assert_str_eq(out, "Name");
    ck_assert_uint_eq(milter_header_payload("no colon", 8, 0, out, sizeof out), 0);
    ck_assert_uint_eq(milter_header_payload(": v", 3, 0, out, sizeof out), 0);
    ck_assert_uint_eq(milter_header_payload("Subject: hi", 11, 0, out, 8), 0);
}
END_TEST

START_TEST(header_end)
{
    size_t fields, body;
    int complete;
    const char *m = "A: 1\r\nB: 2\r\n 3\r\n\r\nbody\r\n";
    body = milter_header_end(m, strlen(m), &fields, &complete);
    ck_assert_int_eq(complete, 1);
    ck_assert_uint_eq(fields, 16);
    ck_assert_uint_eq(body, 18);
    /* a line that is not a field ends the header, and starts the body */
    m = "A: 1\r\nnot a field\r\n";
    body = milter_header_end(m, strlen(m), &fields, &complete);
    ck_assert_int_eq(complete, 1);
    ck_assert_uint_eq(fields, 6);
    ck_assert_uint_eq(body, 6);
    m = " leading\r\nA: 1\r\n\r\n";
    body = milter_header_end(m, strlen(m), &fields, &complete);
    ck_assert_uint_eq(fields, 0);
    ck_assert_uint_eq(body, 0);
    /* more to come: a partial line, a field that may go on */
    m = "A: 1\r\nB: 2\r\n 3";
    body = milter_header_end(m, strlen(m), &fields, &complete);
    ck_assert_int_eq(complete, 0);
    ck_assert_uint_eq(fields, 6);
    m = "A: 1\r\nB: 2\r\n";
    body = milter_header_end(m, strlen(m), &fields, &complete);
    ck_assert_int_eq(complete, 0);
    ck_assert_uint_eq(fields, strlen(m));
}
END_TEST

START_TEST(body_crlf)
{
    char out[64];
    int cr = 0;
    size_t n = milter_body_crlf("a\nb\r\nc\r", 7, &cr, out);
    ck_assert_uint_eq(n, 8);
    ck_assert(!memcmp(out, "a\r\nb\r\nc\r", 8));
    ck_assert_int_eq(cr, 1);
    n = milter_body_crlf("\nd", 2, &cr, out);           /* the CRLF split between parts */
    ck_assert_uint_eq(n, 2);
    ck_assert(!memcmp(out, "\nd", 2));
    n = milter_body_crlf("\rx", 2, &cr, out);           /* a lone CR: a line end */
    ck_assert(!memcmp(out, "\r\nx", n));
}
END_TEST

START_TEST(addresses)
{
    char out[128];
    ck_assert_int_eq(milter_address_normalise("inet:8891@127.0.0.1", out, sizeof out), 0);
    ck_assert_str_eq(out, "inet:127.0.0.1:8891");
    ck_assert_int_eq(milter_address_normalise("inet:8891@[::1]", out, sizeof out), 0);
    ck_assert_str_eq(out, "inet:[::1]:8891");
    ck_assert_int_eq(milter_address_normalise("inet6:8891@::1", out, sizeof out), 0);
    ck_assert_str_eq(out, "inet6:8891@::1");        /* left for endpoint_parse to refuse */
    ck_assert_int_eq(milter_address_normalise("local:/run/m.sock", out, sizeof out), 0);
    ck_assert_str_eq(out, "unix:/run/m.sock");
    ck_assert_int_eq(milter_address_normalise("inet:127.0.0.1:11332", out, sizeof out), 0);
    ck_assert_str_eq(out, "inet:127.0.0.1:11332");
    ck_assert_int_eq(milter_address_normalise("inet:127.0.0.1:11332", out, 8), -1);
}
END_TEST

START_TEST(stages)
{
    ck_assert_int_eq(milter_stage_parse("connect", 7), STAGE_CONNECT);
    ck_assert_int_eq(milter_stage_parse("eoh", 3), STAGE_EOH);
    ck_assert_int_eq(milter_stage_parse("eom", 3), STAGE_EOM);
    ck_assert_int_eq(milter_stage_parse("body", 4), -1);
}
END_TEST

static Suite *milter_suite(void)
{
    Suite *s = suite_create("smtp-milter");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, negotiation);
    tcase_add_test(tc, replies);
    tcase_add_test(tc, replycodes);
    tcase_add_test(tc, edits);
    tcase_add_test(tc, header_fields);
    tcase_add_test(tc, header_end);
    tcase_add_test(tc, body_crlf);
    tcase_add_test(tc, addresses);
    tcase_add_test(tc, stages);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed;
    SRunner *sr = srunner_create(milter_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
