/* SKELETON */
#include "report/report.h"
