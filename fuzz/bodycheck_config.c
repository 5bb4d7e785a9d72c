/* smtp-bodycheck's configuration file (config_file: the grammar of
 * smtp-bodycheck(8), every line through config_line), from a file that
 * holds the input; then a small message checked with what it gave.  No
 * leak whatever line fails (config_free frees it all), a reason always
 * said, and a verdict line the proxy takes.
 * Input: the file. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "bodycheck.h"
#include "filterproto.h"
#include "fuzz.h"

static const char *path;
static struct check chk;

static const char message[] =
    "From: a@example.org\r\nDate: now\r\nSubject: =?utf-8?q?hello_world?=\r\n"
    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
    "--b\r\nContent-Type: application/x-msdownload; name=\"a.exe\"\r\n\r\nMZ\r\n"
    "--b\r\nContent-Disposition: attachment; filename*=utf-8''b%2Ezip\r\n\r\nPK\r\n--b--\r\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    path = fuzz_scratch_file("conf");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config c;
    char why[BODYCHECK_CONFIG_LINE + 300];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), r;
    if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) < 0) abort();
    config_init(&c);
    why[0] = 0;
    r = config_file(&c, path, why, sizeof why);
    FUZZ_ASSERT(r == 0 || r == -1);
    if (r < 0) {
        FUZZ_ASSERT(why[0] && memchr(why, 0, sizeof why));
    } else {
        char line[FILTERPROTO_LINE_MAX], said[FILTERPROTO_LINE_MAX + 16];
        struct filter_line fl;
        check_start(&chk, &c, sizeof message - 1);
        check_feed(&chk, message, sizeof message - 1);
        check_end(&chk);
        if (chk.verdict != VERDICT_CONTINUE) {
            size_t w;
            int k;
            check_verdict_line(&chk, line, sizeof line);
            w = strcspn(line, " ");
            k = snprintf(said, sizeof said, "%.*s 1%s", (int)w, line, line + w);
            FUZZ_ASSERT(k > 0 && (size_t)k < FILTERPROTO_LINE_MAX);
            FUZZ_ASSERT(filterproto_parse_line(said, (size_t)k, &fl) == 0);
        }
        check_tag_value(&chk, line, sizeof line);
    }
    config_free(&c);
    return 0;
}
