/* smtp-milter: the MTA side of the Sendmail milter protocol, version 6,
 * as a filter of smtp-filter(7) version 2.  See smtp-milter(8).
 *
 * proto.c is the codec (no I/O: unit tests and the fuzz harness call it),
 * conn.c the milter socket, run.c the events, main.c the options. */
#ifndef NOQUEUE_MILTER_H
#define NOQUEUE_MILTER_H

#include <stddef.h>
#include <stdint.h>

#include "filterproto.h"
#include "header.h"
#include "io.h"
#include "smtp_command.h"

#define MILTER_VERSION     6
#define MILTER_CHUNK       65535        /* libmilter's largest payload */
#define MILTER_REPLY_MAX   (65535 + 64) /* largest reply other than a body part */

/* Actions (SMFIF_*) */
#define SMFIF_ADDHDRS     0x001
#define SMFIF_CHGBODY     0x002
#define SMFIF_ADDRCPT     0x004
#define SMFIF_DELRCPT     0x008
#define SMFIF_CHGHDRS     0x010
#define SMFIF_QUARANTINE  0x020
#define SMFIF_CHGFROM     0x040
#define SMFIF_ADDRCPT_PAR 0x080
#define SMFIF_SETSYMLIST  0x100
#define SMFIF_ALL         0x1FF

/* Protocol steps (SMFIP_*) */
#define SMFIP_NOCONNECT   0x1
#define SMFIP_NOHELO      0x2
#define SMFIP_NOMAIL      0x4
#define SMFIP_NORCPT      0x8
#define SMFIP_NOBODY      0x10
#define SMFIP_NOHDRS      0x20
#define SMFIP_NOEOH       0x40
#define SMFIP_NR_HDR      0x80
#define SMFIP_NOUNKNOWN   0x100
#define SMFIP_NODATA      0x200
#define SMFIP_SKIP        0x400
#define SMFIP_RCPT_REJ    0x800
#define SMFIP_NR_CONN     0x1000
#define SMFIP_NR_HELO     0x2000
#define SMFIP_NR_MAIL     0x4000
#define SMFIP_NR_RCPT     0x8000
#define SMFIP_NR_DATA     0x10000
#define SMFIP_NR_UNKN     0x20000
#define SMFIP_NR_EOH      0x40000
#define SMFIP_NR_BODY     0x80000
#define SMFIP_HDR_LEADSPC 0x100000
#define SMFIP_ALL         0x1FFFFF

/* Macro stages, numbered as in the negotiation (SMFIM_*). */
enum milter_stage {
    STAGE_CONNECT, STAGE_HELO, STAGE_MAIL, STAGE_RCPT, STAGE_DATA, STAGE_EOM, STAGE_EOH,
    STAGE_COUNT
};

#define MACRO_LIST_MAX 512      /* one stage's names, space separated */
#define MACRO_EXTRA_MAX 32

struct milter_negotiation {
    unsigned long version, actions, protocol;
    int has_list[STAGE_COUNT];
    char list[STAGE_COUNT][MACRO_LIST_MAX];  /* SETSYMLIST, when given */
};

/* A final reply to an event. */
enum milter_reply {
    REPLY_CONTINUE, REPLY_ACCEPT, REPLY_REJECT, REPLY_TEMPFAIL, REPLY_DISCARD, REPLY_SKIP,
    REPLY_SHUTDOWN
};

struct milter_verdict {
    enum milter_reply kind;
    int code;                                  /* reject, tempfail */
    char text[FILTERPROTO_TEXT_MAX + 1];       /* "5.7.1 text" */
};

/* One end-of-message change, already in smtp-filter(7)'s terms. */
struct milter_edit {
    char kind;                                 /* the milter's reply byte */
    unsigned long index;
    char name[HEADER_NAME_MAX + 1];
    char value[FILTERPROTO_HEADER_VALUE_MAX + 1];   /* as it goes to the proxy */
    size_t valuelen;
    int delete_field;                          /* CHGHEADER with an empty value */
    char addr[SMTP_ADDRESS_MAX + 1];
    char params[FILTERPROTO_PARAMS_MAX + 1];
};

