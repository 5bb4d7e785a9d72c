/* smtp-bodycheck's scan of a message (cmd/smtp-bodycheck: the MIME
 * scanner, the header decoders, the rule engine), fed from memory as
 * filter.c feeds it from fd 3: check_start with the message's size,
 * check_feed in pieces until the scan stops, check_end.  Each message is
 * checked twice, in one piece and in pieces of sizes the input chooses:
 * the scanner streams, so the verdict, the findings, the reply line and
 * the added header must not depend on where the pieces break.  And the
 * added header must be a valid field value, the reply line a valid
 * filter verdict.
 * Input: a byte for the configuration and the seed, then the message. */
#include <string.h>

#include "bodycheck.h"
#include "filterproto.h"
#include "fuzz.h"
#include "header.h"

static struct config cfg[2];
static struct check whole, pieces;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const path[2] = { "examples/bodycheck.conf", "fuzz/bodycheck-tag.conf" };
    char why[BODYCHECK_CONFIG_LINE + 300];
    int i;
    for (i = 0; i < 2; i++) {
        config_init(&cfg[i]);
        if (config_file(&cfg[i], path[i], why, sizeof why) < 0) {
            fprintf(stderr, "fuzz/bodycheck: %s (run from the top directory)\n", why);
            exit(1);
        }
    }
    return 0;
}

static void run(struct check *c, struct config *cf, const uint8_t *p, size_t n, uint32_t *seed)
{
    size_t i = 0;
    check_start(c, cf, n);
    while (i < n && !check_stopped(c)) {
        size_t k = seed ? fuzz_chunk(seed, n - i) : n;
        char *piece = fuzz_dup(p + i, k);   /* exactly k bytes: ASan sees beyond */
        check_feed(c, piece, k);
        free(piece);
        i += k;
    }
    check_end(c);
}

static void outputs(const struct check *c, char *verdict, size_t vsize, char *tag, size_t tsize,
                    size_t *taglen)
{
    verdict[0] = 0;
    if (c->verdict != VERDICT_CONTINUE) check_verdict_line(c, verdict, vsize);
    *taglen = check_tag_value(c, tag, tsize);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    unsigned mode = fuzz_byte(&in), i;
    uint32_t seed = mode * 0x9e3779b9u + (uint32_t)size;
    struct config *cf = &cfg[mode & 1];
    char v1[FILTERPROTO_LINE_MAX], v2[FILTERPROTO_LINE_MAX];
    char t1[FILTERPROTO_LINE_MAX], t2[FILTERPROTO_LINE_MAX];
    size_t l1, l2;
    struct filter_line fl;

    run(&whole, cf, in.p, in.n, 0);
    run(&pieces, cf, in.p, in.n, &seed);

    FUZZ_ASSERT(whole.verdict == pieces.verdict);
    FUZZ_ASSERT(whole.score == pieces.score);
    FUZZ_ASSERT(whole.nfound == pieces.nfound && whole.more == pieces.more);
    FUZZ_ASSERT(whole.decisive == pieces.decisive);
    FUZZ_ASSERT(whole.nfound <= BODYCHECK_FINDINGS_MAX);
    for (i = 0; i < whole.nfound; i++) {
        const struct finding *a = &whole.found[i], *b = &pieces.found[i];
        FUZZ_ASSERT(a->rule == b->rule);
        FUZZ_ASSERT(!strcmp(a->value, b->value) && !strcmp(a->part, b->part));
        FUZZ_ASSERT(a->namelen == b->namelen && !memcmp(a->name, b->name, a->namelen));
        FUZZ_ASSERT(a->namelen <= sizeof a->name);
    }
    outputs(&whole, v1, sizeof v1, t1, sizeof t1, &l1);
    outputs(&pieces, v2, sizeof v2, t2, sizeof t2, &l2);
    FUZZ_ASSERT(!strcmp(v1, v2) && l1 == l2 && !memcmp(t1, t2, l1));

    /* What the filter says must be what the proxy takes. */
    if (v1[0]) {
        /* With the token filterside_say puts after the first word. */
        char said[FILTERPROTO_LINE_MAX + 16];
        size_t w = strcspn(v1, " ");
        int k = snprintf(said, sizeof said, "%.*s 1%s", (int)w, v1, v1 + w);
        FUZZ_ASSERT(k > 0 && (size_t)k < FILTERPROTO_LINE_MAX);
        FUZZ_ASSERT(filterproto_parse_line(said, (size_t)k, &fl) == 0);
        FUZZ_ASSERT(fl.kind == (whole.verdict == VERDICT_REJECT ? FILTER_REJECT : FILTER_TEMPFAIL));
    }
    FUZZ_ASSERT(l1 <= BODYCHECK_TAG_MAX && t1[l1] == 0 && strlen(t1) == l1);
    FUZZ_ASSERT(header_value_valid(t1, l1));
    if (cf->add_header[0]) {
        char field[HEADER_NAME_MAX + 2 + BODYCHECK_TAG_MAX + 1];
        int k = snprintf(field, sizeof field, "%s: %s", cf->add_header, t1);
        FUZZ_ASSERT(k > 0 && (size_t)k < sizeof field && header_field_valid(field, (size_t)k));
    }
    for (i = 0; i < whole.nfound; i++) {
        char t[sizeof whole.found[i].value + BODYCHECK_PART_MAX + 16];
        size_t k = check_finding_token(&whole.found[i], t, sizeof t), j;
        FUZZ_ASSERT(k < sizeof t && t[k] == 0);
        for (j = 0; j < k; j++) FUZZ_ASSERT(t[j] >= 33 && t[j] <= 126);
    }
    return 0;
}
