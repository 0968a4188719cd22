// Status and Result<T>: errors as values for every control-path call of the
// multilog (open, schema, append validation, reads). A Status is OK or a code
// plus a message written for the operator ("schema: column 3 'src_ip' is
// declared twice"); an OK Status allocates nothing, so returning one from a
// hot function is as cheap as returning an enum. Both types are
// [[nodiscard]]. Value types: copy and move freely; not synchronized.
#ifndef LOUPE_MULTILOG_STATUS_H_
#define LOUPE_MULTILOG_STATUS_H_

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace loupe {

class [[nodiscard]] Status {
 public:
  // The codes map one to one onto gRPC codes at the RPC boundary, except
  // kExpired (OUT_OF_RANGE) and kCorruption/kIoError (DATA_LOSS/INTERNAL).
  enum class Code : uint8_t {
    kOk = 0,
    kInvalidArgument,
    kNotFound,
    kAlreadyExists,
    kFailedPrecondition,
    kResourceExhausted,
    kOutOfRange,
    kExpired,  // the data existed but retention has retired it
    kCorruption,
    kIoError,
    kUnavailable,
    kInternal,
  };

  Status() = default;  // OK

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status NotFound(std::string msg) {
    return Status(Code::kNotFound, std::move(msg));
  }
  static Status AlreadyExists(std::string msg) {
    return Status(Code::kAlreadyExists, std::move(msg));
  }
  static Status FailedPrecondition(std::string msg) {
    return Status(Code::kFailedPrecondition, std::move(msg));
  }
  static Status ResourceExhausted(std::string msg) {
    return Status(Code::kResourceExhausted, std::move(msg));
  }
  static Status OutOfRange(std::string msg) {
    return Status(Code::kOutOfRange, std::move(msg));
  }
  static Status Expired(std::string msg) {
    return Status(Code::kExpired, std::move(msg));
  }
  static Status Corruption(std::string msg) {
    return Status(Code::kCorruption, std::move(msg));
  }
  static Status IoError(std::string msg) {
    return Status(Code::kIoError, std::move(msg));
  }
  // An I/O error from errno: "<what>: <strerror(err)>".
  static Status FromErrno(std::string_view what, int err);
  static Status Unavailable(std::string msg) {
    return Status(Code::kUnavailable, std::move(msg));
  }
  static Status Internal(std::string msg) {
    return Status(Code::kInternal, std::move(msg));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "OK" or "<code name>: <message>".
  std::string ToString() const;
  static std::string_view CodeName(Code code);

  // Prefixes the message with context: "opening /var/loupe: <message>".
  Status Annotate(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none. Constructing a
// Result from an OK Status is a programming error and yields kInternal.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status::Internal("Result built from OK");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // Calling these on an error is a programming error (asserted).
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace loupe

// Returns early from the calling function when `expr` is not OK.
#define LOUPE_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::loupe::Status loupe_status_ = (expr);        \
    if (!loupe_status_.ok()) return loupe_status_; \
  } while (0)

#endif  // LOUPE_MULTILOG_STATUS_H_
