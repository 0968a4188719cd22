// The on-disk format of a durable alert log: one file, kAlertLogName, in the
// multilog's directory beside the data log's files. Writer and reader are
// both multilog/alert_log.cc; nothing else knows these constants.
//
//   file    := header record*
//   header  := magic:u64 origin:u64 crc32c:u32 zero:u32   (kHeaderBytes)
//              origin: the incarnation (the agent's start time, ns) in
//              which the file was created; crc covers magic and origin.
//   record  := length:u32 crc32c:u32 payload[length]
//              crc covers the payload; length <= kMaxPayloadBytes.
//   payload := sequence:u64 incarnation:u64 time_ns:u64 value:f64
//              threshold:f64 window_start_ns:u64 window_end_ns:u64 op:u8
//              trigger_len:u16 trigger[trigger_len]
//              aggregate_len:u16 aggregate[aggregate_len]
//   Little endian. Sequences are consecutive (each record's is the previous
//   one's plus 1).
//
// Appends write one record (and fdatasync in the kDurable storage mode).
// Recovery reads records until the first that is incomplete, fails its crc,
// or breaks the sequence, and truncates the file there (a torn tail).
// Retired alerts stay in the file until it holds max_alerts of them; then
// the retained ones are rewritten to kAlertLogTmpName, synced and renamed
// over the file (a crash leaves either the old or the new file).
#ifndef LOUPE_MULTILOG_ALERT_LOG_FORMAT_H_
#define LOUPE_MULTILOG_ALERT_LOG_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace loupe::alert_log_format {

inline constexpr std::string_view kAlertLogName = "ALERTS";
inline constexpr std::string_view kAlertLogTmpName = "ALERTS.tmp";

inline constexpr uint64_t kHeaderMagic = 0x31544c4150554f4cull;  // "LOUPALT1"
inline constexpr size_t kHeaderBytes = 24;
inline constexpr size_t kHeaderCrcBytes = 16;  // magic and origin
inline constexpr size_t kRecordHeaderBytes = 8;
// 7 fixed 8-byte fields, op, two 2-byte lengths.
inline constexpr size_t kFixedPayloadBytes = 7 * 8 + 1 + 2 + 2;
// Names (trigger, aggregate) longer than this are cut when written.
inline constexpr size_t kMaxNameBytes = 1024;
inline constexpr size_t kMaxPayloadBytes =
    kFixedPayloadBytes + 2 * kMaxNameBytes;

}  // namespace loupe::alert_log_format

#endif  // LOUPE_MULTILOG_ALERT_LOG_FORMAT_H_
