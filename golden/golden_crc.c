/* golden_crc.c — a generic CRC (Rocksoft parameter model, width 8..32) for the golden files'
 * packed memory images, with the CRC-32/ISO-HDLC and CRC-16/CCITT-FALSE presets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_internal.h"

static uint32_t reflect(uint32_t v, int bits)
{
    uint32_t r = 0;
    for (int i = 0; i < bits; i++)
        r |= ((v >> i) & 1u) << (bits - 1 - i);
    return r;
}

static uint32_t width_mask(int width)
{
    return width >= 32 ? 0xffffffffu : (1u << width) - 1u;
}

uint32_t t2c_golden_crc_compute(const t2c_golden_crc *c, const void *data, size_t size)
{
    const int wd = c->width;
    const uint32_t mask = width_mask(wd), top = 1u << (wd - 1);
    /* MSB-first table: the register after shifting one byte (already xor'ed into the top 8
     * bits) through the divisor; a reflected input is handled by reflecting each byte */
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t r = i << (wd - 8);
        for (int k = 0; k < 8; k++)
            r = (r & top) ? ((r << 1) ^ c->poly) & mask : (r << 1) & mask;
        table[i] = r;
    }
    const unsigned char *p = data;
    uint32_t reg = c->init & mask;
    for (size_t i = 0; i < size; i++) {
        uint32_t b = c->refin ? reflect(p[i], 8) : p[i];
        reg = ((reg << 8) ^ table[((reg >> (wd - 8)) ^ b) & 0xffu]) & mask;
    }
    if (c->refout)
        reg = reflect(reg, wd);
    return (reg ^ c->xorout) & mask;
}

static int parse_u32(const char *s, size_t n, uint32_t *out)
{
    char buf[40];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 0);
    if (errno || *end || buf[0] == '-' || v > 0xffffffffull)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

t2c_status t2c_golden_crc_parse(const char *text, t2c_golden_crc *c, t2c_error *err)
{
    memset(c, 0, sizeof *c);
    if (!text)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "crc: no specification");
    if (strcmp(text, "crc32") == 0) {
        /* CRC-32/ISO-HDLC (zlib, Ethernet): check("123456789") = 0xcbf43926 */
        *c = (t2c_golden_crc){.width = 32, .poly = 0x04c11db7u, .init = 0xffffffffu, .xorout = 0xffffffffu,
                              .refin = 1, .refout = 1};
        strcpy(c->name, "crc32");
        return T2C_OK;
    }
    if (strcmp(text, "crc16-ccitt") == 0) {
        /* CRC-16/CCITT-FALSE (a.k.a. CRC-16/IBM-3740): check("123456789") = 0x29b1 */
        *c = (t2c_golden_crc){.width = 16, .poly = 0x1021u, .init = 0xffffu};
        strcpy(c->name, "crc16-ccitt");
        return T2C_OK;
    }
    if (strncmp(text, "custom:", 7) != 0)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG,
                                "crc '%.60s': expected crc32, crc16-ccitt or custom:poly=..,width=..", text);
    int have_poly = 0, have_width = 0, have_refout = 0;
    uint32_t width = 0;
    for (const char *p = text + 7; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq)
            return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "crc '%.60s': '%.*s' is not KEY=VALUE", text,
                                    (int)(n > 40 ? 40 : n), p);
        size_t kn = (size_t)(eq - p);
        uint32_t v;
        if (parse_u32(eq + 1, n - kn - 1, &v) != 0)
            return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "crc '%.60s': bad number in '%.*s'", text,
                                    (int)(n > 40 ? 40 : n), p);
#define KEY(k) (kn == strlen(k) && strncmp(p, k, kn) == 0)
        if (KEY("poly"))
            c->poly = v, have_poly = 1;
        else if (KEY("width"))
            width = v, have_width = 1;
        else if (KEY("init"))
            c->init = v;
        else if (KEY("xorout"))
            c->xorout = v;
        else if (KEY("refin") && v <= 1)
            c->refin = (int)v;
        else if (KEY("refout") && v <= 1)
            c->refout = (int)v, have_refout = 1;
        else
            return t2c_golden_error(err, T2C_ERR_INVALID_ARG,
                                    "crc '%.60s': unknown key or value '%.*s' (poly width init refin refout xorout)",
                                    text, (int)(n > 40 ? 40 : n), p);
