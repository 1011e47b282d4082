/* t2c_container.h — reading and writing the .t2c container (formats/t2c-format.md).
 *
 * The reader validates the byte layout and every field, and returns the file's content as
 * plain tables; graph rules (dangling names, execution order) and op semantics are checked
 * by the engine (engine/model.c), which builds on this.
 */
#ifndef T2C_CONTAINER_H
#define T2C_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "t2c.h"

#define T2C_FORMAT_MAJOR 1
#define T2C_FORMAT_MINOR 0

enum { T2C_STORAGE_NONE = 0, T2C_STORAGE_RAW = 1, T2C_STORAGE_ZSTD = 2 };

/* Fixed numbers of the format (formats/t2c-format.md). */
#define T2C_HEADER_SIZE 64
#define T2C_ALIGN 64                        /* data_offset and payload offsets */
#define T2C_MAX_STR 65535u                  /* bytes in one string */
#define T2C_MAX_DIM ((int64_t)1 << 40)
#define T2C_MAX_NUMEL ((int64_t)1 << 48)
#define T2C_ZSTD_DEFAULT_LEVEL 19

/* Defaults for zero fields of t2c_load_limits. */
#define T2C_DEFAULT_MAX_FILE_BYTES ((uint64_t)8 << 30)
#define T2C_DEFAULT_MAX_TENSOR_BYTES ((uint64_t)4 << 30)
#define T2C_DEFAULT_MAX_TENSORS 1000000u
#define T2C_DEFAULT_MAX_OPS 1000000u

typedef struct t2c_container_tensor {
    char *name;
    t2c_dtype dtype;
    int rank;
    int64_t dims[T2C_MAX_RANK];
    int storage;           /* T2C_STORAGE_* */
    uint64_t offset;       /* relative to the data section */
    uint64_t stored_size;
    uint32_t crc32;
    void *data;            /* unpacked payload (int4 -> one int8/uint8 per element); NULL if none */
} t2c_container_tensor;

typedef struct t2c_container_op {
    char *type;
    char *name;
    int n_inputs;
    char **inputs;         /* "" = omitted optional input */
    int n_outputs;
    char **outputs;
    int n_attrs;
    t2c_attr *attrs;       /* names/strings/arrays owned by the container */
} t2c_container_op;

typedef struct t2c_container {
    char *source;          /* path or buffer name, for messages */
    uint16_t version_major, version_minor;
    int n_meta;
    t2c_attr *meta;
    int n_tensors;
    t2c_container_tensor *tensors;
    int n_inputs;
    char **inputs;
    int n_outputs;
    char **outputs;
    int n_ops;
    t2c_container_op *ops;
} t2c_container;

/* Parse and validate a whole file/buffer, decompressing and unpacking every payload.
 * Errors: T2C_ERR_IO (cannot read), T2C_ERR_FORMAT (corrupt/truncated), T2C_ERR_UNSUPPORTED
 * (other major version, unknown dtype/storage), T2C_ERR_LIMIT (over limits). The message
 * starts with the file name: "model.t2c: tensor 'conv1.w': payload offset past end of file". */
t2c_status t2c_container_read_file(const char *path, const t2c_load_limits *limits,
                                   t2c_container **out, t2c_error *err);
t2c_status t2c_container_read_buffer(const void *data, size_t size, const char *name,
                                     const t2c_load_limits *limits, t2c_container **out,
                                     t2c_error *err);
void t2c_container_free(t2c_container *c);

/* CRC-32/ISO-HDLC (zlib's crc32); crc = 0 to start. */
uint32_t t2c_crc32(uint32_t crc, const void *data, size_t size);

/* INT4 packing: element 2i -> low nibble of byte i, 2i+1 -> high nibble. */
void t2c_pack_int4(const uint8_t *unpacked, int64_t count, uint8_t *packed);
/* Returns 0, or -1 when an odd count's pad nibble is not zero. signed: sign-extend nibbles. */
int t2c_unpack_int4(const uint8_t *packed, int64_t count, int is_signed, uint8_t *unpacked);

/* Little-endian loads/stores (never struct casts). */
uint16_t t2c_le_get_u16(const uint8_t *p);
uint32_t t2c_le_get_u32(const uint8_t *p);
uint64_t t2c_le_get_u64(const uint8_t *p);
void t2c_le_put_u16(uint8_t *p, uint16_t v);
void t2c_le_put_u32(uint8_t *p, uint32_t v);
void t2c_le_put_u64(uint8_t *p, uint64_t v);

/* Payload bytes of `numel` elements in a file: numel * 1/2/4/8, int4/uint4 ceil(numel / 2).
 * numel must be 0..T2C_MAX_NUMEL (the result then fits easily); 0 for an invalid dtype. */
uint64_t t2c_container_raw_size(t2c_dtype dtype, int64_t numel);
/* Memory elements (one per element, native endian; int4 -> int8, uint4 -> uint8) <-> the
 * file's little-endian payload. `from_le` may work in place (same buffer) except for int4/uint4;
 * it returns -1 when an int4/uint4 pad nibble is not zero. `to_le` returns -1 when an
 * int4/uint4 element is out of its range (-8..7 / 0..15). */
int t2c_container_to_le(t2c_dtype dtype, const void *mem, int64_t numel, uint8_t *out);
int t2c_container_from_le(t2c_dtype dtype, const uint8_t *in, int64_t numel, void *mem);

/* 1 if s[0..n) is strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF)
 * without a NUL byte, else 0. */
int t2c_utf8_valid(const char *s, size_t n);

/* A set of borrowed names (for duplicate checks); each name carries an index. */
typedef struct t2c_name_set t2c_name_set;
t2c_name_set *t2c_name_set_new(void);
void t2c_name_set_free(t2c_name_set *set);
/* Adds `name` (not copied: it must outlive the set). Returns 0 when added, 1 when the name is
 * already present (*existing = its index), -1 when out of memory. */
int t2c_name_set_add(t2c_name_set *set, const char *name, int64_t index, int64_t *existing);

/* ---------- writer ---------- */
typedef struct t2c_writer t2c_writer;

t2c_writer *t2c_writer_new(void);
void t2c_writer_free(t2c_writer *w);
/* Everything is copied. Metadata value: any t2c_attr (name = key). */
t2c_status t2c_writer_meta(t2c_writer *w, const t2c_attr *value, t2c_error *err);
/* data: unpacked elements (NULL for an activation). zstd_level 0 = raw, else compress
 * (stored raw anyway when the frame is not smaller). */
t2c_status t2c_writer_tensor(t2c_writer *w, const char *name, t2c_dtype dtype, int rank,
                             const int64_t *dims, const void *data, int zstd_level,
                             t2c_error *err);
t2c_status t2c_writer_op(t2c_writer *w, const char *type, const char *name, int n_inputs,
                         const char *const *inputs, int n_outputs, const char *const *outputs,
                         int n_attrs, const t2c_attr *attrs, t2c_error *err);
t2c_status t2c_writer_graph_io(t2c_writer *w, int n_inputs, const char *const *inputs,
                               int n_outputs, const char *const *outputs, t2c_error *err);
/* The whole file in a malloc'ed buffer (caller frees). */
t2c_status t2c_writer_to_buffer(t2c_writer *w, uint8_t **out, size_t *size, t2c_error *err);
/* Writes to PATH.tmp.XXXXXX then renames: an error leaves no partial file. */
t2c_status t2c_writer_save(t2c_writer *w, const char *path, t2c_error *err);

#endif /* T2C_CONTAINER_H */