/* --- proto.c: the codec ---------------------------------------------- */

/* Postfix's forms are lib/endpoint's (inet:HOST:PORT, unix:PATH); also
 * libmilter's inet:PORT@HOST and local:PATH, rewritten into those.
 * 0, or -1 when it does not fit. */
int milter_address_normalise(const char *spec, char *out, size_t size);

/* The milter's answer to OPTNEG (payload after the command byte):
 * 0, or -1 with a reason. */
int milter_negotiation_parse(const unsigned char *p, size_t n, struct milter_negotiation *neg,
                             char *why, size_t size);

/* A final reply packet (command byte c, payload p[0..n-1]) to an event:
 * 1 a verdict in *v, 0 progress (keep reading), -1 not a final reply
 * (why says what; the caller decides whether it is an edit). */
int milter_reply_parse(int c, const unsigned char *p, size_t n, struct milter_verdict *v,
                       char *why, size_t size);
/* REPLYCODE text: every line "ddd x.y.z text" or "ddd-x.y.z text", the
 * same code, class 4 or 5, printable, %% taken for %.  0, or -1. */
int milter_replycode_parse(const char *p, size_t n, struct milter_verdict *v, char *why,
                           size_t size);
/* One change reply (h i m + 2 - e q): 1 valid, 0 valid but not
 * relayable (a header the proxy would refuse: dropped with a warning),
 * -1 a protocol error.  leadspc: the milter negotiated HDR_LEADSPC. */
int milter_edit_parse(int c, const unsigned char *p, size_t n, int leadspc,
                      struct milter_edit *e, char *why, size_t size);
/* A header value from a milter: LF folding to CRLF, a space first unless
 * leadspc; into out[size], 0 or -1 when it does not fit or is not a
 * valid field value. */
int milter_header_value(const char *v, size_t n, int leadspc, char *out, size_t size,
                        size_t *outlen);

/* Packets: the 4-octet length, the command, the payload. */
size_t milter_packet_start(unsigned char *buf, int cmd, size_t payload);

/* One header field of a message, as it goes to the milter: the name
 * (whitespace before the colon dropped), the value with CRLF folding
 * turned into LF, one space after the colon dropped unless leadspc.
 * field[0..n-1] is the field without its final CRLF.  Builds the HEADER
 * payload "name\0value\0" in out[size]: its length, or 0 when not a
 * field or too big. */
size_t milter_header_payload(const char *field, size_t n, int leadspc, char *out, size_t size);

/* The end of the header: the offset of the first body octet in
 * msg[0..n-1] and the offset where the fields end (before the empty line
 * or the first line that is not part of a field), *complete = 0 if the
 * header may go on past n. */
size_t milter_header_end(const char *msg, size_t n, size_t *fields_end, int *complete);

/* Body replacement: CRLF line ends from LF ones; *cr carries a CR that
 * ended the previous piece.  out must hold 2n + 1 octets. */
size_t milter_body_crlf(const char *in, size_t n, int *cr, char *out);

/* --- run.c: one client connection -------------------------------------- */

struct milter_macro {
    enum milter_stage stage;
    const char *name;                   /* as sent: "x" or "{x}" */
    const char *value;                  /* NULL: one of ours, by name */
};

struct milter_config {
    const char *address;                /* as given, for the log */
    const void *endpoint;               /* lib/endpoint's, parsed */
    const char *hostname;               /* j */
    const char *daemon_name;            /* {daemon_name} */
    unsigned connect_timeout, command_timeout, content_timeout;
    unsigned nmacros;
    struct milter_macro macros[MACRO_EXTRA_MAX];
};

/* 0 at the end of the connection; on any failure of the milter or the
 * proxy, one line and exit 111. */
int milter_run(const struct milter_config *cfg);
/* Check mode, when the options had problems too: the option negotiation
 * alone, on a connection of its own.  0, or -1 with a reason. */
int milter_check(const struct milter_config *cfg, char *reason, size_t size);
/* "connect", "helo", ... "eom", "eoh": the stage, or -1. */
int milter_stage_parse(const char *s, size_t n);

#endif
