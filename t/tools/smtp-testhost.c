/*
 * smtp-testhost: a strict, scriptable SMTP server, the smarthost of the
 * end-to-end tests.
 *
 * It runs under a UCSPI super-server (tcpserver), one process per
 * connection, reading the client on fd 0 and writing it on fd 1.  It uses
 * libc only, nothing from lib/: its line handling and dot-unstuffing are
 * written from RFC 5321 directly, so that a mistake in the project's own
 * SMTP code cannot be mirrored here and go unnoticed.
 *
 *   -d DIR        store each message accepted at end of data as
 *                 DIR/env.PID.N ("MAIL FROM:<a>" then "RCPT TO:<a>" lines)
 *                 and DIR/msg.PID.N (the message bytes), each written as
 *                 DIR/tmp.* and renamed, env first
 *   -l            (with -d) transcript in DIR/log.PID: each command line as
 *                 received without its CRLF (a line ended by a bare LF or
 *                 too long is recorded too, without its LF, cut at 2048);
 *                 ". SIZE" after a message body;
 *                 "! REASON" when this server closes the connection itself
 *                 (greeting, 421, idle, drop data, drop VERB)
 *   -g CODE       greeting CODE: 421 closes at once, another non-2xx
 *                 answers every command but QUIT with 503
 *   -e            refuse EHLO (502)
 *   -M CODE       reply CODE to every MAIL
 *   -R ADDR=CODE  reply CODE to RCPT TO:<ADDR>; ADDR "*" matches every
 *                 recipient; up to 32, the first match wins
 *   -D CODE       reply CODE to DATA (354 is the only one that goes on)
 *   -E CODE       reply CODE at end of data; only a 2xx stores the message
 *   -x BYTES      drop the connection, no reply, once BYTES bytes of
 *                 message data (as on the wire) have arrived
 *   -z BYTES      stop (SIGSTOP itself) once BYTES bytes of message data
 *                 have arrived, so that a test can act while a message is
 *                 in flight; it goes on when continued
 *   -q VERB       drop the connection, no reply, when VERB arrives
 *   -J VERB       after the reply to VERB, one more reply no one asked for
 *   -w MS         wait before the end-of-data reply
 *   -W MS         wait before every reply, the greeting included
 *   -i MS         idle timeout while waiting for a command: 421 and close
 *   -s BYTES      announce SIZE BYTES and refuse larger messages (552)
 *   -p            do not announce PIPELINING
 *   -N            do not announce 8BITMIME
 *   -Y            (with -l) a command that was already read with the one
 *                 before it (pipelined, RFC 2920) is recorded with "| "
 *                 in front
 *   -X LIST       announce the extensions of LIST too (comma-separated):
 *                 SMTPUTF8 (RFC 6531: MAIL's SMTPUTF8 parameter, then
 *                 UTF-8 addresses, well-formed only), DSN (RFC 3461: RET
 *                 and ENVID on MAIL, NOTIFY and ORCPT on RCPT, checked
 *                 loosely), CHUNKING (RFC 3030: BDAT n [LAST], the chunks
 *                 stored as they come; with -l, ". SIZE" after the last).
 *                 Without SMTPUTF8, a non-ASCII address gets 553 5.6.7;
 *                 the parameters of an extension not announced get 555.
 *   -S CERT,KEY   announce STARTTLS (RFC 3207); on STARTTLS, hand the
 *                 connection to "smtp-tls -s -c CERT -k KEY" (the program
 *                 found in PATH, or -L's) as smtp-proxyd does, and go on
 *                 over its plaintext side; with -l, "* tls ok VERSION
 *                 CIPHER ..." or "! tls fail REASON" after the handshake
 *   -L PROGRAM    the smtp-tls to run
 *   -r SEED:PERCENT[:LATE]
 *                 random faults, reproducible: at each MAIL, RCPT, DATA and
 *                 end of data, with PERCENT % chance, one of a 4xx refusal,
 *                 a 5xx refusal, dropping the connection (no reply) or a
 *                 delay of up to 300 ms before the normal reply; at end of
 *                 data also dropping the connection just after storing the
 *                 message (its reply is lost) and waiting LATE ms (default
 *                 5000) before storing and replying (a reply later than
 *                 the client waits: stored all the same).  The choices
 *                 depend only on SEED, the transaction's MAIL FROM address
 *                 and the command's place in the transaction, so a message
 *                 meets the same faults whatever the order connections run
 *                 in.  With -l, each fault is a line "* fault VERB KIND"
 *                 (KIND: 4xx, 5xx, drop, delay MS, drop-after-store FILE,
 *                 late MS FILE; VERB: MAIL, RCPT, DATA, EOD), written
 *                 before the fault takes effect.
 *
 * A scripted code keeps its meaning: a 2xx to MAIL or RCPT accepts, so
 * "-R a@b=250 -R *=550" accepts a@b only; any 421 closes the connection
 * after the reply, as RFC 5321 (3.8) says a 421 does.
 *
 * Exit status: 0 at QUIT, end of file or any close of its own; 100 for a
 * usage error; 111 when it cannot write DIR.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: smtp-testhost [-d dir [-l]] [-g code] [-e] [-M code]" \
    " [-R addr=code]... [-D code] [-E code] [-x bytes] [-z bytes] [-q verb] [-w ms]" \
    " [-W ms] [-i ms] [-s bytes] [-p] [-N] [-Y] [-X SMTPUTF8,DSN,CHUNKING]" \
    " [-r seed:percent[:late-ms]]" \
    " [-S cert,key [-L smtp-tls]]"

/* Longer than RFC 5321's 512, so that the proxy's own limit is what a
 * test meets, not this one. */
