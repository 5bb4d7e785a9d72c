/* smtp-bodycheck: the decoders, the parameter reader, the configuration
 * grammar, and the scanner with the rule engine, fed from memory: the
 * corpus in t/bodycheck/ (each message in every chunking gives the same,
 * exact findings), pathological messages made here (deep, huge, long
 * lines, NUL, too many parts), and random mutations of the corpus (no
 * crash, and the findings never depend on how the input is cut).
 * Run from the top of the tree (t/run does). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bodycheck.h"

#define EXAMPLE "examples/bodycheck.conf"
#define CORPUS "t/bodycheck/"

static struct config cfg;
static struct check chk;

/* ---- helpers ----------------------------------------------------------- */

static void config_lines(struct config *c, const char *const *lines)
{
    char why[400];
    config_init(c);
    for (; *lines; lines++)
        ck_assert_msg(config_line(c, *lines, 1, why, sizeof why) == 0, "%s: %s", *lines, why);
}

static void example(struct config *c)
{
    char why[600];
    config_init(c);
    ck_assert_msg(config_file(c, EXAMPLE, why, sizeof why) == 0, "%s", why);
}

/* Feed buf in chunks of the given size (0: at once). */
static void run(struct config *c, const char *buf, size_t n, size_t chunk)
{
    size_t i = 0;
    check_start(&chk, c, n);
    if (!chunk) chunk = n ? n : 1;
    while (i < n && !check_stopped(&chk)) {
        size_t k = n - i < chunk ? n - i : chunk;
        check_feed(&chk, buf + i, k);
        i += k;
    }
    check_end(&chk);
}

/* The findings: "kind=value[@part][(name)]" separated by spaces, octets
 * outside 33..126 and ()\ in names as \xHH. */
static const char *findings(void)
{
    static char out[8192];
    size_t len = 0;
    unsigned i;
    out[0] = 0;
    for (i = 0; i < chk.nfound; i++) {
        const struct finding *f = &chk.found[i];
        char t[400];
        size_t j;
        check_finding_token(f, t, sizeof t);
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", i ? " " : "", t);
        if (!f->namelen) continue;
        len += (size_t)snprintf(out + len, sizeof out - len, "(");
        for (j = 0; j < f->namelen; j++) {
            unsigned char ch = (unsigned char)f->name[j];
            if (ch < 33 || ch > 126 || ch == '(' || ch == ')' || ch == '\\')
                len += (size_t)snprintf(out + len, sizeof out - len, "\\x%02X", ch);
            else
                out[len++] = (char)ch;
        }
        len += (size_t)snprintf(out + len, sizeof out - len, ")");
    }
    out[len] = 0;
    return out;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long size;
    ck_assert_msg(f != NULL, "cannot open %s (run from the top of the tree)", path);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    buf = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *n = (size_t)size;
    return buf;
}

/* The line of the example configuration that starts with text. */
static unsigned example_line(const char *text)
{
    size_t n, i, start = 0;
    unsigned line = 1;
    char *buf = slurp(EXAMPLE, &n);
    for (i = 0; i <= n; i++) {
        if (i < n && buf[i] != '\n') continue;
        if (i - start >= strlen(text) && !memcmp(buf + start, text, strlen(text))) {
            free(buf);
            return line;
        }
        line++;
        start = i + 1;
    }
    free(buf);
    ck_abort_msg("no line %s in %s", text, EXAMPLE);
    return 0;
}

static const char *verdict_line(void)
{
    static char line[600];
    if (chk.verdict == VERDICT_CONTINUE) return "continue";
    check_verdict_line(&chk, line, sizeof line);
    return line;
}

/* ---- decoding -------------------------------------------------------- */

static const char *words(const char *s)
{
    static char out[1000];
    size_t n = decode_words(out, sizeof out - 1, s, strlen(s));
    out[n] = 0;
    return out;
}

START_TEST(test_encoded_words)
{
    ck_assert_str_eq(words("=?UTF-8?B?aW52b2ljZS5leGU=?="), "invoice.exe");
    ck_assert_str_eq(words("=?utf-8?b?aW52b2ljZS5leGU?="), "invoice.exe");     /* no padding */
    ck_assert_str_eq(words("=?ISO-8859-1?Q?caf=E9_cr=E8me?="), "caf\xe9 cr\xe8me");
    ck_assert_str_eq(words("=?UTF-8?Q?in?= =?UTF-8?Q?voice?=\t=?UTF-8?Q?.exe?="), "invoice.exe");
    ck_assert_str_eq(words("=?UTF-8?Q?a?= x =?UTF-8?Q?b?="), "a x b");
    ck_assert_str_eq(words("Re: =?UTF-8?Q?hello?= world"), "Re: hello world");
    ck_assert_str_eq(words("=?UTF-8*en?Q?lang?="), "lang");                  /* RFC 2231 5 */
    ck_assert_str_eq(words("=?UTF-16BE?B?AHIAdQBuAC4AdgBiAHM=?="), "run.vbs");
    ck_assert_str_eq(words("=?UTF-7?Q?invoice+AC4-exe?="), "invoice.exe");
    /* not encoded-words: left as they are */
    ck_assert_str_eq(words("=?UTF-8?X?abc?="), "=?UTF-8?X?abc?=");
    ck_assert_str_eq(words("=?UTF-8?B?abc"), "=?UTF-8?B?abc");
    ck_assert_str_eq(words("=??B?abc?="), "=??B?abc?=");
    ck_assert_str_eq(words("a =? b"), "a =? b");
}
END_TEST

START_TEST(test_charsets)
{
    char out[100];
    size_t n;
    n = decode_charset(out, sizeof out, "utf-16", 6, "\xff\xfe" "a\0.\0j\0s\0", 10);
    ck_assert_int_eq(n, 4);
    ck_assert(!memcmp(out, "a.js", 4));
    n = decode_charset(out, sizeof out, "UTF-16", 6, "\0a\0b", 4);       /* no BOM: big endian */
    ck_assert(n == 2 && !memcmp(out, "ab", 2));
    n = decode_charset(out, sizeof out, "utf-16be", 8, "\xd8\x3d\xde\x00", 4);    /* U+1F600 */
    ck_assert(n == 4 && !memcmp(out, "\xf0\x9f\x98\x80", 4));
    n = decode_charset(out, sizeof out, "utf-16le", 8, "\x3d\xd8x\0", 4);  /* lone surrogate */
    ck_assert(n == 4 && !memcmp(out, "\xef\xbf\xbdx", 4));
    n = decode_charset(out, sizeof out, "utf-32le", 8, "e\0\0\0x\0\0\0e\0\0\0", 12);
    ck_assert(n == 3 && !memcmp(out, "exe", 3));
    n = decode_charset(out, sizeof out, "UTF-7", 5, "a+-b+AOk-c", 10);
    ck_assert(n == 6 && !memcmp(out, "a+b\xc3\xa9" "c", 6));
    n = decode_charset(out, sizeof out, "iso-8859-1", 10, "caf\xe9", 4);   /* copied */
    ck_assert(n == 4 && !memcmp(out, "caf\xe9", 4));
    n = decode_charset(out, 3, "utf-8", 5, "abcdef", 6);                 /* bounded */
    ck_assert_int_eq(n, 3);
    n = decode_percent(out, sizeof out, "%41%4a%zz%4", 11);
    ck_assert(n == 7 && !memcmp(out, "AJ%zz%4", 7));
}
END_TEST

