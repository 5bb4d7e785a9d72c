/* smtp-table: parse a table source, line by line, and write its cdb
 * atomically.  The formats are in noqueue-tables(5). */
#include <cdb.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compile.h"
#include "filterproto.h"
#include "log.h"
#include "smtp_reply.h"

/* Bad lines listed before the rest are only counted. */
#define ERRORS_SHOWN 20

static const char *const kind_names[] = { "clients", "senders", "recipients" };

enum table_kind table_kind(const char *name)
{
    int k;
    for (k = 0; k < KIND_NONE; k++)
        if (!strcmp(name, kind_names[k])) return (enum table_kind)k;
    return KIND_NONE;
}

const char *table_kind_name(enum table_kind kind)
{
    return kind < KIND_NONE ? kind_names[kind] : "none";
}

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The next word of line[*i..n-1]; 0 when there is none.  Blanks inside
 * double quotes (a quoted local part) do not end a word. */
static int word(const char *line, size_t n, size_t *i, const char **w, size_t *wl)
{
    int quoted = 0;
    while (*i < n && blank(line[*i])) (*i)++;
    if (*i == n) return 0;
    *w = line + *i;
    for (; *i < n && (quoted || !blank(line[*i])); (*i)++) {
        if (line[*i] == '"') quoted = !quoted;
        else if (quoted && line[*i] == '\\' && *i + 1 < n) (*i)++;
    }
    *wl = (size_t)(line + *i - *w);
    return 1;
}

static int is(const char *w, size_t wl, const char *s)
{
    return wl == strlen(s) && !memcmp(w, s, wl);
}

static void lower(char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] - 'A' + 'a');
}

static int set_key(struct table_entry *e, const char *w, size_t wl)
{
    if (wl > TABLE_KEY_MAX) return 0;
    memcpy(e->key, w, wl);
    e->key[wl] = 0;
    e->keylen = wl;
    return 1;
}

static void set_value(struct table_entry *e, const char *action, const char *text, size_t n)
{
    e->valuelen = (size_t)snprintf(e->value, sizeof e->value, "%s%s%.*s", action, n ? " " : "",
                                   (int)n, text);
}

/* The rest of the line, without its trailing blanks. */
static void rest(const char *line, size_t n, size_t i, const char **text, size_t *tl)
{
    while (i < n && blank(line[i])) i++;
    while (n > i && blank(line[n - 1])) n--;
    *text = line + i;
    *tl = n - i;
}

/* A reply text goes to the client as it is, after "550 " and an enhanced
 * status code "5.7.1 " when it has none of its own. */
static int text_valid(const char *t, size_t n, char *why, size_t size)
{
    int esc = smtp_enhanced_code_length(t, n);
    if (esc && t[0] != '5') return log_why(why, size, "the status code of a deny text must be 5.x.x");
    if (n + (esc ? 0 : 6) > TABLE_TEXT_MAX)
        return log_why(why, size, "text longer than %d characters", esc ? TABLE_TEXT_MAX : TABLE_TEXT_MAX - 6);
    return 0;
}

/* "allow", "relay" (clients only) or "deny [TEXT]" */
static int action(enum table_kind kind, const char *line, size_t n, size_t i,
                  struct table_entry *e, char *why, size_t size)
{
    const char *w, *text;
    size_t wl, tl;
    if (!word(line, n, &i, &w, &wl))
        return log_why(why, size, "no action after %s (allow, %sdeny)", e->key,
                   kind == KIND_CLIENTS ? "relay, " : "");
    rest(line, n, i, &text, &tl);
    if (is(w, wl, "deny")) {
        if (tl && text_valid(text, tl, why, size) < 0) return -1;
        set_value(e, "deny", text, tl);
        return 1;
    }
    if (!is(w, wl, "allow") && !(kind == KIND_CLIENTS && is(w, wl, "relay")))
        return log_why(why, size, "unknown action %.*s (allow, %sdeny)", (int)wl, w,
                   kind == KIND_CLIENTS ? "relay, " : "");
    if (tl) return log_why(why, size, "text after %.*s (only deny takes one)", (int)wl, w);
    set_value(e, is(w, wl, "allow") ? "allow" : "relay", "", 0);
    return 1;
}