#define LINE_MAX_LEN 2048       /* a command line, without its CRLF */
#define RCPT_MAX 1000           /* RFC 5321 4.5.3.1.8 asks for at least 100 */
#define RULE_MAX 32
#define MS_MAX 86400000ULL

struct rule {
    const char *addr;           /* "*" matches every address */
    int code;
};

static struct {
    const char *dir;
    int transcript;
    int greeting;
    int no_ehlo;
    int mail_code, data_code, eod_code;     /* 0: the normal reply */
    struct rule rules[RULE_MAX];
    int nrules;
    int drop_data;
    unsigned long long drop_after;
    unsigned long long stop_after;      /* -z; 0: never */
    const char *drop_verb;
    const char *junk_verb;      /* -J: an extra reply after this command's */
    long eod_wait, reply_wait;
    long idle;                  /* -1: none */
    unsigned long long size_max;            /* 0: no limit (RFC 1870) */
    int no_pipelining;
    int no_8bitmime;            /* -N */
    int mark_pipelined;         /* -Y */
    int smtputf8, dsn, chunking;            /* -X */
    int chaos;                  /* -r */
    unsigned long long chaos_seed;
    unsigned chaos_percent;
    long chaos_late;
    const char *tls_cert, *tls_key, *tls_program;   /* -S, -L */
} opt = { .greeting = 220, .idle = -1, .chaos_late = 5000, .tls_program = "smtp-tls" };

static struct {
    long pid;
    unsigned long stored;       /* messages accepted on this connection */
    int greeted, no_service;
    int tls;                    /* after a STARTTLS handshake */
    int in_mail;                /* a MAIL was accepted */
    int utf8;                   /* and it had SMTPUTF8 */
    int bdat;                   /* BDAT chunks have come: the message is open */
    unsigned rcpts;             /* recipients accepted */
    char *env;                  /* the env file's text, built as we go */
    size_t envlen, envcap;
    int logfd;
} sess = { .logfd = -1 };

/* The message being received: its temporary file and what it counts. */
static struct {
    int fd;                     /* -1: not storing */
    char tmp[PATH_MAX];
    char buf[65536];
    size_t len;
    unsigned long long size;    /* bytes stored, after unstuffing */
} body = { .fd = -1 };

static char outbuf[4096];
static size_t outlen;
static char inbuf[65536];
static size_t inpos, inlen;