/* ---- parameters ------------------------------------------------------ */

static char names_seen[4000];

static void collect(void *ctx, const char *name, size_t n)
{
    size_t len = strlen(names_seen);
    (void)ctx;
    snprintf(names_seen + len, sizeof names_seen - len, "%s%.*s", len ? "|" : "", (int)n, name);
}

static const char *names(const char *v)
{
    names_seen[0] = 0;
    param_names(v, strlen(v), collect, 0);
    return names_seen;
}

START_TEST(test_param_type_and_boundary)
{
    char t[128], b[BODYCHECK_BOUNDARY_MAX];
    long n;
    param_type("Multipart/Mixed; boundary=x", 27, t, sizeof t);
    ck_assert_str_eq(t, "multipart/mixed");
    param_type(" (a (nested) comment) text / html ;x=y", 38, t, sizeof t);
    ck_assert_str_eq(t, "text/html");
    param_type("text", 4, t, sizeof t);
    ck_assert_str_eq(t, "");
    param_type("/plain", 6, t, sizeof t);
    ck_assert_str_eq(t, "");
    n = param_boundary("multipart/mixed; boundary=\"a b\\\"c\"", 35, b, sizeof b);
    ck_assert(n == 5 && !memcmp(b, "a b\"c", 5));
    n = param_boundary("multipart/mixed; BOUNDARY=----=_Part_1 ; x=y", 45, b, sizeof b);
    ck_assert(n == 12 && !memcmp(b, "----=_Part_1", 12));
    ck_assert_int_eq(param_boundary("multipart/mixed", 15, b, sizeof b), 0);
    ck_assert_int_eq(param_boundary("multipart/mixed; boundary=\"\"", 28, b, sizeof b), 0);
    ck_assert_int_eq(param_boundary("multipart/mixed; boundary=abcdef", 32, b, 5), -1);
}
END_TEST

START_TEST(test_param_names)
{
    ck_assert_str_eq(names("attachment; filename=\"invoice.exe\""), "invoice.exe");
    ck_assert_str_eq(names("application/x; name=\"a.pdf\"; filename=b.exe"), "a.pdf|b.exe");
    ck_assert_str_eq(names("attachment; FileName = \"x\\\".exe\""), "x\".exe");
    /* the lenient reading too: unquoted with spaces, junk after quotes */
    ck_assert_str_eq(names("attachment; filename=my invoice.exe"), "my|my invoice.exe");
    ck_assert_str_eq(names("attachment; filename=\"invoice\".exe"), "invoice|invoice.exe");
    /* a missing ";" hides nothing */
    ck_assert_str_eq(names("attachment filename=x.exe"), "x.exe");
    /* encoded-words inside quotes, as every mail reader decodes them */
    ck_assert_str_eq(names("attachment; filename=\"=?UTF-8?B?aW52b2ljZS5leGU=?=\""),
                     "=?UTF-8?B?aW52b2ljZS5leGU=?=|invoice.exe");
    /* RFC 2231 */
    ck_assert_str_eq(names("attachment; filename*=UTF-8''%69nvoice%2Eexe"), "invoice.exe");
    ck_assert_str_eq(names("attachment; filename*=invoice%2Eexe"), "invoice.exe");
    ck_assert_str_eq(names("attachment; filename*=utf-16le'en'r%00u%00n%00.%00j%00s%00"), "run.js");
    ck_assert_str_eq(names("attachment; filename*0*=UTF-8''holiday%20photo; filename*1*=%2Es;"
                           " filename*2=\"cr\""), "holiday photo.scr");
    ck_assert_str_eq(names("attachment; filename*2=\"exe\"; filename*0=\"a\"; filename*1=\".\""), "a.exe");
    ck_assert_str_eq(names("x; name*1*=%2Eexe; filename=\"b.txt\"; name*0*=us-ascii'en'a"), "b.txt|a.exe");
    ck_assert_str_eq(names("x; boundary=a; charset=b; nam=c; names=d"), "");
}
END_TEST

/* RFC 2231 sections with a gap, a repeated number or a number with a
 * leading zero: mail readers differ (Thunderbird stops at the gap or the
 * repeat, Python joins them all), so each reading is given. */
START_TEST(test_param_broken_sections)
{
    /* all of them; up to the gap */
    ck_assert_str_eq(names("attachment; filename*0=\"evil.exe\"; filename*2=\".txt\""), "evil.exe.txt|evil.exe");
    /* all, the first of each number, the last of each */
    ck_assert_str_eq(names("attachment; filename*0=\"evil\"; filename*1=\".exe\"; filename*1=\".txt\""),
                     "evil.exe.txt|evil.exe|evil.txt");
    /* a zero-padded number as its number, and not a section at all */
    ck_assert_str_eq(names("attachment; filename*0=\"evil.exe\"; filename*01=\".txt\""), "evil.exe.txt|evil.exe");
    /* no section 0: all of them, or nothing */
    ck_assert_str_eq(names("attachment; filename*1=\"evil.exe\""), "evil.exe");
    /* an absurd number is a gap */
    ck_assert_str_eq(names("x; name*0=a; name*99999999=b"), "ab|a");
    /* the charset of the section that comes first, whatever its number */
    ck_assert_str_eq(names("x; filename*1*=utf-16be''%00a%00.%00e%00x%00e"), "a.exe");
}
END_TEST

/* ---- configuration ------------------------------------------------- */

static const char *config_error(const char *line)
{
    static char why[400];
    struct config c;
    config_init(&c);
    why[0] = 0;
    if (config_line(&c, line, 7, why, sizeof why) == 0) strcpy(why, "ok");
    config_free(&c);
    return why;
}

