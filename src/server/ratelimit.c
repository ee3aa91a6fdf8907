#include "server/ratelimit.h"
