#include "server/hooks.h"
