#include "dataplane/pcap_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace loupe::dataplane {

Result<PcapWriter> PcapWriter::Create(const std::string& path) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("creating pcap file " + path, errno);
  PcapWriter writer(path, fd);
  uint8_t header[kPcapFileHeaderBytes];
  const uint32_t magic = kPcapMagicNanos;
  const uint16_t major = kPcapVersionMajor;
  const uint16_t minor = kPcapVersionMinor;
  const int32_t thiszone = 0;
  const uint32_t sigfigs = 0;
  const uint32_t snaplen = kPcapSnapLen;
  const uint32_t linktype = kPcapLinkTypeEthernet;
  std::memcpy(header, &magic, 4);
  std::memcpy(header + 4, &major, 2);
  std::memcpy(header + 6, &minor, 2);
  std::memcpy(header + 8, &thiszone, 4);
  std::memcpy(header + 12, &sigfigs, 4);
  std::memcpy(header + 16, &snaplen, 4);
  std::memcpy(header + 20, &linktype, 4);
  Status status = writer.Append(header, sizeof(header));
  if (!status.ok()) return status;
  return writer;
}

PcapWriter::PcapWriter(std::string path, int fd)
    : path_(std::move(path)), fd_(fd), buffer_(kBufferBytes) {}

PcapWriter::PcapWriter(PcapWriter&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)),
      buffered_(std::exchange(other.buffered_, 0)),
      packets_(other.packets_),
      file_bytes_(other.file_bytes_),
      error_(std::move(other.error_)) {}

PcapWriter& PcapWriter::operator=(PcapWriter&& other) noexcept {
  if (this != &other) {
    (void)Close();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
    buffered_ = std::exchange(other.buffered_, 0);
    packets_ = other.packets_;
    file_bytes_ = other.file_bytes_;
    error_ = std::move(other.error_);
  }
  return *this;
}

PcapWriter::~PcapWriter() { (void)Close(); }

Status PcapWriter::Write(uint64_t timestamp_ns, const uint8_t* frame,
                         uint32_t len) {
  if (!error_.ok()) return error_;
  if (fd_ < 0) {
    return Status::FailedPrecondition("pcap file " + path_ + " is closed");
  }
  const uint32_t incl = std::min(len, kPcapSnapLen);
  const uint32_t fields[4] = {
      static_cast<uint32_t>(timestamp_ns / 1'000'000'000),
      static_cast<uint32_t>(timestamp_ns % 1'000'000'000), incl, len};
  LOUPE_RETURN_IF_ERROR(Append(fields, sizeof(fields)));
  LOUPE_RETURN_IF_ERROR(Append(frame, incl));
  ++packets_;
  return Status::Ok();
}

Status PcapWriter::Append(const void* data, size_t n) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  file_bytes_ += n;
  if (buffered_ + n > buffer_.size()) {
    LOUPE_RETURN_IF_ERROR(Flush());
    if (n > buffer_.size()) return WriteAll(bytes, n);
  }
  std::memcpy(buffer_.data() + buffered_, bytes, n);
  buffered_ += n;
  return Status::Ok();
}

Status PcapWriter::Flush() {
  if (!error_.ok() || fd_ < 0) return error_;
  const size_t n = std::exchange(buffered_, 0);
  return WriteAll(buffer_.data(), n);
}

Status PcapWriter::WriteAll(const uint8_t* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd_, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      error_ = Status::FromErrno("writing pcap file " + path_, errno);
      return error_;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status PcapWriter::Close() {
  if (fd_ < 0) return error_;
  (void)Flush();  // an error stays in error_
  if (::close(fd_) != 0 && error_.ok()) {
    error_ = Status::FromErrno("closing pcap file " + path_, errno);
  }
  fd_ = -1;
  buffer_ = {};
  return error_;
}

}  // namespace loupe::dataplane
