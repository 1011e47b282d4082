/* golden_axis.c — a tensor's stored elements as AXI4-Stream beats, one text line per beat:
 * "TDATA TKEEP TLAST TUSER[ GAP STALL]" (golden/README.md "AXI-Stream"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_internal.h"

static int dtype_bits(t2c_dtype d)
{
    switch (d) {
    case T2C_INT4: case T2C_UINT4: return 4;
    case T2C_INT8: case T2C_UINT8: return 8;
    case T2C_INT16: return 16;
    case T2C_INT32: case T2C_FLOAT32: return 32;
    case T2C_INT64: return 64;
    default: return 0;
    }
}

/* xorshift64 (13, 7, 17): the throttle pattern, reproducible from the seed alone */
static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static const char *const tlast_names[] = {"frame", "row", "tile"};

t2c_status t2c_golden_axis_write(const t2c_golden_axis_stream *a, const t2c_golden_plan *plan,
                                 const t2c_golden_layout *layout, const void *data, t2c_dtype dtype,
                                 int64_t pad_value, const char *dir, const char *name, json_object **entry,
                                 t2c_error *err)
{
    *entry = NULL;
    const int bits = dtype_bits(dtype);
    const int B = a->tdata_bytes;
    if (!bits)
        return t2c_golden_error(err, T2C_ERR_DTYPE, "axis: dtype %s has no byte-lane encoding", t2c_dtype_name(dtype));
    const int lane = (bits + 7) / 8;
    if (B < 1 || B > 128 || B % lane)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "axis: %d-byte TDATA cannot hold whole %d-byte %s lanes",
                                B, lane, t2c_dtype_name(dtype));
    if (a->tlast < 0 || a->tlast > 2 || a->lane_pad < 0 || a->lane_pad > 15)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "axis: bad tlast or lane pad");
    const int64_t n = plan->stored_numel;
    int64_t packet = n; /* TLAST after every `packet` elements (and at the end) */
    if (a->tlast == 1)
        packet = plan->axes[plan->n_axes - 1].size;
    else if (a->tlast == 2) {
        if (layout->tile_rows < 1)
            return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "axis: tlast=tile needs tiles (--tile)");
        packet = plan->view_rank == 1 || plan->n_axes < 2
                     ? plan->axes[plan->n_axes - 1].size
                     : plan->axes[plan->n_axes - 1].size * plan->axes[plan->n_axes - 2].size;
    }
    if (packet < 1)
        packet = 1;
    const int per_beat = B / lane;
    int64_t *vals = malloc((size_t)(n > 0 ? n : 1) * sizeof *vals);
    if (!vals)
        return t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
    if (t2c_golden_gather(plan, data, dtype, pad_value, vals, err) != T2C_OK) {
        free(vals);
        return err->status;
    }
    /* beats: every packet of `packet` elements split into beats of per_beat */
    const int64_t beats_per_packet = (packet + per_beat - 1) / per_beat;
    const int64_t full_packets = n / packet, rest = n % packet;
    const int64_t beats = full_packets * beats_per_packet + (rest + per_beat - 1) / per_beat;
    const int keep_digits = (B + 3) / 4;
    const size_t line_max = (size_t)2 * B + (size_t)keep_digits + 16;
    char *text = malloc((size_t)beats * line_max + 1);
    unsigned char *lanes = malloc((size_t)B);
    if (!text || !lanes) {
        free(vals), free(text), free(lanes);
        return t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
    }
    static const char hx[] = "0123456789abcdef";
    size_t len = 0;
    uint64_t rng = a->seed ? a->seed : 0x9e3779b97f4a7c15ull;
    int64_t tlasts = 0;
    for (int64_t start = 0, beat = 0; start < n; start += packet) {
        const int64_t pend = start + packet < n ? start + packet : n;
        for (int64_t e = start; e < pend; e += per_beat, beat++) {
            const int k = (int)(pend - e < per_beat ? pend - e : per_beat);
            memset(lanes, 0, (size_t)B);
            for (int j = 0; j < k; j++) {
                uint64_t v = (uint64_t)vals[e + j];
                if (bits == 4)
                    v = (v & 0xfu) | ((uint64_t)a->lane_pad << 4);
                for (int q = 0; q < lane; q++)
                    lanes[j * lane + q] = (unsigned char)(v >> (8 * q));
            }
            char *p = text + len;
            for (int q = B - 1; q >= 0; q--) { /* TDATA: byte lane B-1 first, as a Verilog literal */
                *p++ = hx[lanes[q] >> 4];
                *p++ = hx[lanes[q] & 15];
            }
            *p++ = ' ';
            const int used = k * lane; /* TKEEP: bit q = byte lane q holds data */
            for (int dgt = keep_digits - 1; dgt >= 0; dgt--) {
                int nib = 0;
                for (int q = 0; q < 4; q++)
                    if (dgt * 4 + q < used)
                        nib |= 1 << q;
                *p++ = hx[nib];
            }
            const int last = e + k == pend;
            tlasts += last;
            p += sprintf(p, " %d %d", last, beat == 0);
            if (a->throttle) {
                uint64_t r = next_rand(&rng);
                p += sprintf(p, " %d %d", (int)(r & 3), (int)((r >> 2) & 3));
            }
            *p++ = '\n';
            len = (size_t)(p - text);
        }
    }
    free(vals);
    free(lanes);
    t2c_status st = t2c_golden_write_atomic(dir, name, text, len, err);
    free(text);
    if (st != T2C_OK)
        return st;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "path", json_object_new_string(name));
    json_object_object_add(o, "tdata_bytes", json_object_new_int(B));
    json_object_object_add(o, "lane_bytes", json_object_new_int(lane));
    json_object_object_add(o, "elements_per_beat", json_object_new_int(per_beat));
    json_object_object_add(o, "lane_pad", bits == 4 ? json_object_new_int(a->lane_pad) : NULL);
    json_object_object_add(o, "tlast", json_object_new_string(tlast_names[a->tlast]));
    json_object_object_add(o, "packet_elements", json_object_new_int64(packet));
    json_object_object_add(o, "beats", json_object_new_int64(beats));
    json_object_object_add(o, "packets", json_object_new_int64(tlasts));
    json_object_object_add(o, "stored_elements", json_object_new_int64(n));
    json_object_object_add(o, "throttle", a->throttle ? json_object_new_uint64(a->seed) : NULL);
    json_object_object_add(o, "columns", json_object_new_string(a->throttle ? "tdata tkeep tlast tuser gap stall"
                                                                            : "tdata tkeep tlast tuser"));
    json_object_object_add(o, "bytes", json_object_new_uint64(len));
    *entry = o;
    return T2C_OK;
}
