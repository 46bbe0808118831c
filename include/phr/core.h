/**
 * @file core.h
 * @brief phr core: error codes, bounded growable buffers, hex, base32, varints,
 *        allocation hooks and logging.
 *
 * Every other module builds on this header. Nothing here allocates secrets;
 * secret material lives in sodium_malloc memory (see crypto.h).
 *
 * Thread safety: all functions are reentrant except the logger configuration
 * (phr_log_set_*) and the allocation hook, which are process-wide and meant to
 * be set once at start-up or from a single-threaded test.
 */
#ifndef PHR_CORE_H
#define PHR_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PHR_WUR __attribute__((warn_unused_result))
#define PHR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PHR_WUR
#define PHR_PRINTF(a, b)
#endif

/** Number of elements of a true array. */
#define PHR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------- */
/* Errors                                                                    */
/* ------------------------------------------------------------------------- */

/**
 * One error space for the whole project. PHR_OK is zero; every error is
 * negative. Functions that can fail return `enum phr_err` (or a negative value
 * of it) and are marked PHR_WUR.
 */
enum phr_err {
	PHR_OK = 0,
	PHR_ERR_NOMEM = -1,         /**< allocation failed */
	PHR_ERR_INVALID = -2,       /**< invalid argument or input value */
	PHR_ERR_PARSE = -3,         /**< malformed input (syntax) */
	PHR_ERR_RANGE = -4,         /**< value out of range / overflow */
	PHR_ERR_TOO_LARGE = -5,     /**< input or output exceeds a size limit */
	PHR_ERR_NOT_FOUND = -6,     /**< no such object */
	PHR_ERR_EXISTS = -7,        /**< object already exists */
	PHR_ERR_IO = -8,            /**< operating-system I/O error */
	PHR_ERR_CRYPTO = -9,        /**< cryptographic primitive failed */
	PHR_ERR_TAMPERED = -10,     /**< authentication tag / MAC / hash mismatch */
	PHR_ERR_SIGNATURE = -11,    /**< bad or unrecoverable signature */
	PHR_ERR_FORBIDDEN = -12,    /**< authenticated but not allowed */
	PHR_ERR_UNAUTHENTICATED = -13, /**< no or bad credentials */
	PHR_ERR_EXPIRED = -14,      /**< grant, token or session expired */
	PHR_ERR_UNSUPPORTED = -15,  /**< valid but not supported */
	PHR_ERR_NONCANONICAL = -16, /**< encoding valid but not canonical */
	PHR_ERR_TRUNCATED = -17,    /**< input ended early */
	PHR_ERR_DB = -18,           /**< database error */
	PHR_ERR_NETWORK = -19,      /**< network / remote peer error */
	PHR_ERR_TIMEOUT = -20,      /**< operation timed out */
	PHR_ERR_CONFLICT = -21,     /**< conflicting state (nonce, version) */
	PHR_ERR_STATE = -22,        /**< operation not valid in this state */
	PHR_ERR_CORRUPT = -23,      /**< stored data failed verification */
	PHR_ERR_PASSWORD = -24,     /**< wrong password / passphrase */
	PHR_ERR_REVERTED = -25,     /**< contract call reverted */
	PHR_ERR_RATE_LIMITED = -26, /**< too many requests */
	PHR_ERR_INTERNAL = -27,     /**< bug or unexpected condition */
	PHR_ERR__LAST = -28
};

/** @return a static, human-readable description of @p err (never NULL). */
const char *phr_strerror(int err);

/** @return a short stable identifier of @p err, e.g. "invalid" (never NULL). */
const char *phr_err_name(int err);

/** @return the HTTP status code that reports @p err (200 for PHR_OK). */
int phr_err_http_status(int err);

/** @return the JSON-RPC 2.0 error code that reports @p err (0 for PHR_OK). */
int phr_err_jsonrpc_code(int err);

/** @return the FHIR OperationOutcome issue.code for @p err, e.g. "invalid". */
const char *phr_err_fhir_code(int err);

/* ------------------------------------------------------------------------- */
/* Allocation                                                                */
/* ------------------------------------------------------------------------- */

/** malloc that honours the test failure hook. */
void *phr_malloc(size_t n);
/** calloc that honours the test failure hook and checks n*size overflow. */
void *phr_calloc(size_t n, size_t size);
/** realloc that honours the test failure hook. */
void *phr_realloc(void *p, size_t n);
/** free; NULL is a no-op. */
void phr_free(void *p);
/** strdup through phr_malloc; NULL on failure. */
char *phr_strdup(const char *s);

/**
 * Torture hook (curl's idea): make the @p n-th allocation from now fail
 * (n = 1 fails the next one), or disable failures with n = 0.
 * Process-wide; for single-threaded tests only.
 */
