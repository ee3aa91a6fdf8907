/* SKELETON: test and cases modes */
#include "job/job.h"
