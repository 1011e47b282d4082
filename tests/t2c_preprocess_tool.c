/* t2c_preprocess_tool.c — runs engine/preprocess.h steps on a file for
 * tests/python/test_py_preprocess.py, which compares the bytes with PIL/torchvision.
 *
 *   t2c_preprocess_tool decode IMG OUT            decoded pixels (HWC uint8)
 *   t2c_preprocess_tool resize IMG W H OUT        PIL BILINEAR resize of the decoded image
 *   t2c_preprocess_tool pipeline IMG PREFIX KEY=VALUE...
 *       keys: channels=1|3 resize=N mode=shorter|exact crop=H,W size=H,W mean=a[,b,c]
 *             std=a[,b,c]; writes PREFIX.u8 (pixels after crop, HWC) and PREFIX.f32
 *             (normalised float32, CHW, native endianness)
 * Each prints "W H C" of what it wrote. Exit 1 with the error message on failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preprocess.h"

static int write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) {
        fprintf(stderr, "cannot write %s\n", path);
        if (f)
            fclose(f);
        return 1;
    }
    return fclose(f) != 0;
}

static int write_image(const char *path, const t2c_image *img)
{
    printf("%d %d %d\n", img->width, img->height, img->channels);
    return write_file(path, img->data, (size_t)img->width * img->height * img->channels);
}

static void parse_floats(const char *s, float *out)
{
    int n = 0;
    char *end;
    while (n < 3) {
        out[n++] = strtof(s, &end);
        if (*end != ',')
            break;
        s = end + 1;
    }
    for (int i = n; i < 3; i++)
        out[i] = out[0];
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: see the comment at the top of t2c_preprocess_tool.c\n");
        return 2;
    }
    t2c_error err = {0};
    t2c_image img = {0}, out = {0};
    int rc = 0;
    if (t2c_image_load_file(argv[2], &img, &err) != T2C_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    if (strcmp(argv[1], "decode") == 0) {
        rc = write_image(argv[3], &img);
    } else if (strcmp(argv[1], "resize") == 0 && argc == 6) {
        if (t2c_image_resize_bilinear(&img, atoi(argv[3]), atoi(argv[4]), &out, &err) != T2C_OK) {
            fprintf(stderr, "%s\n", err.message);
            rc = 1;
        } else {
            rc = write_image(argv[5], &out);
        }
    } else if (strcmp(argv[1], "pipeline") == 0) {
        t2c_preprocess pp;
        memset(&pp, 0, sizeof pp);
        pp.channels = 3;
        pp.dtype = T2C_FLOAT32;
        pp.scale = 1.0f;
        for (int c = 0; c < 3; c++)
            pp.std[c] = 1.0f;
        for (int i = 4; i < argc; i++) {
            const char *a = argv[i];
            if (strncmp(a, "channels=", 9) == 0)
                pp.channels = atoi(a + 9);
            else if (strncmp(a, "resize=", 7) == 0)
                pp.resize = atoi(a + 7);
            else if (strncmp(a, "mode=", 5) == 0)
                pp.resize_exact = strcmp(a + 5, "exact") == 0;
            else if (strncmp(a, "crop=", 5) == 0)
                sscanf(a + 5, "%d,%d", &pp.crop_h, &pp.crop_w);
            else if (strncmp(a, "size=", 5) == 0)
                sscanf(a + 5, "%d,%d", &pp.height, &pp.width);
            else if (strncmp(a, "mean=", 5) == 0)
                parse_floats(a + 5, pp.mean);
            else if (strncmp(a, "std=", 4) == 0)
                parse_floats(a + 4, pp.std);
            else {
                fprintf(stderr, "unknown option %s\n", a);
                rc = 2;
            }
        }
        if (rc == 0 && t2c_preprocess_pixels(&pp, &img, argv[2], &out, &err) != T2C_OK) {
            fprintf(stderr, "%s\n", err.message);
            rc = 1;
        }
        if (rc == 0) {
            char path[4096];
            snprintf(path, sizeof path, "%s.u8", argv[3]);
            rc = write_image(path, &out);
            size_t n = (size_t)out.width * out.height * out.channels;
            float *f = malloc(n * sizeof *f);
            if (!f) {
                rc = 1;
            } else {
                t2c_preprocess_normalize(&pp, &out, f);
                snprintf(path, sizeof path, "%s.f32", argv[3]);
                rc |= write_file(path, f, n * sizeof *f);
                free(f);
            }
        }
    } else {
        fprintf(stderr, "unknown command %s\n", argv[1]);
        rc = 2;
    }
    t2c_image_free(&img);
    t2c_image_free(&out);
    return rc;
}
