/* SMTP command lines from a client, as smtp-proxyd takes them: the line
 * check, the verb, MAIL and RCPT paths and parameters, HELO domains.
 * Input: one raw line (its LF and CR are the fuzzer's to choose). */
#include <string.h>

#include "fuzz.h"
#include "smtp_command.h"
#include "xtext.h"

static int printable(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126) return 0;
    return 1;
}

static void path(const char *s, size_t n, const char *prefix, int allow_null)
{
    char addr[SMTP_ADDRESS_MAX + 1];
    size_t k = prefix ? smtp_path_prefix(s, n, prefix) : 0, used = 0;
    const char *p, *end = s + n;
    struct smtp_param prm;
    int e, count = 0;
    FUZZ_ASSERT(k <= n);
    if (prefix && !k) return;
    memset(addr, 'x', sizeof addr);
    if (smtp_path_parse(s + k, n - k, allow_null, addr, &used) != SMTP_PATH_OK) return;
    /* What is taken is "<...>", what comes out is a C string that fits,
     * holds no control byte (it goes into the filter protocol and the
     * log) and is empty only for the null path. */
    FUZZ_ASSERT(used >= 2 && used <= n - k);
    FUZZ_ASSERT(s[k] == '<' && s[k + used - 1] == '>');
    FUZZ_ASSERT(memchr(addr, 0, sizeof addr));
    FUZZ_ASSERT(strlen(addr) <= SMTP_ADDRESS_MAX);
    FUZZ_ASSERT(printable(addr, strlen(addr)));
    FUZZ_ASSERT(addr[0] || allow_null);
    FUZZ_ASSERT(strlen(addr) <= used - 2);
    p = s + k + used;
    while ((e = smtp_param_next(&p, end, &prm)) > 0) {
        FUZZ_ASSERT(p >= s && p <= end);
        FUZZ_ASSERT(memchr(prm.key, 0, sizeof prm.key) && memchr(prm.value, 0, sizeof prm.value));
        FUZZ_ASSERT(prm.key[0]);
        FUZZ_ASSERT(printable(prm.key, strlen(prm.key)) && printable(prm.value, strlen(prm.value)));
        FUZZ_ASSERT(!strchr(prm.value, ' ') && !strchr(prm.key, '='));
        FUZZ_ASSERT(++count <= (int)n);
    }
    if (e == 0) FUZZ_ASSERT(p == end);
    /* The parameters' kinds: a known one with a valid value has the
     * syntax its RFC gives. */
    p = s + k + used;
    while (smtp_param_next(&p, end, &prm) > 0) {
        int valid = 0;
        enum smtp_param_kind kind = smtp_param_kind(&prm, !allow_null, &valid);
        FUZZ_ASSERT(kind >= SMTP_PARAM_UNKNOWN && kind <= SMTP_PARAM_ORCPT);
        if (kind == SMTP_PARAM_ENVID && valid) FUZZ_ASSERT(xtext_valid(prm.value, strlen(prm.value)));
        if (kind == SMTP_PARAM_SIZE && valid) FUZZ_ASSERT(prm.value[0] && strlen(prm.value) <= 20);
    }
}

/* RFC 6531: with SMTPUTF8 a path may hold UTF-8, which must be well
 * formed; without, only ASCII is taken.  What comes out fits and has no
 * control byte. */
static void path8(const char *s, size_t n, int utf8)
{
    char addr[SMTP_ADDRESS_MAX + 1];
    size_t used = 0, i, len;
    int r;
    memset(addr, 'x', sizeof addr);
    r = smtp_path_parse_utf8(s, n, 1, utf8, addr, &used);
    FUZZ_ASSERT(r >= SMTP_PATH_OK && r <= SMTP_PATH_NOT_ASCII);
    if (r != SMTP_PATH_OK) return;
    FUZZ_ASSERT(memchr(addr, 0, sizeof addr));
    len = strlen(addr);
    FUZZ_ASSERT(used >= 2 && used <= n && len <= used - 2 && len <= SMTP_ADDRESS_MAX);
    for (i = 0; i < len; i++) FUZZ_ASSERT((unsigned char)addr[i] >= 32 && addr[i] != 127);
    FUZZ_ASSERT(smtp_utf8_valid(addr, len));
    if (!utf8) FUZZ_ASSERT(printable(addr, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = fuzz_dup(data, size);
    size_t n = size;
    int r = smtp_line_check(line, &n);
    struct smtp_command c;
    FUZZ_ASSERT(r >= SMTP_LINE_OK && r <= SMTP_LINE_BAD_BYTE);
    FUZZ_ASSERT(n <= size);
    if (r == SMTP_LINE_OK) {
        /* Only printable ASCII and tabs get through, CRLF stripped. */
        size_t i;
        FUZZ_ASSERT(n + 2 == size && line[n] == 0);
        FUZZ_ASSERT(data[size - 2] == '\r' && data[size - 1] == '\n');
        for (i = 0; i < n; i++)
            FUZZ_ASSERT(line[i] == '\t' || (line[i] >= 32 && line[i] <= 126));
    } else {
        free(line);
        /* The parsers below must stand any bytes all the same. */
        line = fuzz_dup(data, size);
        n = size;
    }
    {
        /* The 8-bit line check takes what the 7-bit one takes, and more. */
        char *l8 = fuzz_dup(data, size);
        size_t n8 = size;
        int eight = -1, r8 = smtp_line_check8(l8, &n8, &eight);
        FUZZ_ASSERT(eight == 0 || eight == 1 || r8 != SMTP_LINE_OK);
        if (r == SMTP_LINE_OK) FUZZ_ASSERT(r8 == SMTP_LINE_OK && n8 == n && !eight);
        if (r8 == SMTP_LINE_OK) {
            path8(l8, n8, 0);
            path8(l8, n8, 1);
        }
        free(l8);
    }
    smtp_command_split(line, n, &c);
    FUZZ_ASSERT(c.arg >= line && c.arg + c.arglen == line + n);
    switch (c.verb) {
    case SMTP_MAIL: path(c.arg, c.arglen, "FROM:", 1); break;
    case SMTP_RCPT: path(c.arg, c.arglen, "TO:", 0); break;
    case SMTP_HELO: case SMTP_EHLO:
        if (smtp_domain_valid(c.arg, c.arglen)) FUZZ_ASSERT(c.arglen && printable(c.arg, c.arglen));
        break;
    default:
        /* Any argument, as a path, a domain or parameters. */
        path(c.arg, c.arglen, 0, c.arglen & 1);
        if (smtp_domain_valid(c.arg, c.arglen)) FUZZ_ASSERT(c.arglen && printable(c.arg, c.arglen));
        break;
    }
    free(line);
    return 0;
}
