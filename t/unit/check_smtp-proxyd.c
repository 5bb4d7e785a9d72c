/* smtp-proxyd's transaction logic and message changes, without a socket:
 * the recipient list, the envelope changes of version 2 filters and the
 * commands that make them at the smarthost, header edits and the checks
 * of a replacement message. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxyd.h"
#include "transaction.h"

struct config cfg;

static struct changes ch;

/* A change as a filter's line would give it. */
static void change(const char *line)
{
    struct filter_line fl;
    struct change *c;
    size_t k;
    ck_assert_msg(filterproto_parse_line(line, strlen(line), &fl) == 0, "not a valid line: %s", line);
    c = &ch.c[ch.n++];
    c->kind = fl.kind;
    c->index = fl.index;
    c->absent = fl.value_absent;
    k = strlen(fl.name);
    c->name = ch.len;
    memcpy(ch.arena + ch.len, fl.name, k + 1);
    ch.len += k + 1;
    c->value = ch.len;
    c->valuelen = fl.valuelen;
    memcpy(ch.arena + ch.len, fl.value, fl.valuelen);
    ch.arena[ch.len + fl.valuelen] = 0;
    ch.len += fl.valuelen + 1;
}

static char sent[64][300];
static unsigned nsent;
static void collect(const char *line, void *arg)
{
    (void)arg;
    snprintf(sent[nsent++], sizeof sent[0], "%s", line);
}

static void setup(void)
{
    static int ready;
    cfg.max_rcpt = 3;
    if (!ready++) ck_assert_int_eq(transaction_init(cfg.max_rcpt), 0);
    transaction_clear();
    ch.n = 0;
    ch.len = 0;
    nsent = 0;
    strcpy(tx.sender, "alice@example.org");
    tx.in_mail = 1;
    tx.offered = EHLO_DSN | EHLO_SMTPUTF8;      /* the smarthost takes them */
}

static unsigned replay(void)
{
    nsent = 0;
    return transaction_replay(collect, 0, "quarantine@example.net");
}

START_TEST(test_clear_is_one_assignment)
{
    setup();
    tx.accepted = 2;
    tx.quarantine = 1;
    tx.tx_mods.score = 7;
    facts_set(&tx.tx_mods.facts, "spf", "pass");
    tx.tx_mods.headers.len = 12;
    smtp_reply_set(&tx.upstream_refusal, 550, "5.1.1 no");
    transaction_clear();
    ck_assert_uint_eq(tx.tx_mods.headers.len, 0);
    ck_assert_int_eq(tx.upstream_refusal.code, 0);
    ck_assert_uint_eq(tx.upstream_refusal.len, 0);
    ck_assert_str_eq(tx.upstream_refusal.text, "");
    ck_assert_int_eq(tx.in_mail, 0);
    ck_assert_uint_eq(tx.accepted, 0);
    ck_assert_int_eq(tx.quarantine, 0);
    ck_assert_int_eq(tx.tx_mods.score, 0);
    ck_assert_uint_eq(tx.tx_mods.facts.n, 0);
    ck_assert_str_eq(tx.sender, "");
}
END_TEST

/* Refused recipients are kept only while the accepted ones still have
 * room: every recipient the smarthost accepts is known at eom. */
START_TEST(test_accepted_recipients_always_kept)
{
    unsigned i, live = 0;
    char a[32];
    setup();
    for (i = 0; i < 40; i++) {
        snprintf(a, sizeof a, "refused%u@example.net", i);
        transaction_record_params(a, "", 550);
    }
    ck_assert_uint_gt(tx.rcpt_lost, 0);
    for (i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "ok%u@example.net", i);
        transaction_record_params(a, "", 250);
        tx.accepted++;
    }
    for (i = 0; i < tx.nrcpts; i++) live += rcpt_live(transaction_rcpt(i));
    ck_assert_uint_eq(live, 3);
    ck_assert_ptr_nonnull(transaction_find("ok2@example.net"));
    ck_assert_ptr_null(transaction_find("refused0@example.net"));   /* not live */
}
END_TEST

