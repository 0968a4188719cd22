// CRC-32C (Castagnoli), used to checksum the durable log's MANIFEST and
// commit records. Table-driven; pure function, thread-safe.
#ifndef LOUPE_MULTILOG_CRC32C_H_
#define LOUPE_MULTILOG_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace loupe {

// Extends `crc` (0 to start) over n bytes. Crc32c("123456789") == 0xe3069283.
uint32_t Crc32c(const void* data, size_t n, uint32_t crc = 0);

}  // namespace loupe

#endif  // LOUPE_MULTILOG_CRC32C_H_
