/* The filter's replies, as smtp-proxyd reads them: the greeting
 * ("filter 1 EVENT..."), then verdict and modifier lines, each got with
 * io_getline from a descriptor that gives the bytes in pieces, as in
 * cmd/smtp-proxyd/filters.c.  What is taken must be what the protocol
 * allows (smtp-filter(7)), exactly: a line with a byte it does not allow
 * is refused, never taken for a shorter one.
 * Input: a seed byte, then the filter's output. */
#include <string.h>

#include "deadline.h"
#include "filterproto.h"
#include "fuzz.h"
#include "header.h"
#include "io.h"

static int printable(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126) return 0;
    return 1;
}

static void check_line(const char *line, size_t n)
{
    struct filter_line fl;
    size_t i;
    if (filterproto_parse_line(line, n, &fl) < 0) return;
    /* Whatever the kind, the line had only words of printable ASCII. */
    FUZZ_ASSERT(printable(line, n));
    switch (fl.kind) {
    case FILTER_REJECT:
    case FILTER_TEMPFAIL:
        FUZZ_ASSERT(fl.code >= (fl.kind == FILTER_REJECT ? 500 : 400));
        FUZZ_ASSERT(fl.code <= (fl.kind == FILTER_REJECT ? 599 : 499));
        FUZZ_ASSERT(fl.text >= line && fl.text + fl.textlen == line + n);
        FUZZ_ASSERT(fl.textlen <= 400 && printable(fl.text, fl.textlen));
        /* fall through */
    case FILTER_CONTINUE:
    case FILTER_ACCEPT:
    case FILTER_DISCARD:
        FUZZ_ASSERT(filterproto_is_verdict(fl.kind));
        FUZZ_ASSERT(fl.token <= FILTERPROTO_TOKEN_MAX);
        break;
    case FILTER_SCORE:
        FUZZ_ASSERT(fl.score >= -FILTERPROTO_SCORE_MAX && fl.score <= FILTERPROTO_SCORE_MAX);
        break;
    case FILTER_CLASS:
        FUZZ_ASSERT(fl.name[0] && strlen(fl.name) <= FILTERPROTO_CLASS_MAX);
        for (i = 0; fl.name[i]; i++)
            FUZZ_ASSERT(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", fl.name[i]));
        /* The whole word is the name: "class " NAME, nothing cut. */
        FUZZ_ASSERT(n == 6 + strlen(fl.name));
        break;
    case FILTER_HEADER:
        FUZZ_ASSERT(header_name_valid(fl.name, strlen(fl.name)));
        FUZZ_ASSERT(fl.valuelen <= FILTERPROTO_HEADER_VALUE_MAX && fl.value[fl.valuelen] == 0);
        FUZZ_ASSERT(header_value_valid(fl.value, fl.valuelen));
        FUZZ_ASSERT(!memchr(fl.value, 0, fl.valuelen));
        break;
    case FILTER_FACT:
        FUZZ_ASSERT(filterproto_fact_name_valid(fl.name, strlen(fl.name)));
        FUZZ_ASSERT(fl.valuelen && fl.valuelen <= FILTERPROTO_FACT_VALUE_MAX && printable(fl.value, fl.valuelen));
        break;
    case FILTER_INSERT_HEADER:
    case FILTER_CHANGE_HEADER:
        FUZZ_ASSERT(header_name_valid(fl.name, strlen(fl.name)));
        FUZZ_ASSERT(fl.kind == FILTER_INSERT_HEADER ? !fl.value_absent : fl.index >= 1);
        FUZZ_ASSERT(fl.value_absent ? !fl.valuelen : !memchr(fl.value, 0, fl.valuelen));
        break;
    case FILTER_ADD_RECIPIENT:
    case FILTER_DELETE_RECIPIENT:
    case FILTER_CHANGE_SENDER:
        /* An address as a client's would be: no bracket, space or control. */
        FUZZ_ASSERT(fl.kind == FILTER_CHANGE_SENDER || fl.name[0]);
        FUZZ_ASSERT(printable(fl.name, strlen(fl.name)) && !strpbrk(fl.name, "<> "));
        FUZZ_ASSERT(fl.value_absent || printable(fl.value, fl.valuelen));
        break;
    case FILTER_QUARANTINE:
        FUZZ_ASSERT(fl.valuelen && fl.valuelen <= FILTERPROTO_TEXT_MAX && printable(fl.value, fl.valuelen));
        break;
    case FILTER_REPLACE_MESSAGE:
        FUZZ_ASSERT(n == 15);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    unsigned seed = fuzz_byte(&in);
    char *buf = malloc(FILTERPROTO_LINE_MAX), *line = malloc(FILTERPROTO_LINE_MAX + 1);
    struct io_in io;
    unsigned events;
    int version;
    ssize_t n;
    int first = 1;
    if (!buf || !line) abort();
    fuzz_fd_set(in.p, in.n, seed * 0x9e3779b9u + (uint32_t)size);
    io_in_init(&io, fuzz_fd(), buf, FILTERPROTO_LINE_MAX);
    while ((n = io_getline(&io, line, FILTERPROTO_LINE_MAX + 1, DEADLINE_NONE)) != IO_EOF) {
        FUZZ_ASSERT(n == IO_TOOLONG || n == IO_ERROR || (n >= 1 && n <= FILTERPROTO_LINE_MAX));
        if (n == IO_ERROR) break;
        if (n == IO_TOOLONG) {
            if (io_skipline(&io, DEADLINE_NONE) <= 0) break;
            continue;
        }
        FUZZ_ASSERT(line[n - 1] == '\n' && line[n] == 0);
        if (first) {
            if (filterproto_parse_hello(line, (size_t)n - 1, &events, &version) == 0) {
                FUZZ_ASSERT(version == 1 || version == 2);
                FUZZ_ASSERT(events < 1u << FILTER_EVENTS);
                FUZZ_ASSERT(printable(line, (size_t)n - 1));
            }
            first = 0;
        }
        {
            /* Exactly the line's bytes, so that ASan sees a read past them. */
            char *exact = fuzz_dup(line, (size_t)n - 1);
            check_line(exact, (size_t)n - 1);
            free(exact);
        }
    }
    free(buf);
    free(line);
    return 0;
}