START_TEST(test_no_change_no_command)
{
    setup();
    transaction_record_params("bob@example.net", "", 250);
    ck_assert_uint_eq(replay(), 0);
}
END_TEST

START_TEST(test_added_recipient_is_one_more_rcpt)
{
    setup();
    transaction_record_params("bob@example.net", "", 250);
    change("add-recipient carol@example.net -");
    change("add-recipient bob@example.net -");      /* there already */
    transaction_change_envelope(&ch);
    ck_assert_uint_eq(replay(), 1);
    ck_assert_str_eq(sent[0], "RCPT TO:<carol@example.net>");
    ck_assert_int_eq(transaction_find("carol@example.net")->code, 0);
}
END_TEST

START_TEST(test_deleted_recipient_replays_the_envelope)
{
    setup();
    strcpy(tx.size_param, "1234");
    transaction_record_params("bob@example.net", "", 250);
    transaction_record_params("dave@example.net", "", 250);
    transaction_record_params("eve@example.net", "", 550);
    change("delete-recipient bob@example.net");
    change("delete-recipient nobody@example.net");  /* a warning, nothing else */
    transaction_change_envelope(&ch);
    ck_assert_uint_eq(replay(), 3);
    ck_assert_str_eq(sent[0], "RSET");
    ck_assert_str_eq(sent[1], "MAIL FROM:<alice@example.org> SIZE=1234");
    ck_assert_str_eq(sent[2], "RCPT TO:<dave@example.net>");
}
END_TEST

/* A recipient added then deleted by a later filter leaves nothing to do. */
START_TEST(test_added_then_deleted)
{
    setup();
    transaction_record_params("bob@example.net", "", 250);
    change("add-recipient carol@example.net -");
    change("delete-recipient carol@example.net");
    transaction_change_envelope(&ch);
    ck_assert_uint_eq(replay(), 0);
}
END_TEST

START_TEST(test_new_sender_and_its_parameters)
{
    setup();
    strcpy(tx.body_param, "8BITMIME");
    transaction_record_params("bob@example.net", "", 250);
    change("change-sender bounce@example.org RET+3DHDRS+20SIZE+3D99+20BODY+3D7BIT");
    transaction_change_envelope(&ch);
    ck_assert_str_eq(tx.sender, "bounce@example.org");
    ck_assert_uint_eq(replay(), 3);
    /* RET is relayed since DSN is (issue 18): after SIZE and BODY. */
    ck_assert_str_eq(sent[1], "MAIL FROM:<bounce@example.org> SIZE=99 BODY=7BIT RET=HDRS");
    ck_assert_str_eq(sent[2], "RCPT TO:<bob@example.net>");
    /* An unknown parameter, or a bad value, is left out. */
    setup();
    transaction_record_params("bob@example.net", "", 250);
    change("change-sender bounce@example.org XFOO+3D1+20RET+3DALL+20ENVID+3Dab+20SMTPUTF8");
    transaction_change_envelope(&ch);
    replay();
    ck_assert_str_eq(sent[1], "MAIL FROM:<bounce@example.org> ENVID=ab SMTPUTF8");
    ck_assert_int_eq(tx.smtputf8, 1);
    /* An added recipient keeps NOTIFY and ORCPT. */
    setup();
    transaction_record_params("bob@example.net", "", 250);
    change("add-recipient carol@example.net NOTIFY+3DNEVER+20ORCPT+3Drfc822;carol+2B40example.net+20XFOO");
    transaction_change_envelope(&ch);
    ck_assert_uint_eq(replay(), 1);
    ck_assert_str_eq(sent[0], "RCPT TO:<carol@example.net> NOTIFY=NEVER ORCPT=rfc822;carol+40example.net");
    /* A smarthost without DSN: the parameters are left out, the
     * recipient added all the same. */
    setup();
    tx.offered = 0;
    transaction_record_params("bob@example.net", "", 250);
    change("add-recipient carol@example.net NOTIFY+3DNEVER");
    transaction_change_envelope(&ch);
    ck_assert_uint_eq(replay(), 1);
    ck_assert_str_eq(sent[0], "RCPT TO:<carol@example.net>");
    setup();
    tx.offered = 0;
    transaction_record_params("bob@example.net", "", 250);
    change("change-sender bounce@example.org RET+3DHDRS+20SIZE+3D9");
    transaction_change_envelope(&ch);
    replay();
    ck_assert_str_eq(sent[1], "MAIL FROM:<bounce@example.org> SIZE=9");
    setup();
    transaction_record_params("bob@example.net", "", 250);
    strcpy(tx.body_param, "8BITMIME");
    change("change-sender - -");
    transaction_change_envelope(&ch);
    replay();
    /* No parameters given: the client's stay. */
    ck_assert_str_eq(sent[1], "MAIL FROM:<> BODY=8BITMIME");
}
END_TEST

