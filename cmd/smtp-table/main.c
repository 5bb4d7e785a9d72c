/* smtp-table: compile a table of noqueue-tables(5) into a cdb; see
 * smtp-table(8). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "log.h"

#define USAGE "usage: smtp-table clients|senders|recipients source [target]"

int main(int argc, char **argv)
{
    enum table_kind kind;
    char target[4096], why[4096 + 300];
    int r;
    log_program = "smtp-table";
    if (fcntl(2, F_GETFD) < 0) open("/dev/null", O_WRONLY);
    opterr = 0;                 /* one line, ours */
    if (getopt(argc, argv, "") != -1) log_fatal(100, USAGE);
    argc -= optind;
    argv += optind;
    if (argc < 2 || argc > 3) log_fatal(100, USAGE);
    kind = table_kind(argv[0]);
    if (kind == KIND_NONE) log_fatal(100, "unknown kind of table: %s (clients, senders or recipients)", argv[0]);
    if ((size_t)snprintf(target, sizeof target, "%s%s", argc == 3 ? argv[2] : argv[1],
                         argc == 3 ? "" : ".cdb") >= sizeof target)
        log_fatal(100, "file name too long: %s", argv[1]);
    r = table_compile(kind, argv[1], target, why, sizeof why);
    if (r) log_fatal(r, "%s", why);
    return 0;
}
