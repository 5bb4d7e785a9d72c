/* smtp-bodycheck: the checks of a message at eom, see smtp-bodycheck(8).
 *
 *   decode.c   RFC 2047 encoded-words, RFC 2231 values, the charsets that
 *              are not ASCII-compatible: a name as a mail reader shows it
 *   param.c    Content-Type and Content-Disposition values: the type, the
 *              boundary, every file name they give
 *   mime.c     the streaming MIME scanner: bytes in, events out (fields,
 *              types, file names, malformations); fixed memory
 *   embedded.c attachments inside text bodies (uuencode, yEnc, BinHex),
 *              found at line starts once the transfer encoding is undone
 *   config.c   the configuration: file lines and options, one grammar
 *   check.c    the rule engine: events in, findings and a verdict out
 *   filter.c   the smtp-filter(7) loop: eom, the message from fd 3
 *
 * Everything but main.c can be fed from memory (the unit test, a fuzzer).
 * No allocation after start-up: the scanner and the engine are fixed-size
 * structures. */
#ifndef BODYCHECK_H
#define BODYCHECK_H

#include <regex.h>
#include <stddef.h>

#include "header.h"
#include "statustext.h"

/* Limits; smtp-bodycheck(8), LIMITS, says what happens beyond each. */
#define BODYCHECK_FIELD_MAX    32768    /* one header field, unfolded */
#define BODYCHECK_SECTION_MAX  262144   /* one header section */
#define BODYCHECK_DEPTH_MAX    32       /* containers around an entity */
#define BODYCHECK_PARTS_MAX    1000     /* entities in a message */
#define BODYCHECK_BOUNDARY_MAX 256      /* RFC 2046 says 70; some exceed it */
#define BODYCHECK_FINDINGS_MAX 32       /* findings kept for the log/header */
#define BODYCHECK_PART_MAX     (BODYCHECK_DEPTH_MAX * 5 + 1)   /* "1.2.3" */
#define BODYCHECK_NAME_SHOW    200      /* file name octets kept per finding */
#define BODYCHECK_TAG_MAX      1000     /* the added header's value */
#define BODYCHECK_CONFIG_LINE  4096
#define BODYCHECK_EMBED_LINE   1024     /* a uuencode or yEnc begin line */

/* ---- decode.c --------------------------------------------------------- */

/* Each decoder writes at most size octets to out and returns the length;
 * what does not fit is dropped.  out and s must not overlap. */
/* RFC 2047: encoded-words (B and Q) decoded, the white space between two
 * of them dropped, their charset converted as by decode_charset. */
size_t decode_words(char *out, size_t size, const char *s, size_t n);
/* RFC 2231: "%XX" octets. */
size_t decode_percent(char *out, size_t size, const char *s, size_t n);
/* UTF-16, UTF-32 (with or without a byte order mark, LE, BE), UCS-2 and
 * UTF-7 to UTF-8; any other charset is copied as it is (it is
 * ASCII-compatible, which is all a file name extension needs). */
size_t decode_charset(char *out, size_t size, const char *charset, size_t clen,
                      const char *s, size_t n);

/* ---- param.c ---------------------------------------------------------- */

/* "type/subtype" of a Content-Type value, lower case, in type[0..size-1];
 * "" when the value does not start with one. */
void param_type(const char *v, size_t n, char *type, size_t size);
/* The boundary parameter: its length (0 if absent or empty), or -1 when it
 * is longer than size. */
long param_boundary(const char *v, size_t n, char *out, size_t size);
/* Every file name a Content-Type or Content-Disposition value gives: name=
 * and filename=, plain (encoded-words decoded), RFC 2231 extended and
 * continued (sections put in order, charset'lang' honoured).  A value that
 * a lenient reader would take otherwise (unquoted with spaces, junk after
 * the quotes) is given in that form too, and so is each reading of RFC
 * 2231 sections that readers put together differently (a gap, a repeated
 * number, a leading zero).  1 when there were such sections, else 0. */
typedef void param_name_fn(void *ctx, const char *name, size_t n);
int param_names(const char *v, size_t n, param_name_fn *fn, void *ctx);

/* ---- embedded.c ------------------------------------------------------- */

enum transfer { TRANSFER_IDENTITY, TRANSFER_QUOTED_PRINTABLE, TRANSFER_BASE64 };

/* What a line start holds: the file name of a uuencode or yEnc
 * attachment (each reading of it), or an attachment whose name cannot be
 * checked (BinHex, a begin line longer than BODYCHECK_EMBED_LINE). */
enum embedded_kind { EMBEDDED_NAME, EMBEDDED_UNCHECKED };
typedef void embedded_fn(void *ctx, enum embedded_kind kind, const char *name, size_t n);