START_TEST(test_quarantine_to_the_mailbox_alone)
{
    char params[TX_PARAMS_MAX];
    setup();
    transaction_record_params("bob@example.net", "", 250);
    transaction_record_params("dave@example.net", "", 250);
    change("quarantine looks+20bad");
    transaction_change_envelope(&ch);
    ck_assert_str_eq(tx.quarantine_reason, "looks bad");
    ck_assert_uint_eq(replay(), 3);
    ck_assert_str_eq(sent[2], "RCPT TO:<quarantine@example.net>");
    ck_assert_uint_eq(tx.tx_mods.facts.n, 1);
    ck_assert_str_eq(tx.tx_mods.facts.f[0].value, "looks bad");
    ck_assert_ptr_null(transaction_params_all(params));
}
END_TEST

/* --- message changes ---------------------------------------------------- */

static const char *const msg =
    "Received: a\r\nReceived: b\r\n\tfolded\r\nSubject: s\r\nTo: t\r\n\r\nbody: not a field\r\n";

static int file_with(const char *text)
{
    char path[] = "/tmp/check_proxyd.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    return fd;
}

static char *edited(const char *text)
{
    static char out[4096];
    int in = file_with(text), o = file_with("");
    ssize_t n;
    ck_assert_int_eq(message_edit(in, o, &ch), 0);
    n = pread(o, out, sizeof out - 1, 0);
    ck_assert_int_ge(n, 0);
    out[n] = 0;
    close(in);
    close(o);
    return out;
}

START_TEST(test_header_edits)
{
    setup();
    change("insert-header 0 X-Top +20top");
    change("insert-header 3 X-Mid +20mid");
    change("change-header 2 received -");
    change("change-header 1 SUBJECT +20new");
    change("change-header 1 X-Absent +20added");
    change("change-header 2 To -");                 /* no second To: nothing */
    ck_assert_str_eq(edited(msg), "X-Top: top\r\nReceived: a\r\nX-Mid: mid\r\nSUBJECT: new\r\n"
                                  "To: t\r\nX-Absent: added\r\n\r\nbody: not a field\r\n");
    setup();
    change("insert-header 99 X-End +20end");
    ck_assert_str_eq(edited("Subject: only\r\n"), "Subject: only\r\nX-End: end\r\n");
    setup();
    change("insert-header 0 X-A :x");
    ck_assert_str_eq(edited("no header, just a line\r\n"), "X-A::x\r\nno header, just a line\r\n");
}
END_TEST

START_TEST(test_header_too_large_to_edit)
{
    char *big = malloc(MESSAGE_HEADER_MAX + 100);
    size_t i;
    int in, o;
    setup();
    for (i = 0; i + 12 < MESSAGE_HEADER_MAX + 80; i += 12) memcpy(big + i, "X-Pad: 1234\r\n", 12);
    memcpy(big + i, "\r\n", 3);
    change("insert-header 0 X-Top +20top");
    in = file_with(big);
    o = file_with("");
    ck_assert_int_eq(message_edit(in, o, &ch), -2);
    close(in);
    close(o);
    free(big);
}
END_TEST

