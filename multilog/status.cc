#include "multilog/status.h"

#include <cerrno>
#include <cstring>

namespace loupe {

Status Status::FromErrno(std::string_view what, int err) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  Code code = Code::kIoError;
  if (err == ENOSPC || err == EDQUOT || err == ENOMEM || err == EFBIG) {
    code = Code::kResourceExhausted;
  } else if (err == ENOENT) {
    code = Code::kNotFound;
  }
  return Status(code, std::move(msg));
}

std::string_view Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      return "invalid argument";
    case Code::kNotFound:
      return "not found";
    case Code::kAlreadyExists:
      return "already exists";
    case Code::kFailedPrecondition:
      return "failed precondition";
    case Code::kResourceExhausted:
      return "resource exhausted";
    case Code::kOutOfRange:
      return "out of range";
    case Code::kExpired:
      return "expired";
    case Code::kCorruption:
      return "corruption";
    case Code::kIoError:
      return "I/O error";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kInternal:
      return "internal error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(CodeName(code_));
  s += ": ";
  s += message_;
  return s;
}

Status Status::Annotate(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Status(code_, std::move(msg));
}

}  // namespace loupe