struct embedded {
    embedded_fn *fn;
    void *ctx;
    int active;
    enum transfer transfer;
    unsigned long bits;                 /* base64: the octets not yet out */
    unsigned nbits;
    int qp;                             /* 1: after "=" and qp_space blanks; 2: after "=X" */
    unsigned char qp_digit;
    unsigned long long qp_space;
    /* the decoded line */
    int after_cr;                       /* it ended at a CR: an LF next ends nothing */
    unsigned long long line_len;
    int candidate;                      /* 1: may start one of them; 2: still may, after 8 octets */
    int too_long;
    size_t keep_len;
    char keep[BODYCHECK_EMBED_LINE];
};

/* A text body starts (its transfer encoding undone as a reader does). */
void embedded_start(struct embedded *e, enum transfer t, embedded_fn *fn, void *ctx);
/* Octets of a body line, without its line end; then its line end. */
void embedded_feed(struct embedded *e, const char *p, size_t n);
void embedded_line_end(struct embedded *e);
/* The body ends (the CRLF before a delimiter is not the body's). */
void embedded_end(struct embedded *e);

/* ---- mime.c ----------------------------------------------------------- */

enum malformation {
    MALFORMED_BAD_BOUNDARY, MALFORMED_UNCLOSED_BOUNDARY, MALFORMED_ENCODED_CONTAINER,
    MALFORMED_DEPTH, MALFORMED_PARTS, MALFORMED_HEADER_SECTION, MALFORMED_LONG_FIELD,
    MALFORMED_HEADER_SYNTAX, MALFORMED_DUPLICATE_FIELD, MALFORMED_8BIT_HEADER,
    MALFORMED_NUL, MALFORMED_BAD_CONTINUATION, MALFORMED_EMBEDDED_ATTACHMENT, MALFORMED_KINDS
};
const char *malformation_name(enum malformation m);
int malformation_find(const char *name, size_t n);     /* index or -1 */

/* What the scanner reports.  depth is 0 for the message's own header;
 * part is the entity's section number ("2.1"), "" for the message. */
struct mime_events {
    void (*field)(void *ctx, unsigned depth, const char *name, size_t namelen,
                  const char *value, size_t valuelen);
    void (*header_end)(void *ctx, unsigned depth);
    void (*content_type)(void *ctx, const char *part, const char *type);
    void (*file_name)(void *ctx, const char *part, const char *name, size_t n);
    void (*malformed)(void *ctx, const char *part, enum malformation m);
};

struct mime_level {                     /* an open multipart */
    char boundary[BODYCHECK_BOUNDARY_MAX];
    size_t len;
    unsigned depth;                     /* of the multipart entity */
    unsigned part;                      /* number of its current part */
    int digest;
};

struct mime_entity {                    /* what its header said so far */
    int have_type, have_encoding, encoded;
    int multipart, message, digest, default_message;
    int text;                           /* text/... or untyped */
    enum transfer transfer;
    long boundary_len;                  /* -1: too long */
    char boundary[BODYCHECK_BOUNDARY_MAX];
};

#define MIME_PREFIX_MAX (BODYCHECK_BOUNDARY_MAX + 8)

/* What every message writes first and together, the big arrays last
 * (each message writes only the start of field, and level only when it
 * is a multipart): fewer pages touched. */
struct mime_scanner {
    const struct mime_events *ev;
    void *ctx;
    int stop;                           /* set by a callback: read no more */
    enum { MIME_HEADER, MIME_HEADER_SKIP, MIME_BODY } state;
    unsigned depth;                     /* of the current entity */
    unsigned entities;
    unsigned nlevels;
    unsigned reported;                  /* malformations, a bit each */
    /* the current line */
    int cr;                             /* a CR held back: LF next? */
    unsigned long long line_len;
    int maybe_delimiter, tail_space;
    size_t prefix_len;
    int hold;                           /* this line may be a delimiter: not fed yet */
    unsigned long long held_space;      /* white space after prefix[], held */
    /* the header field being read */
    int continuation, have_field, field_long;
    size_t section_len, field_len;
    struct mime_entity ent;
    char part[BODYCHECK_PART_MAX];
    char prefix[MIME_PREFIX_MAX];
    /* a text body's lines, for attachments inside it */
    struct embedded text;
    char field[BODYCHECK_FIELD_MAX];
    struct mime_level level[BODYCHECK_DEPTH_MAX];
};

void mime_start(struct mime_scanner *m, const struct mime_events *ev, void *ctx);
void mime_feed(struct mime_scanner *m, const char *buf, size_t n);
void mime_end(struct mime_scanner *m);

/* ---- config.c --------------------------------------------------------- */

enum action_kind { ACTION_IGNORE, ACTION_TAG, ACTION_SCORE, ACTION_TEMPFAIL, ACTION_REJECT };

