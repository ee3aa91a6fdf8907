/* The interactive WebSocket, /api/v1/code/interactive: a client sends a run, then stdin while
 * the program runs, and receives its output live and the result. One run per connection.
 *
 * Client → server (text frames, JSON): {"type": "run", ...the execute request...} first, then
 * {"type": "stdin", "data": "..."}, {"type": "eof"}, {"type": "cancel"}.
 * Server → client: {"type": "ready"}, then the run's events with their type ("state",
 * "stage", "stdout", "stderr", "result") and {"type": "error", "error", "field"} for a refused
 * message; after "result" the server closes the connection (1000).
 * Auth: the Authorization header, or ?access_token= (browsers cannot set headers here). */
#pragma once

#include "server/http.h"

extern const struct http_ws_endpoint ws_endpoint;
