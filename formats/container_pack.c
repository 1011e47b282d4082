/* container_pack.c — byte-level helpers shared by the .t2c reader and writer: CRC-32,
 * little-endian loads/stores, INT4 packing, element conversion, UTF-8 checks, a name set. */
#include <stdlib.h>
#include <string.h>

#include "t2c_container.h"

/* CRC-32/ISO-HDLC table for the reflected polynomial 0xEDB88320 (generated, one entry per byte). */
static const uint32_t crc_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
    0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
    0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
    0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
    0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
    0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
    0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
    0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
    0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
    0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
    0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
    0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
    0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
    0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
    0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
    0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
    0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
    0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
    0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
    0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
    0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
    0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
    0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
    0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
    0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
    0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
    0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
    0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
    0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
    0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
    0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
    0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
    0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
    0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
    0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
    0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
    0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
    0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
    0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
    0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
    0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
    0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
    0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

uint32_t t2c_crc32(uint32_t crc, const void *data, size_t size)
{
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < size; i++)
        crc = crc_table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

uint16_t t2c_le_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

uint32_t t2c_le_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint64_t t2c_le_get_u64(const uint8_t *p)
{
    return (uint64_t)t2c_le_get_u32(p) | ((uint64_t)t2c_le_get_u32(p + 4) << 32);
}

void t2c_le_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void t2c_le_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void t2c_le_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void t2c_pack_int4(const uint8_t *unpacked, int64_t count, uint8_t *packed)
{
    for (int64_t i = 0; i + 1 < count; i += 2)
        packed[i / 2] = (uint8_t)((unpacked[i] & 0x0f) | ((unpacked[i + 1] & 0x0f) << 4));
    if (count & 1)
        packed[count / 2] = (uint8_t)(unpacked[count - 1] & 0x0f); /* pad nibble stays zero */
}

int t2c_unpack_int4(const uint8_t *packed, int64_t count, int is_signed, uint8_t *unpacked)
{
    if ((count & 1) && (packed[count / 2] & 0xf0))
        return -1;
    for (int64_t i = 0; i < count; i++) {
        unsigned nib = (packed[i / 2] >> ((i & 1) * 4)) & 0x0fu;
        /* sign-extend: 0x8..0xF -> -8..-1, stored as the int8 bit pattern */
        unpacked[i] = (uint8_t)(is_signed && nib >= 8 ? nib | 0xf0u : nib);
    }
    return 0;
}

static int file_elem_bytes(t2c_dtype dtype)
{
    switch (dtype) {
    case T2C_INT8:
    case T2C_UINT8: return 1;
    case T2C_INT16: return 2;
    case T2C_INT32:
    case T2C_FLOAT32: return 4;
    case T2C_INT64: return 8;
    default: return 0; /* int4/uint4 (packed) and invalid */
    }
}

uint64_t t2c_container_raw_size(t2c_dtype dtype, int64_t numel)
{
    if (numel < 0)
        return 0;
    if (dtype == T2C_INT4 || dtype == T2C_UINT4)
        return ((uint64_t)numel + 1) / 2;
    return (uint64_t)numel * (uint64_t)file_elem_bytes(dtype);
}

int t2c_container_to_le(t2c_dtype dtype, const void *mem, int64_t numel, uint8_t *out)
{
    if (dtype == T2C_INT4 || dtype == T2C_UINT4) {
        const uint8_t *u = mem;
        for (int64_t i = 0; i < numel; i++) {
            int v = dtype == T2C_INT4 ? (int)(int8_t)u[i] : (int)u[i];
            if (v < (dtype == T2C_INT4 ? -8 : 0) || v > (dtype == T2C_INT4 ? 7 : 15))
                return -1;
        }
        t2c_pack_int4(u, numel, out);
        return 0;
    }
    int k = file_elem_bytes(dtype);
    const uint8_t *src = mem;
    for (int64_t i = 0; i < numel; i++) {
        uint64_t v = 0;
        /* native load through memcpy (no aliasing or alignment assumptions) */
        switch (k) {
        case 1: v = src[i]; break;
        case 2: { uint16_t x; memcpy(&x, src + i * 2, 2); v = x; break; }
        case 4: { uint32_t x; memcpy(&x, src + i * 4, 4); v = x; break; }
        case 8: memcpy(&v, src + i * 8, 8); break;
        default: return -1;
        }
        for (int b = 0; b < k; b++)
            out[i * k + b] = (uint8_t)(v >> (8 * b));
    }
    return 0;
}

int t2c_container_from_le(t2c_dtype dtype, const uint8_t *in, int64_t numel, void *mem)
{
    if (dtype == T2C_INT4 || dtype == T2C_UINT4)
        return t2c_unpack_int4(in, numel, dtype == T2C_INT4, mem);
    int k = file_elem_bytes(dtype);
    uint8_t *dst = mem;
    for (int64_t i = 0; i < numel; i++) {
        const uint8_t *p = in + i * k;
        switch (k) {
        case 1: dst[i] = p[0]; break;
        case 2: { uint16_t x = t2c_le_get_u16(p); memcpy(dst + i * 2, &x, 2); break; }
        case 4: { uint32_t x = t2c_le_get_u32(p); memcpy(dst + i * 4, &x, 4); break; }
        case 8: { uint64_t x = t2c_le_get_u64(p); memcpy(dst + i * 8, &x, 8); break; }
        default: return -1;
        }
    }
    return 0;
}

int t2c_utf8_valid(const char *str, size_t n)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        int len;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1fu; min = 0x80; }
        else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0fu; min = 0x800; }
        else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07u; min = 0x10000; }
        else return 0; /* continuation byte, overlong lead 0xC0/0xC1, or 0xF5.. */
        if (n - i < (size_t)len)
            return 0;
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += (size_t)len;
    }
    return 1;
}

/* ---- name set: open addressing, FNV-1a, grows at 1/2 load ---- */
struct t2c_name_set {
    size_t cap, used;
    const char **keys;
    int64_t *vals;
};

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

t2c_name_set *t2c_name_set_new(void) { return calloc(1, sizeof(t2c_name_set)); }

void t2c_name_set_free(t2c_name_set *set)
{
    if (!set)
        return;
    free(set->keys);
    free(set->vals);
    free(set);
}

static int set_grow(t2c_name_set *set)
{
    size_t cap = set->cap ? set->cap * 2 : 64;
    const char **keys = calloc(cap, sizeof *keys);
    int64_t *vals = calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < set->cap; i++) {
        if (!set->keys[i])
            continue;
        size_t j = hash_name(set->keys[i]) & (cap - 1);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = set->keys[i];
        vals[j] = set->vals[i];
    }
    free(set->keys);
    free(set->vals);
    set->keys = keys;
    set->vals = vals;
    set->cap = cap;
    return 0;
}

int t2c_name_set_add(t2c_name_set *set, const char *name, int64_t index, int64_t *existing)
{
    if ((set->used + 1) * 2 > set->cap && set_grow(set) != 0)
        return -1;
    size_t j = hash_name(name) & (set->cap - 1);
    while (set->keys[j]) {
        if (strcmp(set->keys[j], name) == 0) {
            if (existing)
                *existing = set->vals[j];
            return 1;
        }
        j = (j + 1) & (set->cap - 1);
    }
    set->keys[j] = name;
    set->vals[j] = index;
    set->used++;
    return 0;
}