START_TEST(test_config_errors)
{
    ck_assert_str_eq(config_error("# a comment"), "ok");
    ck_assert_str_eq(config_error("   "), "ok");
    ck_assert_str_eq(config_error("frobnicate yes"), "unknown keyword frobnicate");
    ck_assert_str_eq(config_error("size 10X"), "bad size 10X");
    ck_assert_str_eq(config_error("size 0"), "bad size 0");
    ck_assert_str_eq(config_error("size"), "bad size ");
    ck_assert_str_eq(config_error("require Bad:Name"), "bad field name Bad:Name");
    ck_assert_str_eq(config_error("header Subject viagra"), "expected /regular expression/ after Subject");
    ck_assert_str_eq(config_error("header Subject /viagra"), "the regular expression has no closing /");
    ck_assert_str_eq(config_error("header Subject //"), "empty regular expression");
    ck_assert_str_eq(config_error("header Subject /x/q"), "unknown flag q (i or r)");
    ck_assert(!strncmp(config_error("header Subject /(/ reject"), "bad regular expression: ", 24));
    ck_assert_str_eq(config_error("extension exe frobnicate"), "unknown action frobnicate");
    ck_assert_str_eq(config_error("extension exe reject 450"), "bad reply code 450 (500 to 599)");
    ck_assert_str_eq(config_error("extension exe tempfail 550"), "bad reply code 550 (400 to 499)");
    ck_assert_str_eq(config_error("extension exe reject 5x0"), "bad reply code 5x0 (500 to 599)");
    ck_assert_str_eq(config_error("extension exe reject 550 4.7.1 No"),
                     "the enhanced status code is not of class 5");
    ck_assert_str_eq(config_error("extension exe reject 550 Caf\xc3\xa9"), "the text has a non-ASCII byte");
    ck_assert_str_eq(config_error("extension exe score many"), "bad points: many");
    ck_assert_str_eq(config_error("extension exe score 2000000"), "bad points: 2000000");
    ck_assert_str_eq(config_error("extension exe tag please"), "unexpected please after the action");
    ck_assert_str_eq(config_error("extension ex/e"), "bad extension in ex/e");
    ck_assert_str_eq(config_error("extension exe,,com"), "bad extension in exe,,com");
    ck_assert_str_eq(config_error("extension"), "missing list");
    ck_assert_str_eq(config_error("type msdownload"), "bad type in msdownload");
    ck_assert_str_eq(config_error("malformed depth,sideways tag"), "unknown malformation sideways");
    /* with a text to free (fuzz/crashes/bodycheck_config/unknown-malformation-leak) */
    ck_assert_str_eq(config_error("malformed nosuch reject 550 Go away"), "unknown malformation nosuch");
    ck_assert_str_eq(config_error("add-header X-Check extra"), "unexpected extra after the field name");
    ck_assert_str_eq(config_error("add-header X:Check"), "bad field name X:Check");
    ck_assert_str_eq(config_error("extension .EXE,scr reject 552 5.3.4 Go away"), "ok");
    ck_assert_str_eq(config_error("header Subject /a\\/b/ir score -3"), "ok");
    ck_assert_str_eq(config_error("malformed nul,depth tempfail 452"), "ok");
    ck_assert_str_eq(config_error("type application/x-ms* ignore"), "ok");
}
END_TEST

START_TEST(test_config_text_length)
{
    char line[600];
    memset(line, 0, sizeof line);
    strcpy(line, "extension exe reject 550 ");
    memset(line + strlen(line), 'x', BODYCHECK_TEXT_ROOM);
    ck_assert_str_eq(config_error(line), "ok");
    strcat(line, "x");
    ck_assert_str_eq(config_error(line), "the text is longer than 394 characters");
    strcpy(line, "extension exe reject 550 5.7.1 ");
    memset(line + strlen(line), 'x', 394);
    ck_assert_str_eq(config_error(line), "ok");
    strcat(line, "x");
    ck_assert_str_eq(config_error(line), "the text is longer than 400 characters");
}
END_TEST

START_TEST(test_config_file_errors_name_the_line)
{
    char path[] = "/tmp/check_bodycheck.XXXXXX", why[600];
    struct config c;
    FILE *f;
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    f = fdopen(fd, "w");
    fputs("# fine\r\nsize 1M\n\nextension exe,scr\nheader Subject /(/\n", f);
    fclose(f);
    config_init(&c);
    ck_assert_int_eq(config_file(&c, path, why, sizeof why), -1);
    ck_assert(strstr(why, ":5: bad regular expression: ") == why + strlen(path));
    config_free(&c);
    f = fopen(path, "w");
    fputs("size 1M\nsize 2M\x01\n", f);
    fclose(f);
    config_init(&c);
    ck_assert_int_eq(config_file(&c, path, why, sizeof why), -1);
    ck_assert_str_eq(why + strlen(path), ":2: control character");
    config_free(&c);
    unlink(path);
    config_init(&c);
    ck_assert_int_eq(config_file(&c, path, why, sizeof why), -1);
    ck_assert(strstr(why, "unable to open /tmp/check_bodycheck.") == why);
    config_free(&c);
    example(&c);
    config_free(&c);
}
END_TEST

/* A later entry replaces an earlier one with the same key. */
START_TEST(test_config_later_entries_replace)
{
    static const char *const lines[] = {
        "extension exe reject", "extension EXE tag", "require From ignore",
        "malformed nul tag", 0 };
    static const char msg[] = "Subject: x\r\nContent-Type: text/plain; name=a.exe\r\n\r\nA\0B\r\n";
    config_lines(&cfg, lines);
    run(&cfg, msg, sizeof msg - 1, 0);
    ck_assert_str_eq(findings(), "extension=exe(a.exe) malformed=nul");
    ck_assert_str_eq(verdict_line(), "continue");
    config_free(&cfg);
}
END_TEST

/* ---- the corpus ----------------------------------------------------- */

struct corpus_case {
    const char *file;
    const char *findings;               /* "%u" for the header rule's line */
    const char *rule;                   /* that rule's line in the example */
    const char *verdict;
};

static const struct corpus_case corpus[] = {
    { "clean", "", 0, "continue" },
    { "alternative", "", 0, "continue" },
    { "attachment-ok", "", 0, "continue" },
    { "nested-exe", "extension=exe@2.2.2(invoice.exe)", 0,
      "reject 550 5.7.1 Executable attachments are refused here; please send a link instead" },
    { "encoded-word", "extension=exe@2(invoice.exe)", 0, 0 },
    { "rfc2231", "extension=scr@2(holiday\\x20photo.scr)", 0, 0 },
    { "utf16-name", "extension=vbs@1(run.vbs)", 0, 0 },
    { "trailing-dot", "extension=exe@1(INVOICE.EXE.\\x20)", 0, 0 },
    { "rfc822", "extension=js@2.2(tracking.js)", 0, 0 },
    { "digest", "extension=msi@2.1(setup.msi)", 0, 0 },
    { "msdownload", "type=application/x-msdownload@2", 0,
      "reject 550 5.7.1 Executable attachments are refused here; please send a link instead" },
    { "no-from", "missing=From", 0, "reject 550 5.6.0 Message lacks a required header field" },
    { "subject-rule", "header=Subject:%u", "header Subject /(^|", "reject 550 5.7.1 No pharmacy spam, thank you" },
    { "bulk", "header=Subject:%u header=X-Mailer:%u", "header Subject /^", "continue" },
    { "tempfail", "header=Received:%u", "header Received", "tempfail 451 4.7.1 Try again from a resolvable host" },
    { "no-boundary", "malformed=bad-boundary", 0, "reject 554 5.6.0 Message structure is malformed or too complex" },
    { "unclosed", "malformed=unclosed-boundary", 0, "continue" },
    { "header-syntax", "malformed=header-syntax", 0, 0 },
    { "8bit-header", "malformed=8bit-header", 0, "continue" },
    { "encoded-container", "malformed=encoded-container", 0, 0 },
    { "duplicate-type", "malformed=duplicate-field", 0, 0 },
    { "rfc2231-gap", "extension=exe@2(evil.exe)", 0,
      "reject 550 5.7.1 Executable attachments are refused here; please send a link instead" },
    { "rfc2231-repeat", "extension=js@2(report.js)", 0, 0 },
    { "uuencode", "extension=exe(invoice.exe)", 0,
      "reject 550 5.7.1 Executable attachments are refused here; please send a link instead" },
    { "yenc", "extension=scr@1(holiday\\x20photo.scr)", 0, 0 },
    { "binhex", "malformed=embedded-attachment", 0, "reject 554 5.6.0 Message structure is malformed or too complex" },
};

