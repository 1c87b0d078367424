// CRC-32C with the CPU's instruction (SSE4.2 `crc32` on x86-64, the ARMv8 CRC32C instructions
// on aarch64) when it has one: Swift cannot emit those instructions itself, and they checksum
// about 8 bytes a cycle instead of one.
#ifndef PRISM_CRC32C_H
#define PRISM_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// Continues a CRC-32C (pre- and post-inverted, start from 0) over `length` bytes; falls back to
/// the table-driven loop when the CPU lacks the instruction.
uint32_t prism_crc32c_update(uint32_t crc, const void *bytes, size_t length);

/// The table-driven loop alone, whatever the CPU: what other CPUs run, for tests on this one.
uint32_t prism_crc32c_portable(uint32_t crc, const void *bytes, size_t length);

/// 1 when the hardware instruction is used, 0 when the portable fallback is.
int prism_crc32c_hardware(void);
#endif
