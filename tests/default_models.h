/* default_models.h — the models of engine/default_model for tests that run whole models
 * (test_isa_cap.c, test_run_no_alloc.c): loading one, and one cmocka case per model. */
#ifndef T2C_DEFAULT_MODELS_H
#define T2C_DEFAULT_MODELS_H

#include <stdio.h>

#include "t2c.h"

/* engine/default_model/<file>, loaded (the test fails if it cannot be). */
static inline t2c_model *load_default_model(const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/engine/default_model/%s", T2C_SOURCE_ROOT, file);
    t2c_model *m = NULL;
    t2c_error err;
    assert_int_equal(t2c_model_load_file(path, NULL, &m, &err), T2C_OK);
    return m;
}

/* cmocka cases running fn(void **state) with *state = each default model's file name */
#define DEFAULT_MODEL_TESTS(fn)                                                                         \
    {"cnn_int8", fn, NULL, NULL, (void *)"fmnist_resnet_int8.t2c"},                                   \
        {"cnn_int4", fn, NULL, NULL, (void *)"fmnist_resnet_int4.t2c"},                               \
        {"vit_int8", fn, NULL, NULL, (void *)"fmnist_vit_int8.t2c"}

#endif /* T2C_DEFAULT_MODELS_H */
