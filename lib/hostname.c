#include <string.h>
#include <unistd.h>

#include "hostname.h"

const char *hostname_default(void)
{
    static char host[256];
    if (!host[0] && (gethostname(host, sizeof host - 1) < 0 || !host[0])) strcpy(host, "localhost");
    return host;
}