START_TEST(test_replacement_checked_like_a_client_message)
{
    unsigned long long size;
    const char *why;
    int fd = file_with("Subject: ok\r\n\r\nbody\r\n");
    ck_assert_int_eq(message_check(fd, 100, &size, &why), 0);
    ck_assert_uint_eq(size, 21);
    ck_assert_int_eq(message_check(fd, 20, &size, &why), -1);
    ck_assert_str_eq(why, "too big");
    close(fd);
    fd = file_with("Subject: bare\n\nLF\n");
    ck_assert_int_eq(message_check(fd, 100, &size, &why), -1);
    ck_assert_str_eq(why, "bare CR or LF");
    close(fd);
    fd = file_with("a\rb\r\n");
    ck_assert_int_eq(message_check(fd, 100, &size, &why), -1);
    close(fd);
    fd = file_with("ends in CR\r");
    ck_assert_int_eq(message_check(fd, 100, &size, &why), -1);
    close(fd);
    fd = file_with("");
    ck_assert_int_eq(message_check(fd, 100, &size, &why), -1);
    ck_assert_str_eq(why, "empty");
    close(fd);
}
END_TEST

/* The Message-ID for the log: the first field of that name in the
 * header, any case, unfolded and without white space; none after the
 * header or past its first 16 KB, whichever 4 KB piece it is in. */
static const char *msgid(const char *text)
{
    static char id[201];
    int fd = file_with(text);
    message_id(fd, id, sizeof id);
    close(fd);
    return id;
}

START_TEST(test_message_id_for_the_log)
{
    char *big = malloc(20000);
    size_t i;
    ck_assert_str_eq(msgid("Subject: s\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n"), "<a@b>");
    ck_assert_str_eq(msgid("message-id:\r\n <folded@x>\r\n\tmore\r\nTo: t\r\n\r\n"), "<folded@x>more");
    ck_assert_str_eq(msgid("MESSAGE-ID: <1@x>\r\nMessage-ID: <2@x>\r\n\r\n"), "<1@x>");
    ck_assert_str_eq(msgid("Message-IDs: <no@x>\r\n\r\n"), "");
    ck_assert_str_eq(msgid("Subject: s\r\n\r\nMessage-ID: <body@x>\r\n"), "");
    ck_assert_str_eq(msgid("X: Message-ID: <inside@x>\r\n\r\n"), "");
    ck_assert_str_eq(msgid("Message-ID: <at-the-end@x>"), "<at-the-end@x>");
    ck_assert_str_eq(msgid(""), "");
    /* across the first 4 KB piece, and none past 16 KB */
    for (i = 0; i + 13 <= 4090; i += 13) memcpy(big + i, "X-Pad: 1234\r\n", 13);
    strcpy(big + i, "Message-ID: <second-piece@x>\r\n\r\n");
    ck_assert_str_eq(msgid(big), "<second-piece@x>");
    for (i = 0; i + 13 <= 16380; i += 13) memcpy(big + i, "X-Pad: 1234\r\n", 13);
    strcpy(big + i, "Message-ID: <too-far@x>\r\n\r\n");
    ck_assert_str_eq(msgid(big), "");
    free(big);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("smtp-proxyd");
    TCase *t = tcase_create("transaction");
    SRunner *r;
    int failed;
    tcase_add_test(t, test_clear_is_one_assignment);
    tcase_add_test(t, test_accepted_recipients_always_kept);
    tcase_add_test(t, test_no_change_no_command);
    tcase_add_test(t, test_added_recipient_is_one_more_rcpt);
    tcase_add_test(t, test_deleted_recipient_replays_the_envelope);
    tcase_add_test(t, test_added_then_deleted);
    tcase_add_test(t, test_new_sender_and_its_parameters);
    tcase_add_test(t, test_quarantine_to_the_mailbox_alone);
    tcase_add_test(t, test_header_edits);
    tcase_add_test(t, test_header_too_large_to_edit);
    tcase_add_test(t, test_replacement_checked_like_a_client_message);
    tcase_add_test(t, test_message_id_for_the_log);
    suite_add_tcase(s, t);
    r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
