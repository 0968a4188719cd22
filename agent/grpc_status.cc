#include "agent/grpc_status.h"

namespace loupe::agent {

grpc::Status ToGrpcStatus(const Status& status) {
  using C = grpc::StatusCode;
  C code = C::INTERNAL;
  switch (status.code()) {
    case Status::Code::kOk:
      return grpc::Status::OK;
    case Status::Code::kInvalidArgument:
      code = C::INVALID_ARGUMENT;
      break;
    case Status::Code::kNotFound:
      code = C::NOT_FOUND;
      break;
    case Status::Code::kAlreadyExists:
      code = C::ALREADY_EXISTS;
      break;
    case Status::Code::kFailedPrecondition:
      code = C::FAILED_PRECONDITION;
      break;
    case Status::Code::kResourceExhausted:
      code = C::RESOURCE_EXHAUSTED;
      break;
    case Status::Code::kOutOfRange:
    case Status::Code::kExpired:
      code = C::OUT_OF_RANGE;
      break;
    case Status::Code::kCorruption:
      code = C::DATA_LOSS;
      break;
    case Status::Code::kUnavailable:
      code = C::UNAVAILABLE;
      break;
    case Status::Code::kIoError:
    case Status::Code::kInternal:
      code = C::INTERNAL;
      break;
  }
  return grpc::Status(code, status.message());
}

}  // namespace loupe::agent