void phr_alloc_fail_at(long n);
/** @return the number of allocations made through phr_malloc and friends. */
long phr_alloc_count(void);

/* ------------------------------------------------------------------------- */
/* Bounded growable buffers                                                  */
/* ------------------------------------------------------------------------- */

/**
 * A growable byte buffer with a hard maximum size. The data is always followed
 * by a NUL byte (not counted in len) so text can be used as a C string.
 * When an append fails (limit or allocation), the buffer frees its contents
 * and is left empty but usable (curl's dynbuf rule): callers do not need to
 * clean up on the error path.
 */
struct phr_buf {
	uint8_t *data; /**< NULL until the first append */
	size_t len;    /**< bytes used */
	size_t cap;    /**< bytes allocated */
	size_t max;    /**< hard limit on len */
};

/** Default maximum when none is given: 64 MiB. */
#define PHR_BUF_DEFAULT_MAX ((size_t)64 << 20)

/** Sets up an empty buffer of at most @p max bytes (0 means PHR_BUF_DEFAULT_MAX). */
void phr_buf_init(struct phr_buf *b, size_t max);
/** Frees the contents; the buffer can be reused after phr_buf_init. */
void phr_buf_release(struct phr_buf *b);
/** Empties the buffer without freeing its memory. */
void phr_buf_reset(struct phr_buf *b);
/** Ensures room for @p extra more bytes. @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE. */
PHR_WUR int phr_buf_reserve(struct phr_buf *b, size_t extra);
/** Appends @p n bytes. @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE. */
PHR_WUR int phr_buf_append(struct phr_buf *b, const void *data, size_t n);
/** Appends one byte. */
PHR_WUR int phr_buf_append_byte(struct phr_buf *b, uint8_t c);
/** Appends a NUL-terminated string (without the NUL). */
PHR_WUR int phr_buf_append_str(struct phr_buf *b, const char *s);
/** Appends formatted text. */
PHR_WUR PHR_PRINTF(2, 3) int phr_buf_appendf(struct phr_buf *b, const char *fmt, ...);
/** va_list form of phr_buf_appendf. */
PHR_WUR int phr_buf_vappendf(struct phr_buf *b, const char *fmt, va_list ap);
/**
 * Hands the contents out: returns the data (caller frees with phr_free; never
 * NULL, an empty buffer yields an allocated ""), stores the length in @p len
 * if non-NULL, and leaves @p b empty. Returns NULL only on allocation failure.
 */
void *phr_buf_detach(struct phr_buf *b, size_t *len);

/* ------------------------------------------------------------------------- */
/* Hex                                                                       */
/* ------------------------------------------------------------------------- */

/** Characters needed to hex-encode @p n bytes, with optional "0x" and the NUL. */
#define PHR_HEX_LEN(n, prefix) ((n) * 2 + ((prefix) ? 2 : 0) + 1)

/**
 * Encodes @p n bytes as lower-case hex into @p out (NUL-terminated).
 * @param[out] out     buffer of at least PHR_HEX_LEN(n, prefix) chars
 * @param[in]  out_cap size of @p out
 * @param[in]  prefix  write a leading "0x"
 * @return PHR_OK or PHR_ERR_TOO_LARGE when @p out is too small (out untouched).
 */
PHR_WUR int phr_hex_encode(char *out, size_t out_cap, const uint8_t *in, size_t n, bool prefix);

/**
 * Decodes hex text: an optional "0x"/"0X" prefix, upper, lower or mixed case,
 * and odd lengths (read as if a leading 0 nibble were there: "0x1" -> 01).
 * @param[out] out     decoded bytes
 * @param[in]  out_cap size of @p out
 * @param[out] out_len number of bytes written
 * @param[in]  in      text (need not be NUL-terminated)
 * @param[in]  in_len  length of @p in
 * @return PHR_OK, PHR_ERR_PARSE on a non-hex character, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in,
			   size_t in_len);

/**
 * Decodes exactly @p n bytes from a NUL-terminated hex string (prefix optional,
 * even length required). @return PHR_OK or PHR_ERR_PARSE.
 */
PHR_WUR int phr_hex_decode_exact(uint8_t *out, size_t n, const char *in);

/* ------------------------------------------------------------------------- */
/* Base32 (RFC 4648, lower-case alphabet, no padding) as used by multibase 'b' */
/* ------------------------------------------------------------------------- */

/** Characters needed to base32-encode @p n bytes, with the NUL. */
#define PHR_BASE32_LEN(n) (((n) * 8 + 4) / 5 + 1)

