/* What every harness shares: the libFuzzer entry points, a reader that
 * takes the input apart, and a descriptor whose read(2) hands out a
 * buffer in pieces of sizes the input chooses (memread.c).
 *
 * Harnesses check invariants with FUZZ_ASSERT, which aborts: libFuzzer
 * then keeps the input as a crash, like any sanitizer report. */
#ifndef NOQUEUE_FUZZ_H
#define NOQUEUE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
    abort(); } } while (0)

/* The input as a source of choices, then of bytes. */
struct fuzz_input {
    const uint8_t *p;
    size_t n;
};

static inline unsigned fuzz_byte(struct fuzz_input *in)
{
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

/* A small PRNG (xorshift32) for choices that must not eat the input. */
static inline uint32_t fuzz_rand(uint32_t *state)
{
    uint32_t x = *state ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* A chunk size: mostly small (1..16, where boundaries hide), sometimes
 * large, never 0. */
static inline size_t fuzz_chunk(uint32_t *state, size_t left)
{
    uint32_t r = fuzz_rand(state);
    size_t k = (r & 3) ? 1 + (r >> 8) % 16 : 1 + (r >> 8) % 4096;
    return k < left ? k : left;
}

/* A heap copy of exactly n bytes (no terminator: ASan sees any read past
 * the end); free() it. */
void *fuzz_dup(const void *p, size_t n);
/* A heap copy with a NUL after the n bytes. */
char *fuzz_strdup(const void *p, size_t n);

/* memread.c: fuzz_fd() is a descriptor (/dev/null) whose read(2), through
 * the linker's --wrap=read, hands out fuzz_fd_set()'s bytes in pieces of
 * fuzz_chunk() sizes, sometimes failing with EINTR or EAGAIN first (the
 * caller then polls /dev/null, which is at once readable), then 0 (EOF).
 * Every other descriptor reads as usual. */
int fuzz_fd(void);
void fuzz_fd_set(const void *p, size_t n, uint32_t seed);
/* Bytes not read yet. */
size_t fuzz_fd_left(void);

/* memread.c too: the path of a file NAME in a directory of its own under
 * $TMPDIR (or /tmp), both removed at exit (libFuzzer exits when its time
 * is up; only a crash leaves them, with its input).  Once per process. */
const char *fuzz_scratch_file(const char *name);

#endif
