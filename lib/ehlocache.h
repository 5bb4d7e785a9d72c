/* What the smarthost offers in its EHLO reply, kept in a small file for
 * smtp-proxyd: smtp-forward writes it (only when it changed) after each
 * connection it makes to the smarthost, smtp-proxyd reads it at the first
 * EHLO of a connection, so
 * that a client is offered only what the smarthost can honour, without a
 * smarthost connection per client connection.  See smtp-proxyd(8). */
#ifndef NOQUEUE_EHLOCACHE_H
#define NOQUEUE_EHLOCACHE_H

#include <stddef.h>

#define EHLO_PIPELINING  1u
#define EHLO_SIZE        2u
#define EHLO_8BITMIME    4u
#define EHLO_SMTPUTF8    8u
#define EHLO_DSN        16u
#define EHLO_CHUNKING   32u
#define EHLO_BINARYMIME 64u

struct ehlo_caps {
    unsigned flags;
    unsigned long long size;    /* SIZE's limit; 0 when it gave none */
};

/* Before any smarthost was met: what every SMTP server takes, with
 * 8BITMIME as noqueue always offered it (an 8-bit message goes as it is,
 * smtp-forward(8)). */
#define EHLO_CAPS_DEFAULT ((struct ehlo_caps){ EHLO_PIPELINING | EHLO_8BITMIME, 0 })

/* The keywords of an EHLO reply as smtp_reply_read gives it (lines
 * "250-KEYWORD params" ending in LF; the first line, the server's name,
 * is skipped). */
void ehlo_caps_parse(struct ehlo_caps *c, const char *text, size_t n);

/* The file's text: "smarthost PEER", then one keyword a line ("SIZE n").
 * Its length (less than size, NUL-terminated); size >= 256. */
#define EHLO_CACHE_MAX 256
size_t ehlo_cache_format(const struct ehlo_caps *c, const char *peer, char *buf, size_t size);

/* Read the file: 1 with *c set from it; 0 when there is none yet, or it
 * cannot be read or makes no sense (then *c is EHLO_CAPS_DEFAULT). */
int ehlo_cache_read(const char *path, struct ehlo_caps *c);

/* Write text to the file when its content differs, as a new file renamed
 * over the old (a reader sees the old or the new, never half): 0 when it
 * was the same, 1 written, -1 with errno. */
int ehlo_cache_write(const char *path, const char *text, size_t n);

#endif
