/* Every harness runs each input on a thread whose stack is the server's handler stack
 * (HTTP_THREAD_STACK_BYTES), not on libFuzzer's main thread with its 8 MB: a parser that
 * recurses per level of its input overflows here as it would in the server (a crash ASan names
 * "stack-overflow"), where on the main thread it would pass. Header-only, for the harnesses. */
#pragma once

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "server/limits.h"

/* One input for fuzz_on_server_stack(): the harness's own check and its bytes. */
struct fuzz_input {
    int (*fn)(const uint8_t *data, size_t size); /* the harness's check of one input */
    const uint8_t *data;                         /* the input, owned by libFuzzer */
    size_t size;                                 /* its length */
};

static void *fuzz__thread(void *arg)
{
    struct fuzz_input *in = arg;

    (void)in->fn(in->data, in->size);
    return NULL;
}

/* Run @fn(@data, @size) on a new thread of HTTP_THREAD_STACK_BYTES and wait for it. Returns 0,
 * as LLVMFuzzerTestOneInput must; aborts when the thread cannot be made. */
static inline int fuzz_on_server_stack(int (*fn)(const uint8_t *, size_t), const uint8_t *data,
                                       size_t size)
{
    struct fuzz_input in = {fn, data, size};
    pthread_attr_t attr;
    pthread_t t;

    if (pthread_attr_init(&attr) != 0 ||
        pthread_attr_setstacksize(&attr, HTTP_THREAD_STACK_BYTES) != 0 ||
        pthread_create(&t, &attr, fuzz__thread, &in) != 0 || pthread_join(t, NULL) != 0)
        abort();
    (void)pthread_attr_destroy(&attr);
    return 0;
}