START_TEST(test_corpus)
{
    const struct corpus_case *t = &corpus[_i];
    static const size_t chunks[] = { 0, 1, 2, 3, 7, 64, 4096 };
    char path[200], want[300];
    size_t n, k;
    char *msg;
    snprintf(path, sizeof path, CORPUS "%s.eml", t->file);
    msg = slurp(path, &n);
    if (t->rule && strstr(t->findings, "X-Mailer"))
        snprintf(want, sizeof want, t->findings, example_line(t->rule), example_line("header X-Mailer"));
    else if (t->rule)
        snprintf(want, sizeof want, t->findings, example_line(t->rule));
    else
        snprintf(want, sizeof want, "%s", t->findings);
    example(&cfg);
    for (k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        run(&cfg, msg, n, chunks[k]);
        ck_assert_msg(!strcmp(findings(), want), "%s in chunks of %zu: %s, not %s", t->file,
                      chunks[k], findings(), want);
        if (t->verdict) ck_assert_str_eq(verdict_line(), t->verdict);
        else ck_assert_int_eq(chk.verdict, VERDICT_REJECT);
    }
    /* The same with LF line ends: the scanner takes CR LF and LF alike. */
    {
        size_t i, m = 0;
        char *lf = malloc(n);
        for (i = 0; i < n; i++)
            if (!(msg[i] == '\r' && i + 1 < n && msg[i + 1] == '\n')) lf[m++] = msg[i];
        run(&cfg, lf, m, 5);
        ck_assert_msg(!strcmp(findings(), want), "%s with LF: %s", t->file, findings());
        free(lf);
    }
    config_free(&cfg);
    free(msg);
}
END_TEST

/* The added header: the findings, folded, always a valid field value. */
START_TEST(test_tag_header)
{
    char v[BODYCHECK_TAG_MAX + 100];
    size_t n, msg_n;
    char *msg;
    example(&cfg);
    msg = slurp(CORPUS "clean.eml", &msg_n);
    run(&cfg, msg, msg_n, 0);
    n = check_tag_value(&chk, v, sizeof v);
    ck_assert_str_eq(v, "none");
    ck_assert_int_eq(n, 4);
    free(msg);
    msg = slurp(CORPUS "bulk.eml", &msg_n);
    run(&cfg, msg, msg_n, 0);
    check_tag_value(&chk, v, sizeof v);
    ck_assert(!strncmp(v, "header=Subject:", 15) && strstr(v, " header=X-Mailer:"));
    ck_assert_int_eq(chk.score, 5);
    free(msg);
    config_free(&cfg);
}
END_TEST

