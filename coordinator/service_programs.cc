// CoordinatorService: programs across the agents (ApplyProgram,
// DiffProgram, ListPrograms, RemoveProgram) over the ProgramManager
// (coordinator/program_manager.h), which checks, fans out, rolls back and
// keeps the desired state; this file only translates.
#include <chrono>

#include "agent/grpc_status.h"
#include "coordinator/program_manager.h"
#include "coordinator/service.h"

namespace loupe::coordinator {
namespace {

grpc::Status NotServing(bool shutting_down) {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      shutting_down
                          ? "the coordinator is shutting down"
                          : "the coordinator's programs are not running");
}

template <typename Response>
grpc::Status Answer(Result<Response> result, Response* response) {
  if (!result.ok()) return agent::ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status CoordinatorService::ApplyProgram(
    grpc::ServerContext* context, const v1::FleetApplyProgramRequest* request,
    v1::FleetApplyProgramResponse* response) {
  const bool stopping = shutting_down_.load(std::memory_order_acquire);
  if (stopping || programs_ == nullptr) return NotServing(stopping);
  return Answer(programs_->Apply(*request, context->deadline()), response);
}

grpc::Status CoordinatorService::DiffProgram(
    grpc::ServerContext* context, const v1::FleetDiffProgramRequest* request,
    v1::FleetApplyProgramResponse* response) {
  const bool stopping = shutting_down_.load(std::memory_order_acquire);
  if (stopping || programs_ == nullptr) return NotServing(stopping);
  return Answer(programs_->Diff(*request, context->deadline()), response);
}

grpc::Status CoordinatorService::ListPrograms(
    grpc::ServerContext* context, const v1::FleetListProgramsRequest* request,
    v1::FleetListProgramsResponse* response) {
  const bool stopping = shutting_down_.load(std::memory_order_acquire);
  if (stopping || programs_ == nullptr) return NotServing(stopping);
  return Answer(programs_->List(*request, context->deadline()), response);
}

grpc::Status CoordinatorService::RemoveProgram(
    grpc::ServerContext* context, const v1::FleetRemoveProgramRequest* request,
    v1::FleetApplyProgramResponse* response) {
  const bool stopping = shutting_down_.load(std::memory_order_acquire);
  if (stopping || programs_ == nullptr) return NotServing(stopping);
  return Answer(programs_->Remove(*request, context->deadline()), response);
}

}  // namespace loupe::coordinator
