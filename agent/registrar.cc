#include "agent/registrar.h"

#include <algorithm>
#include <utility>

#include "agent/log.h"

namespace loupe::agent {
namespace {

constexpr auto kMinInterval = std::chrono::milliseconds(100);
constexpr auto kMaxInterval = std::chrono::seconds(60);

std::string Describe(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return "unreachable (" + status.error_message() + ")";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "no answer in time";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "it serves no Registry (is it a loupe-coordinator?)";
    default:
      return status.error_message();
  }
}

}  // namespace

Registrar::Registrar(RegistrarOptions options) : options_(std::move(options)) {
  grpc::ChannelArguments args;
  // Back within a second of the coordinator coming back.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 250);
  stub_ = v1::Registry::NewStub(grpc::CreateCustomChannel(
      options_.coordinator, grpc::InsecureChannelCredentials(), args));
  thread_ = std::thread([this] { Run(); });
}

Registrar::~Registrar() { Stop(); }

void Registrar::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (call_ != nullptr) call_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

RegistrarStats Registrar::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

bool Registrar::Wait(std::chrono::nanoseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

bool Registrar::Call(
    const std::function<grpc::Status(grpc::ClientContext*)>& rpc,
    grpc::Status* status) {
  grpc::ClientContext context;
  const auto timeout =
      std::min<std::chrono::nanoseconds>(interval_, options_.max_call_timeout);
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    call_ = &context;
  }
  *status = rpc(&context);
  std::lock_guard<std::mutex> lock(mu_);
  call_ = nullptr;
  return !stopping_;
}

void Registrar::Failed(const char* what, const grpc::Status& status) {
  const std::string error = std::string(what) + " at coordinator " +
                            options_.coordinator + ": " + Describe(status);
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.failures;
  stats_.registered = false;
  if (!failing_ || error != stats_.error) {
    Log(LogLevel::kWarn, error + "; retrying");
  }
  failing_ = true;
  stats_.error = error;
}

void Registrar::Succeeded() {
  std::lock_guard<std::mutex> lock(mu_);
  if (failing_) {
    Log(LogLevel::kInfo, "coordinator " + options_.coordinator +
                             " answers again (after: " + stats_.error + ")");
  }
  failing_ = false;
  stats_.registered = true;
  stats_.error.clear();
}

void Registrar::Run() {
  v1::RegisterRequest request;
  request.set_name(options_.name);
  request.set_address(options_.address);
  for (const auto& [k, v] : options_.labels) (*request.mutable_labels())[k] = v;
  request.set_start_time_ns(options_.start_time_ns);
  request.set_version(options_.version);
  v1::HeartbeatRequest beat;
  beat.set_name(options_.name);
  beat.set_start_time_ns(options_.start_time_ns);

  std::chrono::nanoseconds backoff = options_.first_backoff;
  bool need_register = true;
  for (;;) {
    grpc::Status status;
    if (need_register) {
      v1::RegisterResponse response;
      if (!Call(
              [&](grpc::ClientContext* c) {
                return stub_->Register(c, request, &response);
              },
              &status)) {
        return;
      }
      if (!status.ok()) {
        Failed("registration", status);
        if (!Wait(backoff)) return;
        backoff = std::min<std::chrono::nanoseconds>(backoff * 2,
                                                     options_.max_backoff);
        continue;
      }
      interval_ = std::clamp<std::chrono::nanoseconds>(
          std::chrono::nanoseconds(response.heartbeat_interval_ns()),
          kMinInterval, kMaxInterval);
      Succeeded();
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.registrations;
      }
      Log(LogLevel::kInfo,
          "registered with coordinator " + response.coordinator() + " at " +
              options_.coordinator + " as " + options_.name + " (" +
              options_.address + "); heartbeat every " +
              std::to_string(interval_.count() / 1'000'000) + "ms" +
              (response.configured() ? " (it lists this agent in its file)"
                                     : ""));
      need_register = false;
      backoff = options_.first_backoff;
    } else {
      v1::HeartbeatResponse response;
      if (!Call(
              [&](grpc::ClientContext* c) {
                return stub_->Heartbeat(c, beat, &response);
              },
              &status)) {
        return;
      }
      if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
        Log(LogLevel::kInfo, "coordinator " + options_.coordinator +
                                 " does not know this agent (" +
                                 status.error_message() +
                                 "); registering again");
        need_register = true;
        continue;
      }
      if (!status.ok()) {
        Failed("heartbeat", status);
      } else {
        Succeeded();
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.heartbeats;
      }
    }
    if (!Wait(interval_)) return;
  }
}

}  // namespace loupe::agent
