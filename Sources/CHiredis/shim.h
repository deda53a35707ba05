#ifndef ONLINECF_CHIREDIS_SHIM_H
#define ONLINECF_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
