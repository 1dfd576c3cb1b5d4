/*
 * One zstd decompression context per thread for libsystemd (issue 22).
 *
 * libsystemd 252 (Debian 12's) decompresses every compressed journal field with a
 * context of its own: ZSTD_createDCtx, one
 * ZSTD_decompressStream, ZSTD_freeDCtx. Creating a context runs `cpuid` twice (zstd
 * asks for BMI2), and on a virtual machine `cpuid` traps to the hypervisor: over the
 * bench journal that was a third of all of sigil-top's CPU (docs/bench-results.md,
 * "Issue 22"). journalctl pays it too; this file makes sigil-top not pay it.
 *
 * The binary defines ZSTD_createDCtx and ZSTD_freeDCtx and exports them (build.rs links
 * this object into the binary with a --dynamic-list), so the dynamic linker binds
 * libsystemd's calls to them, ahead of libzstd's. They keep one spare context per thread:
 * ZSTD_freeDCtx resets a context (ZSTD_DCtx_reset with session and parameters, which zstd
 * documents as returning it to the state ZSTD_createDCtx gives) and keeps it instead of
 * freeing it, and the thread's next ZSTD_createDCtx takes it back. Everything else goes
 * to libzstd's own functions (dlsym RTLD_NEXT). libsystemd creates and frees a context
 * within one call on one thread, so a thread never needs more than one. libzstd's own
 * calls to ZSTD_freeDCtx (ZSTD_freeDStream, ZSTD_decompress: through its PLT) come here
 * too; a ZSTD_DStream is a ZSTD_DCtx, so keeping one as the spare is as valid.
 *
 * Bounds: one spare per thread, freed when the thread exits (a pthread key's
 * destructor); a context that grew past SPARE_MAX (zstd's streaming buffers for a frame
 * that did not fit the output) is freed, not kept. If any libzstd function is missing
 * (a libzstd without ZSTD_DCtx_reset, before 1.4.0) or SIGIL_TOP_ZSTD_REUSE=0 is set,
 * both functions only pass through. A libsystemd that finds libzstd's functions with dlsym
 * on a dlopen handle of its own never calls these: nothing changes there.
 *
 * SIGIL_TOP_ZSTD_STATS=1 prints, at exit, how many contexts were created and reused
 * (tests/integration/parallel.rs checks the reuse happens and changes no report).
 *
 * This is the crate's only C besides its dependencies' (the crate forbids `unsafe` Rust;
 * a symbol libsystemd binds to can only be written as an exported C function).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ZSTD_DCtx_s ZSTD_DCtx;

/* ZSTD_ResetDirective's ZSTD_reset_session_and_parameters (zstd.h, stable API). */
#define RESET_SESSION_AND_PARAMETERS 3
/* A context this big holds streaming buffers: free it rather than keep it. */
#define SPARE_MAX ((size_t)1 << 20)

static struct {
    ZSTD_DCtx *(*create)(void);
    size_t (*free)(ZSTD_DCtx *);
    size_t (*reset)(ZSTD_DCtx *, int);
    size_t (*size_of)(const ZSTD_DCtx *);
    unsigned (*is_error)(size_t);
    int reuse;
} zstd;

static pthread_once_t resolved = PTHREAD_ONCE_INIT;
static pthread_key_t spare_key;
static _Thread_local ZSTD_DCtx *spare;
static atomic_ulong created;
static atomic_ulong reused;

/* The key's destructor, at thread exit. The thread-local pointer is cleared first: a
 * later destructor on this thread that reads a journal must not take a freed context. */
static void free_spare(void *ctx) {
    if (spare == ctx)
        spare = NULL;
    if (ctx && zstd.free)
        zstd.free(ctx);
}

static void print_stats(void) {
    fprintf(stderr, "sigil-top: zstd contexts: %lu created, %lu reused\n",
            (unsigned long)atomic_load(&created), (unsigned long)atomic_load(&reused));
}

static void resolve(void) {
    zstd.create = (ZSTD_DCtx * (*)(void)) dlsym(RTLD_NEXT, "ZSTD_createDCtx");
    zstd.free = (size_t(*)(ZSTD_DCtx *))dlsym(RTLD_NEXT, "ZSTD_freeDCtx");
    zstd.reset = (size_t(*)(ZSTD_DCtx *, int))dlsym(RTLD_NEXT, "ZSTD_DCtx_reset");
    zstd.size_of = (size_t(*)(const ZSTD_DCtx *))dlsym(RTLD_NEXT, "ZSTD_sizeof_DCtx");
    zstd.is_error = (unsigned (*)(size_t))dlsym(RTLD_NEXT, "ZSTD_isError");
    const char *reuse = getenv("SIGIL_TOP_ZSTD_REUSE");
    zstd.reuse = zstd.create && zstd.free && zstd.reset && zstd.size_of && zstd.is_error &&
                 !(reuse && strcmp(reuse, "0") == 0) &&
                 pthread_key_create(&spare_key, free_spare) == 0;
    const char *stats = getenv("SIGIL_TOP_ZSTD_STATS");
    if (stats && strcmp(stats, "1") == 0)
        atexit(print_stats);
}

ZSTD_DCtx *ZSTD_createDCtx(void) {
    pthread_once(&resolved, resolve);
    if (zstd.reuse && spare) {
        ZSTD_DCtx *ctx = spare;
        spare = NULL;
        pthread_setspecific(spare_key, NULL);
        atomic_fetch_add_explicit(&reused, 1, memory_order_relaxed);
        return ctx;
    }
    if (!zstd.create)
        return NULL; /* libzstd not loaded: what an allocation failure returns */
    atomic_fetch_add_explicit(&created, 1, memory_order_relaxed);
    return zstd.create();
}

size_t ZSTD_freeDCtx(ZSTD_DCtx *ctx) {
    pthread_once(&resolved, resolve);
    if (!ctx)
        return 0;
    if (zstd.reuse && !spare && zstd.size_of(ctx) <= SPARE_MAX &&
        !zstd.is_error(zstd.reset(ctx, RESET_SESSION_AND_PARAMETERS)) &&
        pthread_setspecific(spare_key, ctx) == 0) {
        spare = ctx;
        return 0;
    }
    return zstd.free ? zstd.free(ctx) : 0;
}
