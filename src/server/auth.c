#include "server/auth.h"
