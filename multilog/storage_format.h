// The on-disk format of a durable data log: one directory per log. Writer
// (internal/file_block_store.cc) and reader (the same file's recovery) share
// these constants; nothing else knows them.
//
//   directory  := MANIFEST TAIL block-file*
//   MANIFEST   := text lines, written once at creation (tmp + fsync + rename):
//                   "loupe-multilog 1\n"
//                   "record_size " decimal "\n"
//                   "block_records " decimal "\n"
//                   "schema " Schema::Serialize() "\n"
//                   "crc32c " 8 lowercase hex digits "\n"
//                 the crc covers every byte before the "crc32c" line.
//   TAIL       := commit-slot commit-slot          (kTailFileBytes bytes)
//   commit-slot:= magic:u64 sequence:u64 head:u64 tail:u64 crc32c:u32
//                 zero padding to kCommitSlotBytes; little endian; the crc
//                 covers the 32 bytes before it. Commit n writes slot n % 2
//                 and syncs it; recovery takes the valid slot with the
//                 larger sequence, so a torn commit falls back to the
//                 previous one.
//   block-file := "block-" 16 lowercase hex digits of the block index ".dat"
//                 exactly block_bytes long (fallocated at creation, so a
//                 full disk fails allocation, never a write). Block i holds
//                 offsets [i * block_bytes, (i + 1) * block_bytes).
//
// Committed state: records in [head, tail) are complete and synced. Bytes at
// or past tail are garbage from batches that were never committed; recovery
// zeroes them and reports them as dropped.
#ifndef LOUPE_MULTILOG_STORAGE_FORMAT_H_
#define LOUPE_MULTILOG_STORAGE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace loupe::storage_format {

inline constexpr std::string_view kManifestName = "MANIFEST";
inline constexpr std::string_view kManifestTmpName = "MANIFEST.tmp";
inline constexpr std::string_view kManifestMagicLine = "loupe-multilog 1";
inline constexpr std::string_view kTailName = "TAIL";
inline constexpr std::string_view kBlockPrefix = "block-";
inline constexpr std::string_view kBlockSuffix = ".dat";

inline constexpr uint64_t kCommitMagic = 0x314c494154504c4cull;  // "LLPTAIL1"
inline constexpr size_t kCommitSlotBytes = 64;
inline constexpr size_t kCommitPayloadBytes = 32;  // magic..tail
inline constexpr size_t kTailFileBytes = 2 * kCommitSlotBytes;

}  // namespace loupe::storage_format

#endif  // LOUPE_MULTILOG_STORAGE_FORMAT_H_
