#include "multilog/alert_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "multilog/alert_log_format.h"
#include "multilog/crc32c.h"

namespace loupe {
namespace {

namespace fmt = alert_log_format;

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void PutU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v));
  out.push_back(static_cast<char>(v >> 8));
}
void PutF64(std::string& out, double d) {
  uint64_t v;
  std::memcpy(&v, &d, sizeof(v));
  PutU64(out, v);
}
void PutName(std::string& out, const std::string& s) {
  const size_t n = std::min(s.size(), fmt::kMaxNameBytes);
  PutU16(out, static_cast<uint16_t>(n));
  out.append(s, 0, n);
}

uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint32_t GetU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
uint16_t GetU16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}
double GetF64(const uint8_t* p) {
  const uint64_t v = GetU64(p);
  double d;
  std::memcpy(&d, &v, sizeof(d));
  return d;
}

std::string EncodeHeader(uint64_t origin) {
  std::string h;
  PutU64(h, fmt::kHeaderMagic);
  PutU64(h, origin);
  PutU32(h, Crc32c(h.data(), fmt::kHeaderCrcBytes));
  PutU32(h, 0);
  return h;
}

std::string EncodeRecord(const Alert& a) {
  std::string payload;
  PutU64(payload, a.sequence);
  PutU64(payload, a.incarnation);
  PutU64(payload, a.time_ns);
  PutF64(payload, a.value);
  PutF64(payload, a.threshold);
  PutU64(payload, a.window_start_ns);
  PutU64(payload, a.window_end_ns);
  payload.push_back(static_cast<char>(a.op));
  PutName(payload, a.trigger);
  PutName(payload, a.aggregate);
  std::string out;
  PutU32(out, static_cast<uint32_t>(payload.size()));
  PutU32(out, Crc32c(payload.data(), payload.size()));
  out += payload;
  return out;
}

// Decodes one payload; false if it does not parse.
bool DecodePayload(const uint8_t* p, size_t n, Alert* a) {
  if (n < fmt::kFixedPayloadBytes) return false;
  a->sequence = GetU64(p);
  a->incarnation = GetU64(p + 8);
  a->time_ns = GetU64(p + 16);
  a->value = GetF64(p + 24);
  a->threshold = GetF64(p + 32);
  a->window_start_ns = GetU64(p + 40);
  a->window_end_ns = GetU64(p + 48);
  if (p[56] > static_cast<uint8_t>(CompareOp::kGe)) return false;
  a->op = static_cast<CompareOp>(p[56]);
  size_t at = 57;
  for (std::string* s : {&a->trigger, &a->aggregate}) {
    if (at + 2 > n) return false;
    const size_t len = GetU16(p + at);
    at += 2;
    if (at + len > n) return false;
    s->assign(reinterpret_cast<const char*>(p + at), len);
    at += len;
  }
  return at == n;
}

bool WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

Result<std::string> ReadFile(int fd) {
  std::string bytes;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("reading the alert log", errno);
    if (n == 0) return bytes;
    bytes.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

AlertLog::AlertLog(AlertLogOptions options)
    : options_(std::move(options)),
      origin_(options_.incarnation),
      first_(std::max<uint64_t>(options_.first_sequence, 1)) {
  opened_sequence_ = first_ - 1;
}

AlertLog::~AlertLog() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<AlertLog>> AlertLog::Open(AlertLogOptions options,
                                                 AlertLogRecovery* recovery) {
  AlertLogRecovery local;
  if (recovery == nullptr) recovery = &local;
  *recovery = {};
  if (options.max_alerts == 0) options.max_alerts = 1;
  auto log = std::make_unique<AlertLog>(options);
  if (options.directory.empty()) return log;

  const std::string path =
      options.directory + "/" + std::string(fmt::kAlertLogName);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("opening " + path, errno);
  log->fd_ = fd;
  Result<std::string> bytes = ReadFile(fd);
  if (!bytes.ok()) return bytes.status();
  const auto* p = reinterpret_cast<const uint8_t*>(bytes->data());
  size_t good = 0;
  if (bytes->size() < fmt::kHeaderBytes) {
    // New, or created by a crash before its header was whole.
    const std::string header = EncodeHeader(options.incarnation);
    if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0 ||
        !WriteAll(fd, header) || ::fsync(fd) != 0) {
      return Status::FromErrno("creating " + path, errno);
    }
    recovery->created = true;
    recovery->torn_bytes = bytes->size();
    return log;
  }
  if (GetU64(p) != fmt::kHeaderMagic ||
      GetU32(p + fmt::kHeaderCrcBytes) != Crc32c(p, fmt::kHeaderCrcBytes)) {
    return Status::Corruption(path + " is not a loupe alert log (bad header)");
  }
  log->origin_ = GetU64(p + 8);
  good = fmt::kHeaderBytes;
  std::deque<Alert> alerts;
  while (good + fmt::kRecordHeaderBytes <= bytes->size()) {
    const uint32_t length = GetU32(p + good);
    const uint32_t crc = GetU32(p + good + 4);
    const size_t end = good + fmt::kRecordHeaderBytes + length;
    if (length > fmt::kMaxPayloadBytes || end > bytes->size()) break;
    const uint8_t* payload = p + good + fmt::kRecordHeaderBytes;
    if (Crc32c(payload, length) != crc) break;
    Alert a;
    if (!DecodePayload(payload, length, &a)) break;
    if (!alerts.empty() && a.sequence != alerts.back().sequence + 1) break;
    alerts.push_back(std::move(a));
    good = end;
  }
  if (good < bytes->size()) {
    recovery->torn_bytes = bytes->size() - good;
    if (::ftruncate(fd, static_cast<off_t>(good)) != 0 || ::fsync(fd) != 0) {
      return Status::FromErrno("truncating the torn tail of " + path, errno);
    }
  }
  if (::lseek(fd, 0, SEEK_END) < 0) {
    return Status::FromErrno("seeking in " + path, errno);
  }
  recovery->recovered = alerts.size();
  std::lock_guard<std::mutex> lock(log->mu_);
  if (!alerts.empty()) {
    if (alerts.front().sequence >= log->first_) {
      log->first_ = alerts.front().sequence;
      log->alerts_ = std::move(alerts);
    } else if (alerts.back().sequence >= log->first_) {
      // first_sequence asks for later sequences than some recovered ones.
      while (alerts.front().sequence < log->first_) alerts.pop_front();
      log->alerts_ = std::move(alerts);
    } else {
      log->retired_on_disk_ = alerts.size();  // all older than asked for
    }
  }
  log->opened_sequence_ = log->first_ + log->alerts_.size() - 1;
  log->Retire();
  log->retired_ = 0;  // counts what this opening retires from now on
  return log;
}

