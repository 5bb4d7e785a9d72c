#include "checkmode.h"
#include "checkstore.h"

void checkstore_probe(struct store *s, const char *spec, int64_t deadline)
{
    static const char *const parts[1] = { "noqueue-check" };
    struct store_key k;
    struct store_value v;
    store_key(&k, 1, parts);
    if (store_get(s, &k, store_now(), &v, deadline) < 0)
        checkmode_fatal(s->kind == STORE_REDIS ? 111 : 100, "store %s: %s", spec, s->why);
    store_close(s);
}