static int client_line(const char *line, size_t n, struct table_entry *e, char *why, size_t size,
                       const char **warning)
{
    struct ipaddr a, masked;
    const char *w;
    size_t wl, i = 0;
    word(line, n, &i, &w, &wl);
    if (!ipaddr_parse_prefix(&a, &e->prefix, w, wl))
        return log_why(why, size, "not an address or address/length: %.*s", (int)wl, w);
    masked = a;
    ipaddr_mask(&masked, e->prefix);
    e->bits = a.bits;
    e->keylen = ipaddr_key(&a, e->prefix, e->key);
    if (!ipaddr_equal(&a, &masked) || (a.bits == 32 && memchr(w, ':', wl))) {
        snprintf(why, size, "%.*s taken as %s", (int)wl, w, e->key);
        *warning = why;
    }
    return action(KIND_CLIENTS, line, n, i, e, why, size);
}

static int mailbox_valid(const char *w, size_t wl)
{
    char path[TABLE_KEY_MAX + 3], addr[SMTP_ADDRESS_MAX + 1];
    size_t used;
    if (wl > SMTP_ADDRESS_MAX || !memchr(w, '@', wl)) return 0;
    path[0] = '<';
    memcpy(path + 1, w, wl);
    path[wl + 1] = '>';
    /* The address itself, as a client's path gives it (with SMTPUTF8,
     * RFC 6531: UTF-8 too): a source route ("@a:b@c") would be dropped
     * from the path, and never match. */
    return smtp_path_parse_utf8(path, wl + 2, 0, 1, addr, &used) == SMTP_PATH_OK &&
           used == wl + 2 && strlen(addr) == wl && !memcmp(addr, w, wl);
}

/* A domain of an address: ASCII, or with UTF-8 labels (RFC 6531), as the
 * domain of a mailbox. */
static int domain_valid(const char *d, size_t n)
{
    char box[SMTP_ADDRESS_MAX + 3];
    size_t i;
    if (n > SMTP_ADDRESS_MAX) return 0;
    for (i = 0; i < n && (unsigned char)d[i] < 128; i++) ;
    if (i == n) return smtp_domain_valid(d, n);
    if (n + 2 > SMTP_ADDRESS_MAX) return 0;
    box[0] = 'x';
    box[1] = '@';
    memcpy(box + 2, d, n);
    return mailbox_valid(box, n + 2);
}

static int sender_line(const char *line, size_t n, struct table_entry *e, char *why, size_t size)
{
    const char *w;
    size_t wl, i = 0;
    word(line, n, &i, &w, &wl);
    if (is(w, wl, "<>")) ;
    else if (w[0] == '@') {
        if (!domain_valid(w + 1, wl - 1)) return log_why(why, size, "not a domain: %.*s", (int)wl - 1, w + 1);
    } else if (w[0] == '.') {
        if (wl < 2 || w[1] == '[' || !domain_valid(w + 1, wl - 1))
            return log_why(why, size, "not a domain: %.*s", (int)wl - 1, w + 1);
    } else if (!mailbox_valid(w, wl)) {
        return log_why(why, size, "not an address, @domain, .domain or <>: %.*s", (int)wl, w);
    }
    if (!set_key(e, w, wl)) return log_why(why, size, "too long: %.*s", (int)wl, w);
    lower(e->key, e->keylen);
    return action(KIND_SENDERS, line, n, i, e, why, size);
}

static int class_valid(const char *c, size_t n)
{
    size_t i;
    if (!n || n > FILTERPROTO_CLASS_MAX) return 0;
    for (i = 0; i < n; i++)
        if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= 'A' && c[i] <= 'Z') ||
              (c[i] >= '0' && c[i] <= '9') || c[i] == '.' || c[i] == '_' || c[i] == '-'))
            return 0;
    return 1;
}