/** Encodes into @p out (NUL-terminated). @return PHR_OK or PHR_ERR_TOO_LARGE. */
PHR_WUR int phr_base32_encode(char *out, size_t out_cap, const uint8_t *in, size_t n);

/**
 * Decodes unpadded base32. Lower-case is canonical; upper-case is accepted too
 * (RFC 4648 is case-insensitive) but not mixed within one string. Padding
 * characters, characters outside the alphabet, impossible lengths (1, 3, 6 mod
 * 8) and non-zero trailing bits are rejected.
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_NONCANONICAL, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_base32_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in,
			      size_t in_len);

/* ------------------------------------------------------------------------- */
/* Unsigned varints (LEB128, as in multiformats: at most 9 bytes, 63 bits)   */
/* ------------------------------------------------------------------------- */

/** Maximum encoded size of a varint. */
#define PHR_VARINT_MAX_BYTES 10

/**
 * Encodes @p v. @param[out] out at least PHR_VARINT_MAX_BYTES.
 * @return the number of bytes written (1..10).
 */
size_t phr_varint_encode(uint8_t *out, uint64_t v);

/** @return the encoded length of @p v. */
size_t phr_varint_len(uint64_t v);

/**
 * Decodes a varint from @p in. Rejects non-minimal encodings (trailing 0x00
 * groups), values over 2^63-1 (the multiformats limit) and truncation.
 * @param[out] v     decoded value
 * @param[out] used  bytes consumed
 * @return PHR_OK, PHR_ERR_TRUNCATED, PHR_ERR_NONCANONICAL, PHR_ERR_RANGE.
 */
PHR_WUR int phr_varint_decode(uint64_t *v, size_t *used, const uint8_t *in, size_t in_len);

/* ------------------------------------------------------------------------- */
/* Logging                                                                   */
/* ------------------------------------------------------------------------- */

enum phr_log_level { PHR_LOG_ERROR = 0, PHR_LOG_WARN, PHR_LOG_INFO, PHR_LOG_DEBUG };

/** Sets the most verbose level that is printed (default PHR_LOG_INFO). */
void phr_log_set_level(enum phr_log_level level);
/** Parses "error", "warn", "info", "debug". @return PHR_OK or PHR_ERR_INVALID. */
PHR_WUR int phr_log_parse_level(enum phr_log_level *level, const char *s);
/** Switches between text lines (default) and one JSON object per line. */
void phr_log_set_json(bool json);
/** Sends log lines to @p f (default stderr). */
void phr_log_set_stream(FILE *f);
/** @return whether @p level would be printed. */
bool phr_log_enabled(enum phr_log_level level);

/**
 * Logs one line: time, level, module and message. Never log secrets or health
 * data: callers pass identifiers (addresses, CIDs, record ids) only.
 */
PHR_PRINTF(3, 4) void phr_log(enum phr_log_level level, const char *module, const char *fmt, ...);

#define phr_log_error(mod, ...) phr_log(PHR_LOG_ERROR, mod, __VA_ARGS__)
#define phr_log_warn(mod, ...) phr_log(PHR_LOG_WARN, mod, __VA_ARGS__)
#define phr_log_info(mod, ...) phr_log(PHR_LOG_INFO, mod, __VA_ARGS__)
#define phr_log_debug(mod, ...) \
	do { if (phr_log_enabled(PHR_LOG_DEBUG)) phr_log(PHR_LOG_DEBUG, mod, __VA_ARGS__); } while (0)

/* ------------------------------------------------------------------------- */
/* Files                                                                     */
/* ------------------------------------------------------------------------- */

/**
 * Reads a whole file of at most @p max bytes into @p out (which must be
 * initialised). @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_IO, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_file_read(struct phr_buf *out, const char *path, size_t max);

/**
 * Writes @p n bytes to @p path durably: a temporary file in the same directory,
 * fsync, rename over @p path, fsync of the directory. Readers see the old or
 * the new contents, never a mix, and an acknowledged write survives a crash.
 * @param[in] mode permission bits of the new file (e.g. 0600 for keystores)
 * @return PHR_OK or PHR_ERR_IO.
 */
PHR_WUR int phr_file_write_atomic(const char *path, const void *data, size_t n, unsigned mode);

/** Writes all @p n bytes to @p fd (retrying short writes and EINTR). @return PHR_OK or PHR_ERR_IO. */
PHR_WUR int phr_fd_write_all(int fd, const void *data, size_t n);

/** Creates @p path and missing parents with @p mode. @return PHR_OK or PHR_ERR_IO. */
PHR_WUR int phr_mkdir_p(const char *path, unsigned mode);

#ifdef __cplusplus
}
#endif
#endif /* PHR_CORE_H */
