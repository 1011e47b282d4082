/* info_ranges.h — `t2c-info --ranges DATASET` (info_ranges.c). */
#ifndef T2C_INFO_RANGES_H
#define T2C_INFO_RANGES_H

#include "t2c.h"

/* Run the model over DATASET (a directory of .npy files/images, or one file) and print per
 * accumulator op the max |accumulator| seen, the signed bits it needs and the worst case from
 * dtype ranges and K. Returns the exit status: 0, or 2 (message printed). */
int t2c_info_ranges(const t2c_model *model, const char *dataset);

#endif
