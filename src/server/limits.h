/* Every bound on what a client can make the server hold, in one place. The configurable ones
 * are defaults of the config file (server/config.h). */
#pragma once

#define HTTP_MAX_HEADERS_BYTES (16 * 1024)
#define HTTP_MAX_BODY_DEFAULT  (8 * 1024 * 1024) /* total request size, configurable */
#define HTTP_MAX_SMALL_BODY    (64 * 1024)       /* login, users, keys */
#define REQ_MAX_CODE_DEFAULT   (50 * 1024)       /* the main file, configurable */
#define REQ_MAX_FILES          64
#define REQ_MAX_FILE_NAME      255
#define REQ_MAX_ARGS           256
#define REQ_MAX_ARG_LEN        4096
#define REQ_MAX_STDIN          (1024 * 1024)
#define HISTORY_MAX_LIMIT      500
#define SSE_MAX_BACKLOG        (4 * 1024 * 1024) /* events a run keeps for late subscribers */
#define WS_MAX_MESSAGE         (1024 * 1024)
/* The stack of each thread that handles a request or a WebSocket message. Nothing on the request
 * path recurses without a bound: JSON is refused past JSON_MAX_DEPTH (common/json.h) before
 * jansson's per-level recursion sees it, so a hostile body costs a bounded stack. The HTTP front
 * end creates its handler threads with this size, and the fuzzers (fuzz/stack.h) run every input
 * on a thread of exactly this size, so what they cover fits the stack the server really runs
 * with. */
#define HTTP_THREAD_STACK_BYTES (256 * 1024)