static void fatal(int status, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
static void leave(const char *reason) __attribute__((noreturn));
static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void discard_message(void)
{
    if (body.fd < 0) return;
    close(body.fd);
    unlink(body.tmp);
    body.fd = -1;
}

static void fatal(int status, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    discard_message();
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
    fprintf(stderr, "smtp-testhost: fatal: %.*s\n", n, buf);
    exit(status);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* --- the transcript ------------------------------------------------------ */

/* One write(2) per line, so a test reading the file while the connection
 * is open never sees half a line. */
static void record(const char *text, size_t len)
{
    char buf[LINE_MAX_LEN + 2];

    if (sess.logfd < 0) return;
    if (len > LINE_MAX_LEN) len = LINE_MAX_LEN;
    memcpy(buf, text, len);
    buf[len] = '\n';
    if (write_all(sess.logfd, buf, len + 1) < 0)
        fatal(111, "cannot write the transcript: %s", strerror(errno));
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    record(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* --- replies ------------------------------------------------------------- */

/* The client has gone: what it did not read no longer matters. */
static void flush_out(void)
{
    if (write_all(1, outbuf, outlen) < 0) {
        discard_message();
        exit(0);
    }
    outlen = 0;
}

/* Closing on our own initiative; earlier replies still go out. */
static void leave(const char *reason)
{
    if (reason) note("! %s", reason);
    flush_out();
    discard_message();
    exit(0);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* -W: the client must see the delay, so what came before goes out first. */
static void before_reply(void)
{
    if (!opt.reply_wait) return;
    flush_out();
    sleep_ms(opt.reply_wait);
}

static void put(const char *s)
{
    size_t n = strlen(s);
    if (outlen + n > sizeof outbuf) flush_out();
    memcpy(outbuf + outlen, s, n);
    outlen += n;
}

/* Replies are buffered until the next read, so pipelined commands get
 * their replies in one go, as RFC 2920 expects of a server. */
static void reply(const char *fmt, ...)
{
    char line[LINE_MAX_LEN + 64];
    va_list ap;
    int n;

    before_reply();
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n > sizeof line - 3) n = (int)sizeof line - 3;
    memcpy(line + n, "\r\n", 3);
    put(line);
}

/* A code from the command line.  Enhanced status codes (RFC 3463) exist
 * for classes 2, 4 and 5 only; "detail" is the rest of one. */
static void scripted(int code, const char *detail, const char *text)
{
    if (code / 100 == 3) reply("%d %s", code, text);
    else reply("%d %d.%s %s", code, code / 100, detail, text);
    if (code == 421) leave("421");
}

/* --- input --------------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Refill inbuf, flushing replies before waiting.  deadline is a now_ms()
 * time or -1 for none.  1: data; 0: end of file (or a reset, the same to
 * us); -1: the deadline passed. */
static int fill(long long deadline)
{
    flush_out();
    for (;;) {
        struct pollfd p = { .fd = 0, .events = POLLIN };
        int timeout = -1, r;
        ssize_t n;

        if (deadline >= 0) {
            long long left = deadline - now_ms();
            if (left <= 0) return -1;
            timeout = left > INT_MAX ? INT_MAX : (int)left;
        }
        r = poll(&p, 1, timeout);
        if (r < 0 && errno != EINTR) fatal(111, "poll: %s", strerror(errno));
        if (r <= 0) continue;
        n = read(0, inbuf, sizeof inbuf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return 0;
        inpos = 0;
        inlen = (size_t)n;
        return 1;
    }
}

enum line { LINE_OK, LINE_BARE_LF, LINE_LONG, LINE_EOF, LINE_IDLE };

/* Read one command line up to its LF into line (LINE_MAX_LEN + 2 bytes),
 * NUL-terminated, *len its length without the terminator.  Only CR LF is a
 * proper end (RFC 5321 2.3.8).  A long line is kept cut to LINE_MAX_LEN and
 * the rest discarded up to the LF. */
/* Was the last command line already there when the one before it was
 * taken (pipelined)? */
static int line_pipelined;

static enum line read_command(char *line, size_t *len)
{
    long long deadline = opt.idle >= 0 ? now_ms() + opt.idle : -1;
    size_t total = 0;
    char last = 0;

    line_pipelined = inpos < inlen;
    for (;;) {
        while (inpos < inlen) {
            char c = inbuf[inpos++];
            if (c == '\n') {
                int crlf = last == '\r';
                size_t content = total - (size_t)crlf;
                *len = content > LINE_MAX_LEN ? LINE_MAX_LEN : content;
                line[*len] = 0;
                if (content > LINE_MAX_LEN) return LINE_LONG;
                return crlf ? LINE_OK : LINE_BARE_LF;
            }
            if (total <= LINE_MAX_LEN) line[total] = c;
            total++;
            last = c;
        }
        switch (fill(deadline)) {
        case 0: return LINE_EOF;
        case -1: return LINE_IDLE;
        }
    }
}

/* --- the message --------------------------------------------------------- */

static void path(char *buf, const char *kind, unsigned long n)
{
    if ((size_t)snprintf(buf, PATH_MAX, "%s/%s.%ld.%lu", opt.dir, kind, sess.pid, n)
        >= PATH_MAX)
        fatal(111, "directory name too long");
}

static void body_flush(void)
{
    if (write_all(body.fd, body.buf, body.len) < 0)
        fatal(111, "cannot write %s: %s", body.tmp, strerror(errno));
    body.len = 0;
}

static void emit(char c)
{
    body.size++;
    if (body.fd < 0) return;
    body.buf[body.len++] = c;
    if (body.len == sizeof body.buf) body_flush();
}

/* Where we are in the data: lines end in CR LF only, so a bare LF is just
 * a byte, and neither "\n.\n" ends the data nor "\n.." loses its dot. */
enum dstate {
    D_BOL,                      /* at the start of a line */
    D_DOT,                      /* a dot at the start of a line, held back */
    D_DOTCR,                    /* then a CR, held back too */
    D_MID,                      /* inside a line */
    D_CR                        /* after a CR inside a line */
};

/* RFC 5321 4.5.2: a line starting with a dot loses that dot; a line that
 * is only a dot ends the data.  1 at the end of the data. */
static int unstuff(enum dstate *st, char c)
{
    switch (*st) {
    case D_BOL:
        if (c == '.') {
            *st = D_DOT;
            return 0;
        }
        break;
    case D_DOT:
        if (c == '\r') {
            *st = D_DOTCR;
            return 0;
        }
        break;
    case D_DOTCR:
        if (c == '\n') return 1;
        emit('\r');             /* ".\r" then more: the dot was stuffing */
        *st = D_CR;
        break;
    case D_MID:
    case D_CR:
        break;
    }
    emit(c);
    if (c == '\r') *st = D_CR;
    else *st = *st == D_CR && c == '\n' ? D_BOL : D_MID;
    return 0;
}

/* Read the data up to its end: 1 there, 0 at end of file.  The bytes are
 * streamed to the file, never held whole. */
static int receive_body(void)
{
    enum dstate st = D_BOL;
    unsigned long long wire = 0, stopwire = 0;

    body.size = 0;
    if (opt.drop_data && !opt.drop_after) leave("drop data");
    for (;;) {
        while (inpos < inlen) {
            char c = inbuf[inpos++];
            if (opt.drop_data && ++wire >= opt.drop_after) leave("drop data");
            if (opt.stop_after && ++stopwire == opt.stop_after) raise(SIGSTOP);
            if (unstuff(&st, c)) return 1;
        }
        if (!fill(-1)) return 0;
    }
}

static void start_message(void)
{
    if (!opt.dir) return;
    path(body.tmp, "tmp.msg", sess.stored + 1);
    body.fd = open(body.tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (body.fd < 0) fatal(111, "cannot create %s: %s", body.tmp, strerror(errno));
    body.len = 0;
}

static void write_file(const char *name, const char *text, size_t len)
{
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write_all(fd, text, len) < 0 || close(fd) < 0)
        fatal(111, "cannot write %s: %s", name, strerror(errno));
}

/* env before msg: a msg file's presence implies its env file. */
static void store_message(void)
{
    char tmp[PATH_MAX], name[PATH_MAX];

    body_flush();
    if (close(body.fd) < 0) fatal(111, "cannot write %s: %s", body.tmp, strerror(errno));
    body.fd = -1;
    path(tmp, "tmp.env", sess.stored);
    path(name, "env", sess.stored);
    write_file(tmp, sess.env, sess.envlen);
    if (rename(tmp, name) < 0) fatal(111, "cannot rename %s: %s", tmp, strerror(errno));
    path(name, "msg", sess.stored);
    if (rename(body.tmp, name) < 0)
        fatal(111, "cannot rename %s: %s", body.tmp, strerror(errno));
}

/* --- random faults (-r) -------------------------------------------------- */

/* The transaction's own random stream: splitmix64 (no libc rand(), whose
 * sequence differs between C libraries), seeded at MAIL from -r's seed and
 * the sender, so a message's fate does not depend on scheduling. */
static unsigned long long chaos_state;

static unsigned long long chaos_next(void)
{
    unsigned long long z = (chaos_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void chaos_begin(const char *sender)
{
    unsigned long long h = 0xcbf29ce484222325ULL;       /* FNV-1a */
    for (; *sender; sender++) h = (h ^ (unsigned char)*sender) * 0x100000001b3ULL;
    chaos_state = opt.chaos_seed ^ h;
}

/* -1: no fault this time; else which of the kinds.  Two draws always, so
 * the stream moves on the same whatever is chosen. */
static int chaos_pick(int kinds)
{
    unsigned long long a = chaos_next(), b = chaos_next();
    if (!opt.chaos || a % 100 >= opt.chaos_percent) return -1;
    return (int)(b % (unsigned)kinds);
}

static long chaos_delay(void)
{
    return (long)(chaos_next() % 300) + 1;
}

/* The faults common to MAIL, RCPT and DATA: 1 when the command is done
 * with (refused; a drop does not return). */
static int chaos_command(const char *verb, int refusal5)
{
    long ms;
    switch (chaos_pick(4)) {
    case 0:
        note("* fault %s 4xx", verb);
        reply("451 4.3.0 random fault");
        return 1;
    case 1:
        note("* fault %s 5xx", verb);
        reply("%d 5.0.0 random fault", refusal5);
        return 1;
    case 2:
        note("* fault %s drop", verb);
        leave("drop");
    case 3:
        ms = chaos_delay();
        note("* fault %s delay %ld", verb, ms);
        flush_out();
        sleep_ms(ms);
        return 0;
    }
    return 0;
}

/* MAIL starts the transaction's stream. */
static int chaos_mail(const char *sender)
{
    chaos_begin(sender);
    return chaos_command("MAIL", 550);
}

/* --- the transaction ----------------------------------------------------- */

static void reset_transaction(void)
{
    discard_message();
    sess.bdat = 0;
    sess.utf8 = 0;
    sess.in_mail = 0;
    sess.rcpts = 0;
    sess.envlen = 0;
}

static void env_add(const char *prefix, const char *addr)
{
    size_t need = sess.envlen + strlen(prefix) + strlen(addr) + 4;

    if (need > sess.envcap) {
        size_t cap = need > 2 * sess.envcap ? need : 2 * sess.envcap;
        char *p = realloc(sess.env, cap);
        if (!p) fatal(111, "out of memory");
        sess.env = p;
        sess.envcap = cap;
    }
    sess.envlen += (size_t)sprintf(sess.env + sess.envlen, "%s<%s>\n", prefix, addr);
}

/* KEYWORD "<" address ">" [" " parameters], no space after the colon
 * (RFC 5321 4.1.2).  Quoted strings may hold spaces and brackets.  addr
 * must hold as much as arg.  *params: NULL when there are none. */
static int parse_path(const char *arg, const char *keyword, char *addr, const char **params)
{
    size_t k = strlen(keyword), n = 0;
    int quoted = 0;

    if (!arg || strncasecmp(arg, keyword, k) || arg[k] != '<') return 0;
    for (arg += k + 1; *arg && (quoted || *arg != '>'); arg++) {
        if (!quoted && (*arg == '<' || *arg == ' ')) return 0;
        if (*arg == '"') quoted = !quoted;
        else if (quoted && *arg == '\\' && arg[1]) addr[n++] = *arg++;
        addr[n++] = *arg;
    }
    addr[n] = 0;
    if (*arg != '>') return 0;
    arg++;
    *params = NULL;
    if (!*arg) return 1;
    if (*arg != ' ' || !arg[1]) return 0;
    *params = arg + 1;
    return 1;
}

static int all_digits(const char *p, size_t n)
{
    size_t i;
    if (!n) return 0;
    for (i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9') return 0;
    return 1;
}

/* RFC 3629, written here again (no lib/): 1 when well-formed. */
static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned long cp;
        int more, i;
        if (*p < 0x80) { p++; continue; }
        if (*p >= 0xc2 && *p <= 0xdf) { more = 1; cp = *p & 0x1f; }
        else if (*p >= 0xe0 && *p <= 0xef) { more = 2; cp = *p & 0x0f; }
        else if (*p >= 0xf0 && *p <= 0xf4) { more = 3; cp = *p & 0x07; }
        else return 0;
        for (i = 1; i <= more; i++) {
            if ((p[i] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += more + 1;
    }
    return 1;
}

/* An address with a byte above 127 needs SMTPUTF8 in this transaction,
 * and must be UTF-8: NULL if fine, else the reply. */
static const char *address_check(const char *addr, int utf8)
{
    const char *p;
    for (p = addr; *p && (unsigned char)*p < 128; p++) ;
    if (!*p) return NULL;
    if (!utf8) return "553 5.6.7 non-ASCII address without SMTPUTF8";
    if (!utf8_valid(addr)) return "553 5.6.7 address not UTF-8";
    return NULL;
}

/* Has the parameter list p the parameter KEY (alone, or KEY=...)? */
static int has_param(const char *p, const char *key)
{
    size_t k = strlen(key);
    while (p) {
        if (!strncasecmp(p, key, k) && (!p[k] || p[k] == ' ' || p[k] == '=')) return 1;
        p = strchr(p, ' ');
        if (p) p++;
    }
    return 0;
}

/* MAIL parameters, one space apart: SIZE (RFC 1870) and BODY (RFC 6152),
 * the extensions announced.  NULL if they are fine, else the reply. */
static const char *mail_params(const char *p)
{
    while (p) {
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);

        if (n > 5 && !strncasecmp(p, "SIZE=", 5)) {
            if (!all_digits(p + 5, n - 5) || n - 5 > 20) return "501 5.5.4 bad SIZE";
            if (opt.size_max && strtoull(p + 5, NULL, 10) > opt.size_max)
                return "552 5.3.4 too big";
        } else if (n > 5 && !strncasecmp(p, "BODY=", 5)) {
            if (!(n == 9 && !strncasecmp(p + 5, "7BIT", 4))
                && !(n == 13 && !strncasecmp(p + 5, "8BITMIME", 8)))
                return "501 5.5.4 bad BODY";
        } else if (!n) {
            return "501 5.5.4 syntax";
        } else if (opt.smtputf8 && n == 8 && !strncasecmp(p, "SMTPUTF8", 8)) {
            ;
        } else if (opt.dsn && n > 4 && !strncasecmp(p, "RET=", 4)) {
            if (!(n == 8 && !strncasecmp(p + 4, "FULL", 4)) && !(n == 8 && !strncasecmp(p + 4, "HDRS", 4)))
                return "501 5.5.4 bad RET";
        } else if (opt.dsn && n > 6 && !strncasecmp(p, "ENVID=", 6)) {
            if (n - 6 > 100) return "501 5.5.4 bad ENVID";
        } else {
            return "555 5.5.4 unsupported parameter";
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

/* RCPT parameters: NOTIFY and ORCPT with DSN. */
static const char *rcpt_params(const char *p)
{
    while (p) {
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (opt.dsn && n > 7 && !strncasecmp(p, "NOTIFY=", 7)) ;
        else if (opt.dsn && n > 6 && !strncasecmp(p, "ORCPT=", 6)) {
            if (!memchr(p + 6, ';', n - 6)) return "501 5.5.4 bad ORCPT";
        } else if (!n) return "501 5.5.4 syntax";
        else return "555 5.5.4 unsupported parameter";
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

/* The -R code for addr, 0 if no rule matches. */
static int rcpt_rule(const char *addr)
{
    int i;
    for (i = 0; i < opt.nrules; i++)
        if (!strcmp(opt.rules[i].addr, "*") || !strcasecmp(opt.rules[i].addr, addr))
            return opt.rules[i].code;
    return 0;
}

/* --- commands ------------------------------------------------------------ */

static void cmd_ehlo(const char *arg)
{
    char size[64];

    if (opt.no_ehlo) {
        reply("502 5.5.1 no EHLO");
        return;
    }
    if (!arg || !*arg) {
        reply("501 5.5.4 syntax: EHLO domain");
        return;
    }
    reset_transaction();
    sess.greeted = 1;
    before_reply();
    put("250-testhost\r\n");
    if (!opt.no_pipelining) put("250-PIPELINING\r\n");
    if (!opt.no_8bitmime) put("250-8BITMIME\r\n");
    if (opt.smtputf8) put("250-SMTPUTF8\r\n");
    if (opt.dsn) put("250-DSN\r\n");
    if (opt.chunking) put("250-CHUNKING\r\n");
    if (opt.tls_cert && !sess.tls) put("250-STARTTLS\r\n");
    snprintf(size, sizeof size, "250-SIZE %llu\r\n", opt.size_max);
    put(size);
    put("250 ENHANCEDSTATUSCODES\r\n");
}

static void cmd_helo(const char *arg)
{
    if (!arg || !*arg) {
        reply("501 5.5.4 syntax: HELO domain");
        return;
    }
    reset_transaction();
    sess.greeted = 1;
    reply("250 testhost");
}

static void cmd_mail(const char *arg)
{
    char addr[LINE_MAX_LEN + 1];
    const char *params, *bad;

    if (!sess.greeted) reply("503 5.5.1 EHLO or HELO first");
    else if (sess.in_mail) reply("503 5.5.1 nested MAIL");
    else if (!parse_path(arg, "FROM:", addr, &params)) reply("501 5.5.4 syntax: MAIL FROM:<address>");
    else if ((bad = mail_params(params))) reply("%s", bad);
    else if ((bad = address_check(addr, params && has_param(params, "SMTPUTF8")))) reply("%s", bad);
    else if (opt.chaos && chaos_mail(addr)) return;
    else if (opt.mail_code && opt.mail_code / 100 != 2) scripted(opt.mail_code, "0.0", "mail refused");
    else {
        sess.in_mail = 1;
        sess.utf8 = params && has_param(params, "SMTPUTF8");
        env_add("MAIL FROM:", addr);
        if (opt.mail_code) scripted(opt.mail_code, "1.0", "Ok");
        else reply("250 2.1.0 Ok");
    }
}

static void cmd_rcpt(const char *arg)
{
    char addr[LINE_MAX_LEN + 1];
    const char *params, *bad;
    int code;

    if (!sess.in_mail) {
        reply("503 5.5.1 MAIL first");
        return;
    }
    if (!parse_path(arg, "TO:", addr, &params) || !*addr) {
        reply("501 5.5.4 syntax: RCPT TO:<address>");
        return;
    }
    if ((bad = rcpt_params(params)) || (bad = address_check(addr, sess.utf8))) {
        reply("%s", bad);
        return;
    }
    if (sess.rcpts == RCPT_MAX) {
        reply("452 4.5.3 too many recipients");
        return;
    }
    if (opt.chaos && chaos_command("RCPT", 550)) return;
    code = rcpt_rule(addr);
    if (code && code / 100 != 2) {
        scripted(code, "0.0", "recipient refused");
        return;
    }
    sess.rcpts++;
    env_add("RCPT TO:", addr);
    if (code) scripted(code, "1.5", "Ok");
    else reply("250 2.1.5 Ok");
}

static void end_of_data(void)
{
    int code = opt.eod_code ? opt.eod_code : 250;
    int fault = -1;
    long ms;

    note(". %llu", body.size);
    if (opt.chaos) fault = chaos_pick(6);
    switch (fault) {
    case 0:
    case 1:
        note("* fault EOD %s", fault ? "5xx" : "4xx");
        discard_message();
        if (fault) reply("554 5.0.0 random fault");
        else reply("451 4.3.0 random fault");
        reset_transaction();
        return;
    case 2:
        note("* fault EOD drop");
        leave("drop");
    case 3:
        ms = chaos_delay();
        note("* fault EOD delay %ld", ms);
        flush_out();
        sleep_ms(ms);
        break;
    case 5:
        note("* fault EOD late %ld msg.%ld.%lu", opt.chaos_late, sess.pid, sess.stored + 1);
        flush_out();
        sleep_ms(opt.chaos_late);
        break;
    }
    if (opt.eod_wait) {
        flush_out();
        sleep_ms(opt.eod_wait);
    }
    if (opt.size_max && body.size > opt.size_max) {
        discard_message();
        reply("552 5.3.4 too big");
    } else if (code / 100 != 2) {
        discard_message();
        scripted(code, "0.0", "message refused");
    } else {
        sess.stored++;
        if (body.fd >= 0) store_message();
        if (fault == 4) {
            note("* fault EOD drop-after-store msg.%ld.%lu", sess.pid, sess.stored);
            leave("drop");
        }
        reply("%d 2.0.0 Ok: stored %ld.%lu", code, sess.pid, sess.stored);
    }
    reset_transaction();
}

static void cmd_data(const char *arg)
{
    if (arg) reply("501 5.5.4 syntax: DATA");
    else if (!sess.in_mail) reply("503 5.5.1 MAIL first");
    else if (!sess.rcpts) reply("503 5.5.1 no valid recipients");
    else if (opt.chaos && chaos_command("DATA", 554)) return;
    else if (opt.data_code && opt.data_code != 354) scripted(opt.data_code, "0.0", "data refused");
    else {
        start_message();
        reply("354 go ahead");
        if (!receive_body()) leave(NULL);
        end_of_data();
    }
}

/* BDAT n [LAST] (RFC 3030): n octets follow the line, taken as they are.
 * Refused chunks are read all the same, so that the session stays in
 * step. */
static void cmd_bdat(const char *arg)
{
    char *end;
    unsigned long long n;
    int last;
    const char *refusal = NULL;

    if (!opt.chunking) {
        reply("500 5.5.2 unknown");
        return;
    }
    if (!arg || *arg < '0' || *arg > '9') {
        reply("501 5.5.4 syntax: BDAT size [LAST]");
        return;
    }
    errno = 0;
    n = strtoull(arg, &end, 10);
    last = !strcasecmp(end, " LAST");
    if (errno || (*end && !last)) {
        reply("501 5.5.4 syntax: BDAT size [LAST]");
        return;
    }
    if (!sess.in_mail) refusal = "503 5.5.1 MAIL first";
    else if (!sess.rcpts) refusal = "503 5.5.1 no valid recipients";
    if (!refusal && !sess.bdat) {
        start_message();
        body.size = 0;
        sess.bdat = 1;
    }
    while (n) {
        size_t k;
        if (inpos == inlen && !fill(-1)) leave(NULL);
        k = inlen - inpos < n ? inlen - inpos : (size_t)n;
        if (!refusal) {
            size_t i;
            for (i = 0; i < k; i++) emit(inbuf[inpos + i]);
        }
        inpos += k;
        n -= k;
    }
    if (refusal) {
        reply("%s", refusal);
        return;
    }
    if (!last) {
        reply("250 2.0.0 %llu octets so far", body.size);
        return;
    }
    sess.bdat = 0;
    end_of_data();
}

static void cmd_rset(const char *arg)
{
    if (arg) {
        reply("501 5.5.4 syntax: RSET");
        return;
    }
    reset_transaction();
    reply("250 2.0.0 Ok");
}

/* RFC 5321 4.1.1.9: NOOP may have a parameter, to be ignored. */
static void cmd_noop(const char *arg)
{
    reply("250 2.0.0 Ok");
}

/* STARTTLS: smtp-tls takes the network (fds 6 and 7, the UCSPI way) and
 * gives us the plaintext on a socketpair, as our fds 0 and 1; its one
 * status line comes first.  What the client sent after STARTTLS in the
 * clear is dropped, never read as a command (RFC 3207, 4.2). */
static void cmd_starttls(const char *arg)
{
    int sv[2], i;
    pid_t pid;
    char status[4200];
    size_t n = 0;

    if (!opt.tls_cert || sess.tls) {
        reply("502 5.5.1 no STARTTLS");
        return;
    }
    if (arg) {
        reply("501 5.5.4 syntax: STARTTLS");
        return;
    }
    reply("220 2.0.0 ready to start TLS");
    flush_out();
    inpos = inlen = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) fatal(111, "socketpair: %s", strerror(errno));
    /* Above 7, so that the child's dup2 onto 6 and 7 cannot take them. */
    for (i = 0; i < 2; i++) {
        int high = fcntl(sv[i], F_DUPFD, 8);
        if (high < 0) fatal(111, "fcntl: %s", strerror(errno));
        close(sv[i]);
        sv[i] = high;
    }
    pid = fork();
    if (pid < 0) fatal(111, "fork: %s", strerror(errno));
    if (!pid) {
        if (dup2(0, 6) < 0 || dup2(1, 7) < 0 || dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0) _exit(111);
        close(sv[0]);
        close(sv[1]);
        execlp(opt.tls_program, opt.tls_program, "-s", "-c", opt.tls_cert, "-k", opt.tls_key,
               (char *)NULL);
        fprintf(stderr, "smtp-testhost: cannot run %s: %s\n", opt.tls_program, strerror(errno));
        _exit(111);
    }
    if (dup2(sv[0], 0) < 0 || dup2(sv[0], 1) < 0) fatal(111, "dup2: %s", strerror(errno));
    close(sv[0]);
    close(sv[1]);
    /* The status line, up to its LF; what follows it is the client's. */
    for (;;) {
        char *lf;
        size_t k;
        if (inpos == inlen && fill(now_ms() + 30000) <= 0) leave("tls no status");
        lf = memchr(inbuf + inpos, '\n', inlen - inpos);
        k = lf ? (size_t)(lf - (inbuf + inpos)) : inlen - inpos;
        if (n + k >= sizeof status) leave("tls status too long");
        memcpy(status + n, inbuf + inpos, k);
        n += k;
        inpos += k;
        if (lf) {
            inpos++;
            break;
        }
    }
    status[n] = 0;
    if (strncmp(status, "ok ", 3)) {
        note("! tls %s", status);
        flush_out();
        exit(0);
    }
    note("* tls %s", status);
    sess.tls = 1;
    sess.greeted = 0;
    reset_transaction();
}

static void cmd_quit(const char *arg)
{
    if (arg) {
        reply("501 5.5.4 syntax: QUIT");
        return;
    }
    reply("221 2.0.0 Bye");
    flush_out();
    exit(0);
}

static const struct verb {
    const char *name;
    void (*run)(const char *arg);
} verbs[] = {
    { "EHLO", cmd_ehlo }, { "HELO", cmd_helo }, { "MAIL", cmd_mail },
    { "RCPT", cmd_rcpt }, { "DATA", cmd_data }, { "RSET", cmd_rset },
    { "NOOP", cmd_noop }, { "QUIT", cmd_quit }, { "STARTTLS", cmd_starttls },
    { "BDAT", cmd_bdat },
};

static const struct verb *find_verb(const char *name, size_t n)
{
    size_t i;
    for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strlen(verbs[i].name) == n && !strncasecmp(verbs[i].name, name, n))
            return &verbs[i];
    return NULL;
}

static void command(const char *line, size_t len)
{
    const char *sp = strchr(line, ' ');
    size_t n = sp ? (size_t)(sp - line) : len;
    const struct verb *v;

    /* A NUL would cut the line short for the string functions below. */
    if (memchr(line, 0, len)) {
        reply("500 5.5.2 NUL in command");
        return;
    }
    v = find_verb(line, n);
    if (v && opt.drop_verb && !strcmp(v->name, opt.drop_verb)) {
        char reason[16];
        snprintf(reason, sizeof reason, "drop %s", v->name);
        leave(reason);
    }
    if (sess.no_service && !(v && v->run == cmd_quit)) reply("503 5.5.1 no service");
    else if (v) v->run(sp ? sp + 1 : NULL);
    else reply("500 5.5.2 unknown");
    if (v && opt.junk_verb && !strcmp(v->name, opt.junk_verb)) reply("250 2.0.0 unasked");
}

static void greet(void)
{
    if (opt.greeting / 100 == 2) {
        reply("%d testhost ESMTP", opt.greeting);
        return;
    }
    reply("%d testhost refusing", opt.greeting);
    if (opt.greeting == 421) leave("greeting");
    sess.no_service = 1;
}

/* --- options ------------------------------------------------------------- */

static unsigned long long number(const char *s, unsigned long long max, const char *what)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9') fatal(100, "bad %s: %s", what, s);
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*end || errno || v > max) fatal(100, "bad %s: %s", what, s);
    return v;
}

static int reply_code(const char *s)
{
    int code = all_digits(s, strlen(s)) && strlen(s) == 3 ? atoi(s) : 0;
    if (code < 200 || code > 599) fatal(100, "bad code: %s (200..599)", s);
    return code;
}

static void rule(char *arg)
{
    char *eq = strrchr(arg, '=');

    if (!eq || eq == arg) fatal(100, "bad -R, want ADDR=CODE: %s", arg);
    if (opt.nrules == RULE_MAX) fatal(100, "more than %d -R options", RULE_MAX);
    *eq = 0;
    opt.rules[opt.nrules].addr = arg;
    opt.rules[opt.nrules].code = reply_code(eq + 1);
    opt.nrules++;
}

/* -r SEED:PERCENT[:LATE] */
static void chaos_option(char *arg)
{
    char *percent = strchr(arg, ':'), *late;

    if (!percent) fatal(100, "bad -r, want SEED:PERCENT[:LATE]: %s", arg);
    *percent++ = 0;
    if ((late = strchr(percent, ':'))) {
        *late++ = 0;
        opt.chaos_late = (long)number(late, MS_MAX, "milliseconds");
    }
    opt.chaos_seed = number(arg, ULLONG_MAX, "seed");
    opt.chaos_percent = (unsigned)number(percent, 100, "percentage");
    opt.chaos = 1;
}

static void options(int argc, char **argv)
{
    const struct verb *v;
    int c;

    opterr = 0;                 /* one line of our own instead */
    while ((c = getopt(argc, argv, ":d:lg:eM:R:D:E:x:z:q:J:w:W:i:s:pNYX:r:S:L:")) != -1) {
        switch (c) {
        case 'd': opt.dir = optarg; break;
        case 'l': opt.transcript = 1; break;
        case 'g': opt.greeting = reply_code(optarg); break;
        case 'e': opt.no_ehlo = 1; break;
        case 'M': opt.mail_code = reply_code(optarg); break;
        case 'R': rule(optarg); break;
        case 'D': opt.data_code = reply_code(optarg); break;
        case 'E': opt.eod_code = reply_code(optarg); break;
        case 'x':
            opt.drop_data = 1;
            opt.drop_after = number(optarg, ULLONG_MAX, "byte count");
            break;
        case 'z': opt.stop_after = number(optarg, ULLONG_MAX, "byte count"); break;
        case 'q':
            if (!(v = find_verb(optarg, strlen(optarg)))) fatal(100, "bad verb: %s", optarg);
            opt.drop_verb = v->name;
            break;
        case 'J':
            if (!(v = find_verb(optarg, strlen(optarg)))) fatal(100, "bad verb: %s", optarg);
            opt.junk_verb = v->name;
            break;
        case 'w': opt.eod_wait = (long)number(optarg, MS_MAX, "milliseconds"); break;
        case 'W': opt.reply_wait = (long)number(optarg, MS_MAX, "milliseconds"); break;
        case 'i': opt.idle = (long)number(optarg, MS_MAX, "milliseconds"); break;
        case 's': opt.size_max = number(optarg, ULLONG_MAX, "size"); break;
        case 'p': opt.no_pipelining = 1; break;
        case 'N': opt.no_8bitmime = 1; break;
        case 'Y': opt.mark_pipelined = 1; break;
        case 'X': {
            char *w;
            for (w = strtok(optarg, ","); w; w = strtok(NULL, ",")) {
                if (!strcasecmp(w, "SMTPUTF8")) opt.smtputf8 = 1;
                else if (!strcasecmp(w, "DSN")) opt.dsn = 1;
                else if (!strcasecmp(w, "CHUNKING")) opt.chunking = 1;
                else fatal(100, "bad -X extension: %s (SMTPUTF8, DSN, CHUNKING)", w);
            }
            break;
        }
        case 'r': chaos_option(optarg); break;
        case 'S': {
            char *comma = strchr(optarg, ',');
            if (!comma || comma == optarg || !comma[1]) fatal(100, "bad -S, want CERT,KEY: %s", optarg);
            *comma = 0;
            opt.tls_cert = optarg;
            opt.tls_key = comma + 1;
            break;
        }
        case 'L': opt.tls_program = optarg; break;
        case ':': fatal(100, "option -%c needs an argument; %s", optopt, USAGE);
        default: fatal(100, "bad option -%c; %s", optopt, USAGE);
        }
    }
    if (optind != argc) fatal(100, "%s", USAGE);
    if (opt.transcript && !opt.dir) fatal(100, "-l needs -d");
}

int main(int argc, char **argv)
{
    char line[LINE_MAX_LEN + 2];
    size_t len;

    options(argc, argv);
    /* A client that goes away shows as a write error, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    sess.pid = (long)getpid();
    if (opt.transcript) {
        char name[PATH_MAX];
        if ((size_t)snprintf(name, sizeof name, "%s/log.%ld", opt.dir, sess.pid) >= sizeof name)
            fatal(111, "directory name too long");
        sess.logfd = open(name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (sess.logfd < 0) fatal(111, "cannot open %s: %s", name, strerror(errno));
    }
    greet();
    for (;;) {
        switch (read_command(line, &len)) {
        case LINE_EOF:
            leave(NULL);
        case LINE_IDLE:
            reply("421 4.4.2 testhost idle timeout");
            leave("idle");
        case LINE_LONG:
            record(line, len);
            reply("500 5.5.2 line too long");
            break;
        case LINE_BARE_LF:
            record(line, len);
            reply("500 5.5.2 bare LF");
            break;
        case LINE_OK:
            if (opt.mark_pipelined && line_pipelined) {
                char marked[LINE_MAX_LEN + 3];
                size_t k = len < LINE_MAX_LEN ? len : LINE_MAX_LEN;
                memcpy(marked, "| ", 2);
                memcpy(marked + 2, line, k);
                record(marked, k + 2);
            } else {
                record(line, len);
            }
            command(line, len);
            break;
        }
    }
}
