/* golden_coverage.h — coverage counters of a golden dump (golden_coverage.c). */
#ifndef T2C_GOLDEN_COVERAGE_H
#define T2C_GOLDEN_COVERAGE_H

#include <json-c/json.h>

#include "t2c.h"

typedef struct t2c_golden_cov t2c_golden_cov;

t2c_golden_cov *t2c_golden_cov_create(int n_ops); /* NULL: out of memory */
/* Count what op (AFTER hook: inputs and outputs valid) exercised. 0, or -1 out of memory. */
int t2c_golden_cov_op(t2c_golden_cov *c, const t2c_op_view *op);
/* The manifest's "coverage" block of an op (a new object). */
json_object *t2c_golden_cov_json(const t2c_golden_cov *c, int op_index);
void t2c_golden_cov_free(t2c_golden_cov *c);

#endif