static int recipient_line(const char *line, size_t n, struct table_entry *e, char *why, size_t size)
{
    const char *w, *c;
    size_t wl, cl, i = 0;
    word(line, n, &i, &w, &wl);
    if (wl > 2 && w[0] == '*' && w[1] == '@') {
        if (!domain_valid(w + 2, wl - 2)) return log_why(why, size, "not a domain: %.*s", (int)wl - 2, w + 2);
        e->domain = 0;
    } else if (mailbox_valid(w, wl)) {
        for (e->domain = wl - 1; w[e->domain] != '@'; e->domain--) ;
    } else {
        return log_why(why, size, "not an address or *@domain: %.*s", (int)wl, w);
    }
    set_key(e, w, wl);
    lower(e->key, e->keylen);
    if (!word(line, n, &i, &c, &cl)) {
        set_value(e, "accept", "", 0);
        return 1;
    }
    if (!class_valid(c, cl))
        return log_why(why, size, "not a rule class (1 to %d of A-Z a-z 0-9 . _ -): %.*s",
                   FILTERPROTO_CLASS_MAX, (int)cl, c);
    if (word(line, n, &i, &w, &wl)) return log_why(why, size, "more than a class after %s", e->key);
    set_value(e, "accept", c, cl);
    return 1;
}

int table_line(enum table_kind kind, const char *line, size_t n, struct table_entry *e,
               char *why, size_t size, const char **warning)
{
    size_t i, first = 0, start, wl;
    const char *w;
    *warning = 0;
    memset(e, 0, sizeof *e);
    if (n && line[n - 1] == '\r') n--;          /* a file edited elsewhere */
    /* The address of a senders or recipients line may be UTF-8 (RFC
     * 6531), well formed; the rest, and a clients line, is printable
     * ASCII (a text goes into an SMTP reply). */
    start = word(line, n, &first, &w, &wl) ? (size_t)(w - line) : n;    /* first: its end */
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 32 && c != '\t') || c == 127 || (c > 127 && (kind == KIND_CLIENTS || i >= first)))
            return log_why(why, size, "byte %u (column %zu) is not printable ASCII", c, i + 1);
    }
    if (!smtp_utf8_valid(line, first))
        return log_why(why, size, "not UTF-8: a byte above 127 that is not part of a well-formed character");
    if (start == n || line[start] == '#') return 0;
    switch (kind) {
    case KIND_CLIENTS: return client_line(line, n, e, why, size, warning);
    case KIND_SENDERS: return sender_line(line, n, e, why, size);
    case KIND_RECIPIENTS: return recipient_line(line, n, e, why, size);
    default: return log_why(why, size, "no such kind of table");
    }
}

/* --- the file ----------------------------------------------------------- */

struct compile {
    enum table_kind kind;
    const char *source;
    FILE *in;
    struct cdb_make cdb;
    unsigned long line, errors;
    unsigned char prefixes[2][129];     /* [IPv4, IPv6][length] present */
};

static void report(struct compile *c, const char *level, const char *why)
{
    struct log_line l;
    char where[64];
    log_line_start(&l, level);
    log_raw(&l, " ", 1);
    log_raw(&l, c->source, strlen(c->source));
    snprintf(where, sizeof where, ":%lu: ", c->line);
    log_raw(&l, where, strlen(where));
    log_raw(&l, why, strlen(why));
    log_line_emit(&l);
}

/* One line into line[0..TABLE_LINE_MAX-1]: its length, -1 at the end of
 * the file, -2 when it is too long (then read to its end). */
static long read_line(FILE *in, char *line)
{
    long n = 0;
    int ch, toolong = 0;
    while ((ch = getc(in)) != EOF && ch != '\n') {
        if (n < TABLE_LINE_MAX - 1) line[n++] = (char)ch;
        else toolong = 1;
    }
    if (ch == EOF && !n && !toolong) return -1;
    return toolong ? -2 : n;
}

static int put(struct compile *c, const char *key, size_t kl, const char *value, size_t vl, int mode)
{
    return cdb_make_put(&c->cdb, key, (unsigned)kl, value, (unsigned)vl, mode);
}

/* The prefix lengths present, longest first: a filter looks up only those. */
static int put_prefixes(struct compile *c, int family, const char *key)
{
    char list[129 * 4 + 1];
    size_t len = 0;
    int bits;
    for (bits = family ? 128 : 32; bits >= 0; bits--)
        if (c->prefixes[family][bits])
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%d", len ? " " : "", bits);
    return put(c, key, strlen(key), list, len, CDB_PUT_ADD);
}