#undef KEY
        p += n + (comma ? 1 : 0);
    }
    if (!have_poly || !have_width)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "crc '%.60s': poly and width are required", text);
    if (width < 8 || width > 32)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "crc '%.60s': width %u not in 8..32", text, width);
    c->width = (int)width;
    if (!have_refout)
        c->refout = c->refin;
    const uint32_t mask = width_mask(c->width);
    if ((c->poly & ~mask) || (c->init & ~mask) || (c->xorout & ~mask))
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG,
                                "crc '%.60s': poly/init/xorout must fit in %d bits", text,
                                c->width);
    strcpy(c->name, "custom");
    return T2C_OK;
}

json_object *t2c_golden_crc_json(const t2c_golden_crc *c)
{
    json_object *o = json_object_new_object();
    char buf[16];
    const int digits = (c->width + 3) / 4;
    json_object_object_add(o, "name", json_object_new_string(c->name));
    json_object_object_add(o, "width", json_object_new_int(c->width));
#define HEX(key, v)                                                     \
    snprintf(buf, sizeof buf, "%0*x", digits, (unsigned)(v));           \
    json_object_object_add(o, key, json_object_new_string(buf))
    HEX("poly", c->poly);
    HEX("init", c->init);
    json_object_object_add(o, "refin", json_object_new_boolean(c->refin));
    json_object_object_add(o, "refout", json_object_new_boolean(c->refout));
    HEX("xorout", c->xorout);
    HEX("check", t2c_golden_crc_compute(c, "123456789", 9));
#undef HEX
    return o;
}

t2c_status t2c_golden_crc_file_json(const t2c_golden_crc *c, const t2c_golden_plan *plan,
                                    const t2c_golden_layout *layout, const void *data, t2c_dtype dtype,
                                    const t2c_golden_packing *pack, json_object **out, t2c_error *err)
{
    *out = NULL;
    int64_t n = plan->stored_numel;
    /* a tile: the innermost (rows, cols) block of a tiled plan, or R elements of a blocked rank-1 */
    int64_t tile = n;
    if (layout->tile_rows > 0 && plan->n_axes >= 2)
        tile = plan->view_rank == 1 ? plan->axes[plan->n_axes - 1].size
                                    : plan->axes[plan->n_axes - 1].size * plan->axes[plan->n_axes - 2].size;
    if (tile < 1)
        tile = 1;
    int64_t *vals = malloc((size_t)(n > 0 ? n : 1) * sizeof *vals);
    if (!vals)
        return t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
    if (t2c_golden_gather(plan, data, dtype, pack->pad_value, vals, err) != T2C_OK) {
        free(vals);
        return err->status;
    }
    json_object *o = t2c_golden_crc_json(c);
    json_object_object_add(o, "over", json_object_new_string("packed_memory_image"));
    char buf[16];
    const int digits = (c->width + 3) / 4;
    json_object *tiles = json_object_new_array();
    t2c_status st = T2C_OK;
    /* the whole image first, then each tile packed on its own (a tile starts a new word) */
    for (int64_t start = -1; start < n && st == T2C_OK; start = start < 0 ? 0 : start + tile) {
        int64_t cnt = start < 0 ? n : (n - start < tile ? n - start : tile);
        t2c_golden_file_spec spec;
        uint8_t *bytes = NULL;
        size_t size = 0;
        if ((st = t2c_golden_spec_init(&spec, T2C_GOLDEN_RAW, dtype, pack, cnt, err)) != T2C_OK)
            break;
        spec.address_lines = 0;
        if ((st = t2c_golden_encode(&spec, vals + (start < 0 ? 0 : start), &bytes, &size, err)) != T2C_OK)
            break;
        snprintf(buf, sizeof buf, "%0*x", digits, (unsigned)t2c_golden_crc_compute(c, bytes, size));
        free(bytes);
        if (start < 0) {
            json_object_object_add(o, "value", json_object_new_string(buf));
            json_object_object_add(o, "bytes", json_object_new_uint64(size));
            json_object_object_add(o, "tile_elements", json_object_new_int64(tile));
        } else {
            json_object_array_add(tiles, json_object_new_string(buf));
        }
    }
    free(vals);
    json_object_object_add(o, "tiles", tiles);
    if (st != T2C_OK) {
        json_object_put(o);
        return st;
    }
    *out = o;
    return T2C_OK;
}
