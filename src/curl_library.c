/* SPDX-License-Identifier: BSD-2-Clause */
/* Opening libcurl with dlopen and finding its functions: see curl_library.h for why. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "curl_library.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "log.h"

/* The SONAME libcurl has had since 7.16; the unversioned name needs the -dev package. */
#define CURL_LIBRARY_NAME "libcurl.so.4"

struct symbol {
    const char *name;
    size_t offset; /* of the function pointer in struct curl_library */
};

#define SYMBOL(member) {"curl_" #member, offsetof(struct curl_library, member)}
static const struct symbol symbols[] = {
    SYMBOL(global_init),  SYMBOL(url),           SYMBOL(url_set),
    SYMBOL(url_get),      SYMBOL(url_cleanup),   SYMBOL(free),
    SYMBOL(slist_append), SYMBOL(slist_free_all), SYMBOL(easy_init),
    SYMBOL(easy_setopt),  SYMBOL(easy_perform),  SYMBOL(easy_getinfo),
    SYMBOL(easy_strerror), SYMBOL(easy_cleanup),
};

static struct curl_library library;
static bool loaded;

/* dlsym answers a data pointer; POSIX guarantees it converts to the function's type. */
static int find_symbols(void *handle)
{
    for (size_t index = 0; index < sizeof symbols / sizeof symbols[0]; index++) {
        void *address = dlsym(handle, symbols[index].name);
        if (address == NULL) {
            log_error("notifications: %s has no %s: %s", CURL_LIBRARY_NAME,
                      symbols[index].name, dlerror());
            return -1;
        }
        memcpy((char *)&library + symbols[index].offset, &address, sizeof address);
    }
    return 0;
}

const struct curl_library *curl_library_load(void)
{
    if (loaded)
        return &library;
    void *handle = dlopen(CURL_LIBRARY_NAME, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        log_error("notifications: cannot load %s (install libcurl): %s", CURL_LIBRARY_NAME,
                  dlerror());
        return NULL;
    }
    /* A failed load keeps the library mapped: dlclose of libcurl's TLS stack at run
     * time is known to be fragile, and the process has found a configuration error. */
    if (find_symbols(handle) != 0)
        return NULL;
    if (library.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("notifications: curl_global_init failed");
        return NULL;
    }
    loaded = true;
    return &library;
}
