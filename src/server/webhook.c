#include "server/webhook.h"
