// PcapWriter: writes a classic libpcap capture file, the input format of
// DPDK's net_pcap device, of tcpdump and of Wireshark. Writes are buffered
// (kBufferBytes) so that millions of packets take seconds; call Close() to
// learn whether the tail reached the disk (the destructor closes too, but
// cannot report). Errors are sticky: after one, every call returns it. One
// writer per file; not synchronized. Movable, not copyable.
//
// File format (all fields in the writer's native byte order; readers detect
// it from the magic):
//   file          := file_header record*
//   file_header   := magic:u32 = kPcapMagicNanos  version_major:u16 = 2
//                    version_minor:u16 = 4  thiszone:i32 = 0  sigfigs:u32 = 0
//                    snaplen:u32 = kPcapSnapLen  linktype:u32 = 1 (Ethernet)
//   record        := ts_sec:u32 ts_nsec:u32 incl_len:u32 orig_len:u32
//                    bytes[incl_len]
// incl_len = min(orig_len, kPcapSnapLen). Timestamps are nanoseconds (the
// 0xa1b23c4d magic, read by libpcap >= 1.5, Wireshark and DPDK net_pcap); a
// reader that knows only the microsecond magic rejects the file rather than
// misreading it.
#ifndef LOUPE_DATAPLANE_PCAP_WRITER_H_
#define LOUPE_DATAPLANE_PCAP_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "multilog/status.h"

namespace loupe::dataplane {

inline constexpr uint32_t kPcapMagicMicros = 0xa1b2c3d4;
inline constexpr uint32_t kPcapMagicNanos = 0xa1b23c4d;
inline constexpr uint16_t kPcapVersionMajor = 2;
inline constexpr uint16_t kPcapVersionMinor = 4;
inline constexpr uint32_t kPcapSnapLen = 65535;
inline constexpr uint32_t kPcapLinkTypeEthernet = 1;
inline constexpr size_t kPcapFileHeaderBytes = 24;
inline constexpr size_t kPcapRecordHeaderBytes = 16;

class PcapWriter {
 public:
  static constexpr size_t kBufferBytes = size_t{1} << 20;

  // Creates (or truncates) `path` and writes the file header. Errors name
  // the file and the system's reason: "creating pcap file /x/a.pcap:
  // Permission denied".
  static Result<PcapWriter> Create(const std::string& path);

  PcapWriter(PcapWriter&& other) noexcept;
  PcapWriter& operator=(PcapWriter&& other) noexcept;
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;
  ~PcapWriter();

  // Appends one packet captured at `timestamp_ns` (ns since the Unix
  // epoch). `len` is its length on the wire; at most kPcapSnapLen bytes of
  // it are stored.
  Status Write(uint64_t timestamp_ns, const uint8_t* frame, uint32_t len);
  // Hands the buffered records to the kernel (no fsync).
  Status Flush();
  // Flushes and closes; later calls return the first error or OK.
  Status Close();

  const std::string& path() const { return path_; }
  uint64_t packets() const { return packets_; }
  // Bytes of the file so far, buffered ones included.
  uint64_t file_bytes() const { return file_bytes_; }

 private:
  PcapWriter(std::string path, int fd);
  Status Append(const void* data, size_t n);
  Status WriteAll(const uint8_t* data, size_t n);

  std::string path_;
  int fd_ = -1;
  std::vector<uint8_t> buffer_;
  size_t buffered_ = 0;
  uint64_t packets_ = 0;
  uint64_t file_bytes_ = 0;
  Status error_;
};

}  // namespace loupe::dataplane

#endif  // LOUPE_DATAPLANE_PCAP_WRITER_H_
