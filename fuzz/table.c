/* smtp-table's line parser (cmd/smtp-table/compile.c, table_line), the
 * three text formats of noqueue-tables(5).  A line taken gives a key and
 * a value of printable ASCII within their sizes (a senders or recipients
 * key may be well-formed UTF-8, RFC 6531), the key in the form the
 * filters look up (lower case; a client prefix in ipaddr_key's form,
 * which parses back to itself); a line refused says why.
 * Input: a byte for the kind, then lines. */
#include <string.h>

#include "compile.h"
#include "fuzz.h"
#include "ipaddr.h"
#include "smtp_command.h"

/* Printable ASCII, or a tab (RFC 5321 textstring: a reply text may hold one). */
static void printable(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) FUZZ_ASSERT((s[i] >= 32 && s[i] <= 126) || s[i] == '\t');
}

static void check(enum table_kind kind, const char *line, size_t n)
{
    struct table_entry e;
    char why[300];
    const char *warning = 0;
    int r;
    why[0] = 0;
    r = table_line(kind, line, n, &e, why, sizeof why, &warning);
    FUZZ_ASSERT(r == -1 || r == 0 || r == 1);
    if (r < 0) {
        FUZZ_ASSERT(why[0] && memchr(why, 0, sizeof why));
        return;
    }
    if (r == 0) return;
    FUZZ_ASSERT(kind != KIND_NONE);
    FUZZ_ASSERT(e.keylen && e.keylen <= TABLE_KEY_MAX && e.key[e.keylen] == 0 && strlen(e.key) == e.keylen);
    FUZZ_ASSERT(e.valuelen <= TABLE_VALUE_MAX && e.value[e.valuelen] == 0 && strlen(e.value) == e.valuelen);
    if (kind == KIND_CLIENTS) {
        printable(e.key, e.keylen);
    } else {
        size_t i;
        FUZZ_ASSERT(smtp_utf8_valid(e.key, e.keylen));
        for (i = 0; i < e.keylen; i++) FUZZ_ASSERT((unsigned char)e.key[i] >= 32 && e.key[i] != 127);
    }
    printable(e.value, e.valuelen);
    FUZZ_ASSERT(!strchr(e.key, '\t'));     /* a space only in a quoted local part */
    FUZZ_ASSERT(!strncmp(e.value, "allow", 5) || !strncmp(e.value, "deny", 4) ||
                !strncmp(e.value, "relay", 5) || !strncmp(e.value, "accept", 6));
    if (warning) FUZZ_ASSERT(warning == why && why[0]);
    switch (kind) {
    case KIND_CLIENTS: {
        struct ipaddr a;
        unsigned len;
        char again[IPADDR_KEY_MAX];
        FUZZ_ASSERT(e.bits == 32 || e.bits == 128);
        FUZZ_ASSERT(e.prefix <= e.bits);
        FUZZ_ASSERT(ipaddr_parse_prefix(&a, &len, e.key, e.keylen) && len == e.prefix && a.bits == e.bits);
        FUZZ_ASSERT(ipaddr_key(&a, len, again) == e.keylen && !memcmp(again, e.key, e.keylen));
        break;
    }
    case KIND_SENDERS:
    case KIND_RECIPIENTS: {
        size_t i;
        for (i = 0; i < e.keylen; i++) FUZZ_ASSERT(e.key[i] < 'A' || e.key[i] > 'Z');
        if (kind == KIND_RECIPIENTS)
            FUZZ_ASSERT(e.domain < e.keylen && (e.domain ? e.key[e.domain] == '@' : e.key[1] == '@'));
        /* An address key is the address a filter looks up: the path
         * "<key>" parses to the key itself (no source route dropped). */
        if (kind == KIND_RECIPIENTS ? e.key[0] != '*' : e.key[0] != '@' && e.key[0] != '.' && e.key[0] != '<') {
            char path[TABLE_KEY_MAX + 3], addr[SMTP_ADDRESS_MAX + 1];
            size_t used;
            path[0] = '<';
            memcpy(path + 1, e.key, e.keylen);
            path[e.keylen + 1] = '>';
            FUZZ_ASSERT(smtp_path_parse_utf8(path, e.keylen + 2, 0, 1, addr, &used) == SMTP_PATH_OK);
            FUZZ_ASSERT(used == e.keylen + 2 && !strcmp(addr, e.key));
        }
        break;
    }
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    enum table_kind kind = (enum table_kind)(fuzz_byte(&in) % (KIND_NONE + 1));
    const uint8_t *p = in.p, *end = in.p + in.n;
    while (p < end) {
        const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
        size_t n = lf ? (size_t)(lf - p) : (size_t)(end - p);
        char *line = fuzz_dup(p, n);
        check(kind, line, n);
        free(line);
        p += n + 1;
    }
    return 0;
}