uint64_t AlertLog::Append(Alert alert) {
  std::lock_guard<std::mutex> lock(mu_);
  alert.sequence = first_ + alerts_.size();
  alert.incarnation = options_.incarnation;
  alerts_.push_back(std::move(alert));
  if (fd_ >= 0) WriteRecord(alerts_.back());
  Retire();
  for (const auto& [id, fn] : subscribers_) fn(alerts_.back());
  return alerts_.back().sequence;
}

void AlertLog::WriteRecord(const Alert& alert) {
  if (!WriteAll(fd_, EncodeRecord(alert)) ||
      (options_.sync && ::fdatasync(fd_) != 0)) {
    ++write_errors_;
  }
}

void AlertLog::Retire() {
  if (alerts_.empty()) return;
  const uint64_t newest = alerts_.back().time_ns;
  const uint64_t max_age = static_cast<uint64_t>(options_.max_age.count());
  while (alerts_.size() > 1 && (alerts_.size() > options_.max_alerts ||
                                (max_age > 0 && newest > max_age &&
                                 alerts_.front().time_ns < newest - max_age))) {
    alerts_.pop_front();
    ++first_;
    ++retired_;
    ++retired_on_disk_;
  }
  if (fd_ >= 0 && retired_on_disk_ >= options_.max_alerts) {
    if (!Compact().ok()) ++write_errors_;
  }
}

Status AlertLog::Compact() {
  const std::string dir = options_.directory;
  const std::string path = dir + "/" + std::string(fmt::kAlertLogName);
  const std::string tmp = dir + "/" + std::string(fmt::kAlertLogTmpName);
  const int fd =
      ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("creating " + tmp, errno);
  std::string bytes = EncodeHeader(origin_);
  for (const Alert& a : alerts_) bytes += EncodeRecord(a);
  if (!WriteAll(fd, bytes) || ::fsync(fd) != 0 ||
      ::rename(tmp.c_str(), path.c_str()) != 0) {
    const Status s = Status::FromErrno("rewriting " + path, errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
  ::close(fd_);
  fd_ = fd;
  retired_on_disk_ = 0;
  return Status::Ok();
}

std::vector<Alert> AlertLog::Get(uint64_t t0_ns, uint64_t t1_ns,
                                 const std::string& trigger,
                                 size_t limit) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Alert> out;
  for (const Alert& a : alerts_) {
    if (a.time_ns < t0_ns || a.time_ns >= t1_ns) continue;
    if (!trigger.empty() && a.trigger != trigger) continue;
    out.push_back(a);
    if (limit != 0 && out.size() == limit) break;
  }
  return out;
}

AlertPage AlertLog::ReadAfter(uint64_t after, size_t limit) const {
  std::lock_guard<std::mutex> lock(mu_);
  AlertPage page;
  uint64_t next = after + 1;
  if (next < first_) {
    page.lost = first_ - next;
    next = first_;
  }
  const uint64_t end = first_ + alerts_.size();
  for (uint64_t s = next; s < end && page.alerts.size() < limit; ++s) {
    page.alerts.push_back(alerts_[s - first_]);
  }
  return page;
}

uint64_t AlertLog::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return alerts_.size();
}

uint64_t AlertLog::last_sequence() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_ + alerts_.size() - 1;
}

uint64_t AlertLog::first_sequence() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_;
}

uint64_t AlertLog::retired() const {
  std::lock_guard<std::mutex> lock(mu_);
  return retired_;
}

uint64_t AlertLog::write_errors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return write_errors_;
}

uint64_t AlertLog::Subscribe(Subscriber fn) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.emplace_back(next_subscriber_, std::move(fn));
  return next_subscriber_++;
}

void AlertLog::Unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(subscribers_, [id](const auto& s) { return s.first == id; });
}

}  // namespace loupe