/* 0, 1 for a bad line (reported), -1 on a write error. */
static int compile_line(struct compile *c, const char *line, long n)
{
    struct table_entry e;
    char why[300];
    const char *warning;
    int r;
    if (n == -2) {
        snprintf(why, sizeof why, "longer than %d characters", TABLE_LINE_MAX - 1);
        r = -1;
    } else {
        r = table_line(c->kind, line, (size_t)n, &e, why, sizeof why, &warning);
    }
    if (r == 0) return 0;
    if (r > 0) {
        if (warning) report(c, "warning", warning);
        r = put(c, e.key, e.keylen, e.value, e.valuelen, CDB_PUT_INSERT);
        if (r < 0) return -1;
        if (r == 0) {
            if (c->kind == KIND_CLIENTS) c->prefixes[e.bits == 128][e.prefix] = 1;
            if (c->kind == KIND_RECIPIENTS && e.domain &&
                put(c, e.key + e.domain, e.keylen - e.domain, "domain", 6, CDB_PUT_INSERT) < 0)
                return -1;
            return 0;
        }
        snprintf(why, sizeof why, "%s is already in an earlier line", e.key);
    }
    if (++c->errors <= ERRORS_SHOWN) report(c, "error", why);
    return 1;
}

/* why = the message, and ": strerror(err)" when err is not 0. */
static int fail(int status, int err, char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(int status, int err, char *why, size_t size, const char *fmt, ...)
{
    size_t n;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    n = strlen(why);
    if (err) snprintf(why + n, size - n, ": %s", strerror(err));
    return status;
}

int table_compile(enum table_kind kind, const char *source, const char *target,
                  char *why, size_t whysize)
{
    static struct compile c;
    char tmp[PATH_MAX], line[TABLE_LINE_MAX], kindvalue[32];
    struct stat st;
    mode_t mask;
    long n;
    int fd, r = 0, started = 0;

    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.source = source;
    if (kind >= KIND_NONE) return fail(100, 0, why, whysize, "no such kind of table");
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", target) >= sizeof tmp)
        return fail(100, 0, why, whysize, "file name too long: %s", target);
    c.in = fopen(source, "r");
    if (!c.in) return fail(100, errno, why, whysize, "unable to open %s", source);
    fd = mkstemp(tmp);
    if (fd < 0) {
        r = fail(111, errno, why, whysize, "unable to create %s", tmp);
        fclose(c.in);
        return r;
    }
    /* The new table keeps the mode and group of the one it replaces (a
     * table root:noqueue 0640 must stay readable by the service). */
    mask = umask(0);
    umask(mask);
    if (stat(target, &st) == 0) {
        if (st.st_gid != getegid() && fchown(fd, (uid_t)-1, st.st_gid) < 0)
            log_warn_sys("unable to keep the group of %s", target);
    } else {
        st.st_mode = 0666 & ~mask;
    }
    if (fchmod(fd, st.st_mode & 07777) < 0 || cdb_make_start(&c.cdb, fd) < 0)
        goto write_error;
    started = 1;
    snprintf(kindvalue, sizeof kindvalue, "%s 1", kind_names[kind]);
    if (put(&c, TABLE_KIND_KEY, strlen(TABLE_KIND_KEY), kindvalue, strlen(kindvalue), CDB_PUT_ADD) < 0)
        goto write_error;
    while ((n = read_line(c.in, line)) != -1) {
        c.line++;
        if (compile_line(&c, line, n) < 0) goto write_error;
    }
    if (ferror(c.in)) {
        r = fail(111, errno, why, whysize, "unable to read %s", source);
        goto out;
    }
    if (c.errors) {
        r = fail(100, 0, why, whysize, "%s: %lu bad line%s; %s not changed", source, c.errors,
                 c.errors == 1 ? "" : "s", target);
        goto out;
    }
    if (kind == KIND_CLIENTS && (put_prefixes(&c, 0, TABLE_PREFIXES4_KEY) < 0 ||
                                 put_prefixes(&c, 1, TABLE_PREFIXES6_KEY) < 0))
        goto write_error;
    started = 0;
    if (cdb_make_finish(&c.cdb) < 0 || fsync(fd) < 0) goto write_error;
    r = close(fd);
    fd = -1;
    if (r < 0) goto write_error;
    if (rename(tmp, target) < 0)
        r = fail(111, errno, why, whysize, "unable to rename %s to %s", tmp, target);
    goto out;
write_error:
    r = fail(111, errno, why, whysize, "unable to write %s", tmp);
out:
    if (started) cdb_make_finish(&c.cdb);      /* frees its memory */
    if (fd >= 0) close(fd);
    if (r) unlink(tmp);
    fclose(c.in);
    return r;
}