START_TEST(test_tag_header_folds_and_is_bounded)
{
    static const char *const lines[] = { "extension e0,e1,e2,e3,e4,e5,e6,e7,e8,e9 tag",
        "extension f0,f1,f2,f3,f4,f5,f6,f7,f8,f9 tag", "extension g0,g1,g2,g3,g4,g5,g6,g7,g8,g9 tag",
        "extension h0,h1,h2,h3,h4,h5,h6,h7,h8,h9 tag", 0 };
    char msg[20000], v[BODYCHECK_TAG_MAX + 100];
    size_t len, i, n, line = 0;
    const char *ext = "efgh";
    config_lines(&cfg, lines);
    len = (size_t)sprintf(msg, "From: a@b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
    for (i = 0; i < 40; i++)
        len += (size_t)sprintf(msg + len, "--b\r\nContent-Type: text/plain; name=\"file.%c%zu\"\r\n\r\nx\r\n",
                               ext[i / 10], i % 10);
    len += (size_t)sprintf(msg + len, "--b--\r\n");
    run(&cfg, msg, len, 0);
    ck_assert_int_eq(chk.nfound, BODYCHECK_FINDINGS_MAX);
    ck_assert_int_eq(chk.more, 40 - BODYCHECK_FINDINGS_MAX);
    n = check_tag_value(&chk, v, sizeof v);
    ck_assert_int_le(n, BODYCHECK_TAG_MAX);
    ck_assert(header_value_valid(v, n));
    ck_assert(!strcmp(v + n - 4, " ..."));
    for (i = 0; i < n; i++) {
        if (v[i] == '\r') line = 0;
        else ck_assert_int_le(++line, 78);
    }
    config_free(&cfg);
}
END_TEST

/* A reject wins over an earlier tempfail; scores add up. */
START_TEST(test_verdict_precedence_and_replies)
{
    static const char *const lines[] = {
        "header Subject /later/ tempfail", "header Subject /x/ score 3", "header X-Two /x/ score 4",
        "extension exe", "extension com reject 553", "extension bat tempfail 452 Not now",
        "extension pif reject 550 5.7.0 Go away", 0 };
    static const char msg[] = "Subject: later x\r\nX-Two: x\r\nContent-Type: a/b; name=a.exe\r\n\r\n";
    static const char tf[] = "From: a\r\nSubject: later\r\n\r\n";
    static const char com[] = "From: a\r\nContent-Type: a/b; name=a.com\r\n\r\n";
    static const char bat[] = "From: a\r\nContent-Type: a/b; name=a.bat\r\n\r\n";
    static const char pif[] = "From: a\r\nContent-Type: a/b; name=a.pif\r\n\r\n";
    static const char two[] = "From: a\r\nSubject: x\r\nX-Two: xx\r\n\r\n";
    config_lines(&cfg, lines);
    run(&cfg, msg, sizeof msg - 1, 0);
    ck_assert_str_eq(findings(), "header=Subject:1 header=Subject:1 header=X-Two:1 extension=exe(a.exe)");
    ck_assert_str_eq(verdict_line(), "reject 550 5.7.1 Message contains a forbidden attachment");
    run(&cfg, tf, sizeof tf - 1, 0);
    ck_assert_str_eq(verdict_line(), "tempfail 451 4.7.1 Temporary failure, try again later");
    run(&cfg, com, sizeof com - 1, 0);
    ck_assert_str_eq(verdict_line(), "reject 553 5.7.1 Message contains a forbidden attachment");
    run(&cfg, bat, sizeof bat - 1, 0);
    ck_assert_str_eq(verdict_line(), "tempfail 452 4.7.1 Not now");
    run(&cfg, pif, sizeof pif - 1, 0);
    ck_assert_str_eq(verdict_line(), "reject 550 5.7.0 Go away");
    run(&cfg, two, sizeof two - 1, 0);
    ck_assert_int_eq(chk.score, 7);
    ck_assert_str_eq(verdict_line(), "continue");
    config_free(&cfg);
}
END_TEST

/* Header rules see the field unfolded and its encoded-words decoded
 * (r: as it is); every occurrence of the field counts; a NUL hides
 * nothing after it. */
START_TEST(test_header_rules)
{
    static const char *const lines[] = { "header Subject /^cheap pills$/i reject 550 5.7.1 decoded",
        "header Subject /=\\?utf-8\\?q\\?Cheap/ir tag", "header Received /evil/ tag",
        "malformed nul tag", "header X-Nul /hidden/r tag", "header X-Q /hidden/ tag", 0 };
    static const char folded[] = "From: a\r\nSubject: Cheap\r\n pills\r\n\r\n";
    static const char encoded[] = "From: a\r\nSubject: =?utf-8?Q?Cheap?= =?utf-8?Q?_pills?=\r\n\r\n";
    static const char recv[] = "From: a\r\nReceived: good\r\nReceived: evil\r\n\r\n";
    static const char nul[] = "From: a\r\nX-Nul: a\0hidden\r\n\r\n";
    static const char nul_decoded[] = "From: a\r\nX-Q: =?utf-8?Q?a=00hidden?=\r\n\r\n";
    static const char body[] = "From: a\r\n\r\nSubject: cheap pills\r\n";
    static const char part[] = "From: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                               "--b\r\nSubject: cheap pills\r\n\r\n--b--\r\n";
    config_lines(&cfg, lines);
    run(&cfg, folded, sizeof folded - 1, 0);
    ck_assert_str_eq(verdict_line(), "reject 550 5.7.1 decoded");
    run(&cfg, encoded, sizeof encoded - 1, 3);
    ck_assert_str_eq(findings(), "header=Subject:1");
    ck_assert_str_eq(verdict_line(), "reject 550 5.7.1 decoded");
    run(&cfg, recv, sizeof recv - 1, 0);
    ck_assert_str_eq(findings(), "header=Received:1");
    run(&cfg, nul, sizeof nul - 1, 0);
    ck_assert_str_eq(findings(), "malformed=nul header=X-Nul:1");     /* the scanner's NUL */
    run(&cfg, nul_decoded, sizeof nul_decoded - 1, 0);
    ck_assert_str_eq(findings(), "header=X-Q:1");                    /* a decoded one */
    run(&cfg, body, sizeof body - 1, 0);               /* bodies are not headers */
    ck_assert_str_eq(findings(), "");
    run(&cfg, part, sizeof part - 1, 0);               /* nor are a part's fields */
    ck_assert_str_eq(findings(), "");
    config_free(&cfg);
}
END_TEST

START_TEST(test_required_fields)
{
    static const char *const lines[] = { "require Date tag", "require Message-ID score 2", 0 };
    static const char empty_from[] = "From:   \r\nDate: today\r\n\r\n";
    static const char no_body[] = "from: a\r\ndate: b\r\nmessage-id: c";
    char why[100];
    config_lines(&cfg, lines);
    run(&cfg, "", 0, 0);
    ck_assert_str_eq(findings(), "missing=From");
    run(&cfg, empty_from, sizeof empty_from - 1, 0);
    ck_assert_str_eq(findings(), "missing=From");
    config_free(&cfg);
    config_lines(&cfg, lines + 1);
    ck_assert_int_eq(config_line(&cfg, "require From tag", 1, why, sizeof why), 0);
    run(&cfg, empty_from, sizeof empty_from - 1, 0);
    ck_assert_str_eq(findings(), "missing=From missing=Message-ID");
    ck_assert_int_eq(chk.score, 2);
    run(&cfg, no_body, sizeof no_body - 1, 1);      /* no blank line, no final CRLF */
    ck_assert_str_eq(findings(), "");
    config_free(&cfg);
}
END_TEST

START_TEST(test_size_limit)
{
    static const char *const lines[] = { "size 100", 0 };
    char msg[300];
    memset(msg, 'x', sizeof msg);
    memcpy(msg, "From: a\r\n\r\n", 11);
    config_lines(&cfg, lines);
    run(&cfg, msg, 100, 0);
    ck_assert_str_eq(findings(), "");
    check_start(&chk, &cfg, 101);       /* refused on its size alone: nothing read */
    ck_assert(check_stopped(&chk));
    check_end(&chk);
    ck_assert_str_eq(findings(), "size=101");
    ck_assert_str_eq(verdict_line(), "reject 552 5.3.4 Message size exceeds fixed maximum message size");
    check_start(&chk, &cfg, 50);        /* a message longer than it said */
    check_feed(&chk, msg, 300);
    check_end(&chk);
    ck_assert_str_eq(findings(), "size=300");
    config_free(&cfg);
}
END_TEST

/* ---- structure ------------------------------------------------------- */

START_TEST(test_delimiters)
{
    static const char *const lines[] = { "extension exe", "extension com tag", 0 };
    /* transport padding after a delimiter; a line that only starts like
     * one is not one; an outer delimiter ends the inner multipart */
    static const char msg[] =
        "From: a\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        "--b \t \r\nContent-Type: multipart/mixed; boundary=\"bb\"\r\n\r\n"
        "--bb\r\nContent-Type: text/plain; name=a.com\r\n\r\n--bx\r\n--b-\r\n--bb-- x\r\n-+bb\r\n+-b\r\n"
        "--b\r\nContent-Type: text/plain; name=b.exe\r\n\r\nx\r\n--b--\r\n"
        "--b\r\nContent-Type: text/plain; name=epilogue.exe\r\n\r\n";
    config_lines(&cfg, lines);
    run(&cfg, msg, sizeof msg - 1, 0);
    ck_assert_str_eq(findings(), "extension=com@1.1(a.com) malformed=unclosed-boundary@1 "
                                 "extension=exe@2(b.exe)");
    config_free(&cfg);
}
END_TEST

static char *repeat(char *p, const char *s, size_t times)
{
    size_t k = strlen(s);
    while (times--) { memcpy(p, s, k); p += k; }
    return p;
}

/* Nesting of 200: refused at depth 32, quickly, in fixed memory. */
START_TEST(test_deep_nesting)
{
    static const char *const lines[] = { "extension exe", 0 };
    char *msg = malloc(200 * 120 + 1000), *p = msg, want[400];
    size_t i;
    int k;
    p += sprintf(p, "From: a\r\n");
    for (i = 0; i < 200; i++)
        p += sprintf(p, "Content-Type: multipart/mixed; boundary=\"b%zu\"\r\n\r\n--b%zu\r\n", i, i);
    p += sprintf(p, "Content-Type: text/plain; name=deep.exe\r\n\r\nx\r\n");
    for (i = 200; i-- > 0;) p += sprintf(p, "--b%zu--\r\n", i);
    config_lines(&cfg, lines);
    run(&cfg, msg, (size_t)(p - msg), 0);
    strcpy(want, "malformed=depth@1");
    for (k = 1; k < BODYCHECK_DEPTH_MAX; k++) strcat(want, ".1");
    ck_assert_str_eq(findings(), want);
    ck_assert_str_eq(verdict_line(), "reject 554 5.6.0 Message structure is malformed or too complex");
    /* as opaque, with the depth only tagged: the rest is not looked into */
    config_line(&cfg, "malformed depth tag", 1, want, sizeof want);
    run(&cfg, msg, (size_t)(p - msg), 100);
    ck_assert_int_eq(chk.nfound, 1);
    ck_assert_str_eq(verdict_line(), "continue");
    config_free(&cfg);
    free(msg);
}
END_TEST

/* A 5 MB header line, fed in chunks from a buffer of 64 KiB: refused as
 * soon as the field passes the limit, without reading on. */
START_TEST(test_huge_header_line)
{
    static char chunk[65536];
    static const char *const tagged[] = { "malformed long-field tag", 0 };
    size_t fed = 0;
    memset(chunk, 'a', sizeof chunk);
    example(&cfg);
    check_start(&chk, &cfg, 5 << 20);
    check_feed(&chk, "From: a\r\nSubject: ", 18);
    while (fed < (5u << 20) && !check_stopped(&chk)) {
        check_feed(&chk, chunk, sizeof chunk);
        fed += sizeof chunk;
    }
    ck_assert_int_eq(fed, sizeof chunk);    /* stopped in the first chunk */
    check_end(&chk);
    ck_assert_str_eq(findings(), "malformed=long-field");
    config_free(&cfg);
    /* tagged only: then the section limit refuses it */
    config_lines(&cfg, tagged);
    check_start(&chk, &cfg, 5 << 20);
    check_feed(&chk, "From: a\r\nSubject: ", 18);
    for (fed = 0; fed < (5u << 20) && !check_stopped(&chk); fed += sizeof chunk)
        check_feed(&chk, chunk, sizeof chunk);
    check_end(&chk);
    ck_assert_str_eq(findings(), "malformed=long-field malformed=header-section");
    config_free(&cfg);
}
END_TEST

/* 100,000 short fields: a header section past its limit. */
START_TEST(test_huge_header_section)
{
    static const char *const lines[] = { "malformed header-section tag", "extension exe", 0 };
    size_t i, n, first;
    char *msg = malloc(100000 * 20 + 200), *p = msg, why[100];
    p += sprintf(p, "From: a\r\nContent-Type: text/plain; name=a.exe\r\n");
    first = (size_t)(p - msg);
    for (i = 0; i < 100000; i++) p += sprintf(p, "X-F: %zu\r\n", i);
    p += sprintf(p, "Content-Type: text/plain; name=b.exe\r\nFrom: late\r\n\r\nbody\r\n");
    n = (size_t)(p - msg);
    config_init(&cfg);
    run(&cfg, msg, n, 4096);                    /* refused at the limit */
    ck_assert_str_eq(findings(), "malformed=header-section");
    ck_assert_int_le(chk.fed, BODYCHECK_SECTION_MAX + 4096);   /* read no further */
    config_free(&cfg);
    config_lines(&cfg, lines);                  /* tagged: what is past the limit is not read */
    run(&cfg, msg + first, n - first, 4096);
    ck_assert_str_eq(findings(), "malformed=header-section missing=From");
    run(&cfg, msg, n, 4096);                    /* what comes before it is */
    ck_assert_str_eq(findings(), "extension=exe(a.exe)");
    ck_assert_int_eq(config_line(&cfg, "extension exe tag", 1, why, sizeof why), 0);
    run(&cfg, msg, n, 4096);
    ck_assert_str_eq(findings(), "extension=exe(a.exe) malformed=header-section");
    config_free(&cfg);
    free(msg);
}
END_TEST

/* Lines of megabytes in a body cost nothing and hide no delimiter. */
START_TEST(test_long_body_lines)
{
    static const char *const lines[] = { "extension exe", 0 };
    size_t big = 3 << 20, n;
    char *msg = malloc(big + 200000), *p = msg, *padding;
    p += sprintf(p, "From: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n");
    memset(p, 'x', big);
    p += big;
    p += sprintf(p, "\r\n--b");
    padding = p;
    memset(p, ' ', 100000);                     /* transport padding, a lot of it */
    p += 100000;
    p += sprintf(p, "\r\nContent-Type: a/b; name=x.exe\r\n\r\n--b--\r\n");
    n = (size_t)(p - msg);
    config_lines(&cfg, lines);
    run(&cfg, msg, n, 65536);
    ck_assert_str_eq(findings(), "extension=exe@2(x.exe)");
    padding[50000] = 'y';                       /* padding that is not all white space */
    run(&cfg, msg, n, 65536);
    ck_assert_str_eq(findings(), "");
    config_free(&cfg);
    free(msg);
}
END_TEST

/* Unclosed comments and parameters without end: time stays linear.  A
 * quadratic reading takes seconds here, a linear one milliseconds. */
START_TEST(test_linear_time)
{
    static const char *const lines[] = { "malformed duplicate-field tag", 0 };
    size_t size = 20 * (7 * (40 + 5 * 6000 + 2) + 20) + 200, i, j;
    char *msg = malloc(size), *p = msg;
    clock_t t0;
    p += sprintf(p, "From: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
    for (i = 0; i < 20; i++) {
        p += sprintf(p, "--b\r\n");
        for (j = 0; j < 7; j++) {
            p += sprintf(p, "%s", j & 1 ? "Content-Type: a/b" : "Content-Disposition: attachment");
            p = repeat(p, j & 2 ? "; a=(" : " (a=", 6000);
            p += sprintf(p, "\r\n");
        }
        p += sprintf(p, "\r\nx\r\n");
    }
    p += sprintf(p, "--b--\r\n");
    config_lines(&cfg, lines);
    t0 = clock();
    run(&cfg, msg, (size_t)(p - msg), 65536);
    ck_assert_msg(clock() - t0 < 3 * CLOCKS_PER_SEC, "%.1f s", (double)(clock() - t0) / CLOCKS_PER_SEC);
    ck_assert_str_eq(findings(), "malformed=duplicate-field@1");
    config_free(&cfg);
    /* 200 names of 30000 dots, against 1000 extensions: trailing dots are
     * taken off once per name, not once per extension. */
    config_init(&cfg);
    for (i = 0; i < 1000; i++) {
        char line[64];
        snprintf(line, sizeof line, "extension x%zu tag", i);
        ck_assert_int_eq(config_line(&cfg, line, 1, line, sizeof line), 0);
    }
    free(msg);
    p = msg = malloc(200 * 30100 + 200);
    p += sprintf(p, "From: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
    for (i = 0; i < 200; i++) {
        p += sprintf(p, "--b\r\nContent-Type: a/b; name=\"");
        memset(p, '.', 30000);
        p += 30000;
        p += sprintf(p, "\"\r\n\r\n");
    }
    p += sprintf(p, "--b--\r\n");
    t0 = clock();
    run(&cfg, msg, (size_t)(p - msg), 65536);
    ck_assert_msg(clock() - t0 < 3 * CLOCKS_PER_SEC, "%.1f s", (double)(clock() - t0) / CLOCKS_PER_SEC);
    ck_assert_str_eq(findings(), "");
    config_free(&cfg);
    free(msg);
}
END_TEST

START_TEST(test_too_many_parts)
{
    static const char *const lines[] = { "extension exe", 0 };
    char *msg = malloc(1500 * 60 + 200), *p = msg;
    p += sprintf(p, "From: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
    p = repeat(p, "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n", 1500);
    p += sprintf(p, "--b--\r\n");
    config_lines(&cfg, lines);
    run(&cfg, msg, (size_t)(p - msg), 0);
    ck_assert_str_eq(findings(), "malformed=parts@1000");
    config_free(&cfg);
    free(msg);
}
END_TEST

START_TEST(test_malformations)
{
    static const struct { const char *msg; size_t n; const char *want; } t[] = {
#define M(s, w) { s, sizeof s - 1, w }
        M("From: a\r\nSubj\x80" "ect: x\r\n\r\n", "malformed=8bit-header malformed=header-syntax"),
        M("From: a\r\n Folded first? no: it follows From\r\n\r\n", ""),
        M(" From: a\r\n\r\n", "malformed=header-syntax missing=From"),
        M("From: a\r\nX: \0\r\n\r\n", "malformed=nul"),
        M("From: a\r\n\r\nbody \0\r\n", "malformed=nul"),
        M("From: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX: \xff\r\n\r\n--b--\r\n",
          "malformed=8bit-header@1"),
        M("From: a\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n", "malformed=bad-boundary"),
        M("From: a\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
          "malformed=encoded-container"),
        M("From: a\r\nContent-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n\r\n",
          "malformed=duplicate-field"),
        M("From: a\r\nContent-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: 8BIT \r\n\r\n"
          "--b--\r\n", ""),
        M("From: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n", "malformed=unclosed-boundary"),
#undef M
    };
    static const char *const all_tag[] = { "malformed bad-boundary,encoded-container,depth,parts,"
        "header-section,long-field,header-syntax,duplicate-field,nul tag", 0 };
    char b[400];
    size_t i;
    config_lines(&cfg, all_tag);
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        run(&cfg, t[i].msg, t[i].n, 0);
        ck_assert_msg(!strcmp(findings(), t[i].want), "%zu: %s", i, findings());
    }
    config_free(&cfg);
    /* a boundary longer than the limit */
    config_lines(&cfg, all_tag);
    i = (size_t)sprintf(b, "From: a\r\nContent-Type: multipart/mixed; boundary=");
    memset(b + i, 'q', BODYCHECK_BOUNDARY_MAX + 1);
    i += BODYCHECK_BOUNDARY_MAX + 1;
    i += (size_t)sprintf(b + i, "\r\n\r\n");
    run(&cfg, b, i, 0);
    ck_assert_str_eq(findings(), "malformed=bad-boundary");
    config_free(&cfg);
}
END_TEST

/* The findings for msg, the same in every chunking (and the verdict in
 * chk, from the last run). */
static const char *scan(struct config *c, const char *msg)
{
    static const size_t chunks[] = { 1, 2, 3, 7, 64, 0 };
    static char first[8192];
    size_t k, n = strlen(msg);
    for (k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        run(c, msg, n, chunks[k]);
        if (!k) snprintf(first, sizeof first, "%s", findings());
        else ck_assert_msg(!strcmp(first, findings()), "chunks of %zu: %s, not %s", chunks[k], findings(), first);
    }
    return first;
}

#define DISPOSITION(params) \
    "From: a\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; " params \
    "\r\n\r\nMZ\r\n"

/* RFC 2231 sections that mail readers assemble differently: a gap, a
 * repeated number, a zero-padded one.  Each reading is checked (as
 * Thunderbird shows it: up to the gap or the repeat), and the
 * malformation is refused by default. */
START_TEST(test_rfc2231_broken_sections)
{
    static const char *const exe[] = { "extension exe", 0 };
    static const char *const tagged[] = { "extension exe tag", "malformed bad-continuation tag", 0 };
    static const char gap[] = DISPOSITION("filename*0=\"evil.exe\"; filename*2=\".txt\"");
    static const char repeat[] = DISPOSITION("filename*0=\"evil\"; filename*1=\".exe\"; filename*1=\".txt\"");
    static const char repeat_last[] = DISPOSITION("filename*0=\"evil\"; filename*1=\".txt\"; filename*1=\".exe\"");
    static const char padded[] = DISPOSITION("filename*0=\"evil.exe\"; filename*01=\".txt\"");
    static const char no_zero[] = DISPOSITION("filename*1=\"notes.txt\"");
    static const char fine[] = DISPOSITION("filename*0=\"notes\"; filename*1=\".txt\"");
    config_lines(&cfg, exe);
    ck_assert_str_eq(scan(&cfg, gap), "extension=exe(evil.exe)");
    ck_assert_str_eq(verdict_line(), "reject 550 5.7.1 Message contains a forbidden attachment");
    ck_assert_str_eq(scan(&cfg, repeat), "extension=exe(evil.exe)");
    ck_assert_str_eq(scan(&cfg, repeat_last), "extension=exe(evil.txt.exe)");
    ck_assert_str_eq(scan(&cfg, padded), "extension=exe(evil.exe)");
    /* no forbidden name in any reading: the malformation alone */
    ck_assert_str_eq(scan(&cfg, no_zero), "malformed=bad-continuation");
    ck_assert_str_eq(verdict_line(), "reject 554 5.6.0 Message structure is malformed or too complex");
    ck_assert_str_eq(scan(&cfg, fine), "");
    config_free(&cfg);
    config_lines(&cfg, tagged);
    ck_assert_str_eq(scan(&cfg, gap), "extension=exe(evil.exe) malformed=bad-continuation");
    ck_assert_str_eq(verdict_line(), "continue");
    config_free(&cfg);
}
END_TEST

#define TEXT_PART(type_encoding, body) \
    "From: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" type_encoding "\r\n\r\n" \
    body "\r\n--b--\r\n"

/* uuencode, yEnc and BinHex at the start of a line of a text or untyped
 * body, after its transfer encoding is undone: mail readers show them as
 * attachments.  The names of the first two are checked like MIME names
 * (through the same parameter reader, as Thunderbird makes a
 * Content-Disposition of them); BinHex keeps its name inside the data. */
START_TEST(test_embedded_attachments)
{
    static const char *const exe[] = { "extension exe", 0 };
    config_lines(&cfg, exe);
    /* uuencode: untyped (no MIME at all), text/plain, text/html */
    ck_assert_str_eq(scan(&cfg, "From: a\r\n\r\nThe invoice:\r\n\r\nbegin 644 invoice.exe\r\n"), "extension=exe(invoice.exe)");
    ck_assert_str_eq(scan(&cfg, TEXT_PART("Content-Type: text/plain", "Hi.\r\nbegin 644 invoice.exe")),
                     "extension=exe@1(invoice.exe)");
    ck_assert_str_eq(scan(&cfg, TEXT_PART("Content-Type: text/html; charset=utf-8", "<p>\r\nbegin 0755  INVOICE.EXE \r\n")),
                     "extension=exe@1(INVOICE.EXE\\x20)");
    ck_assert_str_eq(scan(&cfg, TEXT_PART("Content-Type: text", "begin 644 invoice.exe\r\n")),
                     "extension=exe@1(invoice.exe)");
    /* yEnc */
    ck_assert_str_eq(scan(&cfg, TEXT_PART("X-Other: 1", "=ybegin line=128 size=2 name=invoice.exe\r\nxx\r\n=yend size=2")),
                     "extension=exe@1(invoice.exe)");
    ck_assert_str_eq(scan(&cfg, TEXT_PART("X-Other: 1", "=ybegin size=2 name=invoice.exe name=x")),
                     "extension=exe@1(invoice.exe)");
    /* inside base64 and quoted-printable; a soft line break before the
     * delimiter, a line that only starts like one */
    ck_assert_str_eq(scan(&cfg, TEXT_PART("Content-Type: text/plain\r\nContent-Transfer-Encoding: base64",
                                          "SGkuDQpiZWdpbiA2NDQg\r\naW52b2ljZS5leGUNCk0=")),
                     "extension=exe@1(invoice.exe)");
    ck_assert_str_eq(scan(&cfg, TEXT_PART("Content-Transfer-Encoding: quoted-printable", "=62egin 644 invoice.ex=\r\ne")),
                     "extension=exe@1(invoice.exe)");
    ck_assert_str_eq(scan(&cfg, TEXT_PART("Content-Transfer-Encoding: Quoted-Printable", "begin 644 invoice.exe=")),
                     "extension=exe@1(invoice.exe)");
    ck_assert_str_eq(scan(&cfg, TEXT_PART("Content-Transfer-Encoding: quoted-printable", "begin 644 x=\r\n--b.exe")),
                     "extension=exe@1(x--b.exe)");
    ck_assert_str_eq(scan(&cfg, TEXT_PART("Content-Transfer-Encoding: quoted-printable", "x=0Dbegin 644 a.exe")),
                     "extension=exe@1(a.exe)");
    /* the name as a Content-Disposition parameter reads it */
    ck_assert_str_eq(scan(&cfg, TEXT_PART("", "begin 644 =?UTF-8?B?aW52b2ljZS5leGU=?=")),
                     "extension=exe@1(invoice.exe)");
    ck_assert_str_eq(scan(&cfg, TEXT_PART("", "begin 644 x\"; filename*=UTF-8''a%2Eexe; y=\"")),
                     "extension=exe@1(a.exe)");
    /* not attachments: other names, not at a line start, not a text body,
     * the epilogue, base64 that is not decoded text */
    ck_assert_str_eq(scan(&cfg, TEXT_PART("", "begin 644 notes.txt\r\n begin 644 a.exe\r\nxbegin 644 a.exe")), "");
    ck_assert_str_eq(scan(&cfg, TEXT_PART("Content-Type: application/octet-stream", "begin 644 a.exe")), "");
    ck_assert_str_eq(scan(&cfg, TEXT_PART("Content-Transfer-Encoding: base64", "begin 644 a.exe")), "");
    ck_assert_str_eq(scan(&cfg, TEXT_PART("", "x") "begin 644 a.exe\r\n"), "");
    ck_assert_str_eq(scan(&cfg, TEXT_PART("", "Let us begin 644 a.exe\r\nbeginning 644 a.exe")), "");
    /* BinHex: refused by default */
    ck_assert_str_eq(scan(&cfg, TEXT_PART("", "(This file must be converted with BinHex 4.0)\r\n:$f*TEQKPH#jdCA0d,R0TG!\"6594%8dP8)3#3\"!:")),
                     "malformed=embedded-attachment@1");
    ck_assert_str_eq(verdict_line(), "reject 554 5.6.0 Message structure is malformed or too complex");
    config_free(&cfg);
}
END_TEST

/* A begin line too long to keep: its name cannot be checked. */
START_TEST(test_embedded_long_line)
{
    static const char *const exe[] = { "extension exe", 0 };
    char *msg = malloc(100000), *p = msg;
    p += sprintf(p, "From: a\r\n\r\nbegin 644 ");
    memset(p, 'x', 50000);
    p += 50000;
    strcpy(p, ".exe\r\nend\r\n");
    config_lines(&cfg, exe);
    ck_assert_str_eq(scan(&cfg, msg), "malformed=embedded-attachment");
    config_free(&cfg);
    free(msg);
}
END_TEST

/* Random damage to the corpus: no crash, nothing outside its buffers
 * (run this under the sanitizers: make units SANITIZE=...), and the same
 * findings whatever the chunking. */
START_TEST(test_mutations)
{
    static const char *const files[] = { "nested-exe", "rfc2231", "rfc822", "digest", "encoded-word",
                                         "unclosed", "alternative", "uuencode", "yenc", "rfc2231-gap" };
    static const char *const inserts[] = { "\r\n", "\n", "\r", "--level-2\r\n", "--b1--", "\0",
        "=?UTF-8?B?", "*0*=", "\"", ";", "Content-Type: multipart/mixed; boundary=b1\r\n", "\r\n\r\n",
        "\xff", " ", "(", "%", "'", "begin 644 a.exe\r\n", "=ybegin name=", "\r", "=\r\n", "*1=", "*01=" };
    char *buf = malloc(8192);
    char first[8192];
    unsigned seed = 12345;
    int round;
    example(&cfg);
    for (round = 0; round < 3000; round++) {
        size_t n, i, k, len;
        char *msg;
        const char *ins;
        seed = seed * 1103515245 + 12345;
        msg = 0;
        {
            char path[200];
            snprintf(path, sizeof path, CORPUS "%s.eml", files[(seed >> 16) % (sizeof files / sizeof files[0])]);
            msg = slurp(path, &n);
        }
        len = n < 4000 ? n : 4000;
        memcpy(buf, msg, len);
        for (k = 0; k < 4; k++) {
            seed = seed * 1103515245 + 12345;
            i = (seed >> 8) % (len + 1);
            seed = seed * 1103515245 + 12345;
            switch ((seed >> 16) % 4) {
            case 0: if (i < len) buf[i] = (char)(seed >> 24); break;
            case 1: len = i; break;
            case 2:
                ins = inserts[(seed >> 20) % (sizeof inserts / sizeof inserts[0])];
                {
                    size_t m = *ins ? strlen(ins) : 1;
                    if (len + m < 8000) {
                        memmove(buf + i + m, buf + i, len - i);
                        memcpy(buf + i, ins, m);
                        len += m;
                    }
                }
                break;
            default: if (i < len) { memmove(buf + i, buf + i + 1, len - i - 1); len--; } break;
            }
        }
        run(&cfg, buf, len, 0);
        snprintf(first, sizeof first, "%s", findings());
        run(&cfg, buf, len, 1 + (seed >> 24) % 13);
        ck_assert_msg(!strcmp(first, findings()), "round %d: %s vs %s", round, first, findings());
        free(msg);
    }
    config_free(&cfg);
    free(buf);
}
END_TEST

static Suite *bodycheck_suite(void)
{
    Suite *s = suite_create("smtp-bodycheck");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_encoded_words);
    tcase_add_test(tc, test_charsets);
    tcase_add_test(tc, test_param_type_and_boundary);
    tcase_add_test(tc, test_param_names);
    tcase_add_test(tc, test_param_broken_sections);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_config_text_length);
    tcase_add_test(tc, test_config_file_errors_name_the_line);
    tcase_add_test(tc, test_config_later_entries_replace);
    tcase_add_loop_test(tc, test_corpus, 0, sizeof corpus / sizeof corpus[0]);
    tcase_add_test(tc, test_tag_header);
    tcase_add_test(tc, test_tag_header_folds_and_is_bounded);
    tcase_add_test(tc, test_verdict_precedence_and_replies);
    tcase_add_test(tc, test_header_rules);
    tcase_add_test(tc, test_required_fields);
    tcase_add_test(tc, test_size_limit);
    tcase_add_test(tc, test_delimiters);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_huge_header_line);
    tcase_add_test(tc, test_huge_header_section);
    tcase_add_test(tc, test_long_body_lines);
    tcase_add_test(tc, test_linear_time);
    tcase_add_test(tc, test_too_many_parts);
    tcase_add_test(tc, test_malformations);
    tcase_add_test(tc, test_rfc2231_broken_sections);
    tcase_add_test(tc, test_embedded_attachments);
    tcase_add_test(tc, test_embedded_long_line);
    tcase_add_test(tc, test_mutations);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(bodycheck_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
