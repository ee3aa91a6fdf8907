#include "server/server-int.h"