struct action {
    enum action_kind kind;
    int code;                           /* 0: the check's default */
    long score;
    char *text;                         /* with its enhanced code; 0: default */
};

enum rule_kind { RULE_SIZE, RULE_REQUIRE, RULE_HEADER, RULE_EXTENSION, RULE_TYPE, RULE_MALFORMED };

struct rule {
    enum rule_kind kind;
    char key[128];                      /* field, extension, type pattern, malformation */
    unsigned long long size;            /* RULE_SIZE */
    int malformation;                   /* RULE_MALFORMED */
    regex_t re;                         /* RULE_HEADER */
    int raw;                            /* RULE_HEADER: match undecoded */
    unsigned line;                      /* RULE_HEADER: where it was written */
    struct action action;
    unsigned long fired, seen;          /* message numbers */
};

/* The first rules live in the config itself (the defaults and a few
 * options are 20 or so): a filter with no more never calls malloc,
 * which would cost it pages of its own.  The config must not be moved. */
#define BODYCHECK_FIRST_RULES 32

struct config {
    struct rule **rule;                 /* first_rule, or malloc'd */
    size_t nrules, room;
    char add_header[HEADER_NAME_MAX + 1];
    int have_file;
    unsigned long message;              /* counts the messages checked */
    size_t nfirst;                      /* of first[], handed out */
    struct rule *first_rule[BODYCHECK_FIRST_RULES];
    struct rule first[BODYCHECK_FIRST_RULES];
};

/* Defaults: From required, the malformations' default actions. */
void config_init(struct config *c);
/* One line of the grammar ("extension exe,scr reject"); lineno is its
 * number in its file (a header rule's name in findings).  0, or -1 with a
 * one-line reason in why[0..size-1]. */
int config_line(struct config *c, const char *line, unsigned lineno, char *why, size_t size);
/* A whole file: 0, or -1 with "file:line: reason" in why (the first bad
 * line).  config_read goes on after a bad line when bad_line is given,
 * which is told each one (the first too); why is then the first. */
typedef void config_bad_line(const char *path, unsigned lineno, const char *reason);
int config_read(struct config *c, const char *path, config_bad_line *bad_line, char *why, size_t size);
int config_file(struct config *c, const char *path, char *why, size_t size);
void config_free(struct config *c);

/* ---- check.c ---------------------------------------------------------- */

enum verdict { VERDICT_CONTINUE, VERDICT_TEMPFAIL, VERDICT_REJECT };

struct finding {
    const struct rule *rule;
    char value[80];                     /* "exe", "From", "Subject:12", "depth" */
    char part[BODYCHECK_PART_MAX];
    size_t namelen;
    char name[BODYCHECK_NAME_SHOW];     /* the file name, as decoded */
};

/* The fields of every message first, beside the scanner's (one page),
 * the findings and the header rules' buffers last. */
struct check {
    struct config *cfg;
    unsigned long long size, fed;
    enum verdict verdict;
    const struct rule *decisive;        /* the first reject, else tempfail */
    long score;
    unsigned nfound, more;
    struct mime_scanner mime;
    struct finding found[BODYCHECK_FINDINGS_MAX];
    char raw[BODYCHECK_FIELD_MAX + 1];              /* a field value, for regexec() */
    char value[2 * BODYCHECK_FIELD_MAX + 1];        /* the same, decoded */
};

/* Default texts, replaceable through SMTP_TEXT_<name> (statustext.h). */
enum { TEXT_TOO_BIG, TEXT_MISSING_HEADER, TEXT_REJECTED, TEXT_ATTACHMENT,
       TEXT_MALFORMED, TEXT_TEMPFAIL, TEXT_COUNT };
extern struct statustext bodycheck_texts[TEXT_COUNT];
#define BODYCHECK_TEXT_ROOM 394         /* 400 less "5.7.1 " */

/* A new message of size octets (from the eom event). */
void check_start(struct check *c, struct config *cfg, unsigned long long size);
void check_feed(struct check *c, const char *buf, size_t n);
void check_end(struct check *c);
/* The scan has stopped: a reject is certain, read no more. */
int check_stopped(const struct check *c);
/* "reject 550 5.7.1 text" or "tempfail ...", for a refusal only. */
void check_verdict_line(const struct check *c, char *out, size_t size);
/* The added header's value: the findings, folded; "none" without any. */
size_t check_tag_value(const struct check *c, char *out, size_t size);
/* One finding as "kind=value[@part]" ("extension=exe@2.1"), octets
 * outside 33..126 as "?". */
size_t check_finding_token(const struct finding *f, char *out, size_t size);

/* ---- filter.c --------------------------------------------------------- */

/* Serve smtp-filter(7) on fds 0 and 1, the message on fd 3, until EOF;
 * returns the exit code. */
int bodycheck_serve(struct config *cfg);

#endif
