// CRC-32C with the SSE4.2 `crc32` instruction when the CPU has it: Swift cannot emit that
// instruction itself, and it checksums about 8 bytes a cycle instead of one.
#ifndef PRISM_CRC32C_H
#define PRISM_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// Continues a CRC-32C (pre- and post-inverted, start from 0) over `length` bytes; falls back to
/// a table-driven loop when the CPU lacks SSE4.2.
uint32_t prism_crc32c_update(uint32_t crc, const void *bytes, size_t length);

/// 1 when the hardware instruction is used, 0 when the portable fallback is.
int prism_crc32c_hardware(void);
#endif
