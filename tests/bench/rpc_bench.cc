// The agent's gRPC API over loopback: a real AgentService on 127.0.0.1 (a
// free port) and real client stubs in this process.
//
//   append_batch/threads:N  AppendBatch of 4,096 64-byte records (packet
//     schema, 256 KiB per call) into a user multilog, from N client
//     threads, each reusing one request; 256 calls per thread. Counter:
//     records/s (target >= 5 M/s on the 2-core machine).
//   append_stream  the same batches on one AppendStream call.
//   get_aggregate  GetAggregate (SUM over a filter) over a 1 s window of
//     1 M records, round trip; time per call (target < 1 ms).
//
// Rates vary with the machine; nothing here asserts a time.
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "agent/multilog_registry.h"
#include "agent/proto/loupe.grpc.pb.h"
#include "agent/rpc_server.h"
#include "agent/service.h"
#include "multilog/packet_schema.h"

namespace loupe::agent {
namespace {

constexpr size_t kBatchRecords = 4096;
constexpr int kCallsPerThread = 256;
constexpr uint64_t kBaseNs = 1'700'000'000'000'000'000ull;
constexpr uint64_t kAggregateRecords = 1'000'000;  // over 1 s
constexpr uint64_t kLogBytes = 1ull << 30;

// The server, its multilogs and a channel to it, set up once.
struct Loopback {
  Loopback() {
    RegistryOptions options;
    options.writers_per_multilog = 4;
    registry = std::make_unique<MultilogRegistry>(options);
    service = std::make_unique<AgentService>(registry.get(), "bench");
    std::string error;
    int port = 0;
    server = StartServer("127.0.0.1:0", service.get(), &error, &port);
    if (server == nullptr) {
      std::fprintf(stderr, "rpc_bench: %s\n", error.c_str());
      std::abort();
    }
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);
    args.SetMaxReceiveMessageSize(-1);
    channel =
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                  grpc::InsecureChannelCredentials(), args);
    Create("append", kLogBytes);
    Create("aggregate", kAggregateRecords * sizeof(PacketRecord) + (64 << 20));
    Prepare();
  }

  void Create(const std::string& name, uint64_t bytes) {
    MultilogSpec spec;
    spec.name = name;
    spec.schema = "packet";
    // Warm memory, as retention's recycled blocks would give: the whole
    // capacity is pre-faulted when the multilog opens (about 700 MB are
    // appended in all), so the runs measure the RPC path, not page faults.
    // (Not retention itself: writers that outrun the allocator wait inside
    // Multilog::Writer::Append's RCU read-side section while the
    // maintenance thread waits for a grace period to retire blocks -- a
    // hang, reported.)
    spec.preallocate_bytes = bytes;
    spec.capacity_bytes = bytes;
    if (!registry->Create(spec).ok()) std::abort();
  }

  // 1 M records over 1 s of data time into "aggregate", with a filter and
  // a SUM on it, appended in-process.
  void Prepare() {
    Multilog& ml = **registry->Find("aggregate");
    if (!ml.AddFilter("tcp", "proto == tcp").ok() ||
        !ml.AddAggregate("tcp_bytes", "tcp", "SUM(ip_len)").ok()) {
      std::abort();
    }
    auto lease = registry->BorrowWriter("aggregate");
    std::vector<PacketRecord> batch(kBatchRecords);
    for (uint64_t i = 0; i < kAggregateRecords; i += kBatchRecords) {
      const size_t n = std::min<uint64_t>(kBatchRecords, kAggregateRecords - i);
      for (size_t j = 0; j < n; ++j) {
        PacketRecord& r = batch[j];
        r = PacketRecord{};
        r.timestamp = kBaseNs + (i + j) * 1000;  // 1 us apart
        r.proto = (i + j) % 4 == 0 ? 17 : 6;
        r.ip_len = static_cast<uint16_t>(64 + (i + j) % 1400);
      }
      if (!lease->writer()
               .Append(batch.data(), n * sizeof(PacketRecord))
               .ok()) {
        std::abort();
      }
    }
  }

  std::unique_ptr<MultilogRegistry> registry;
  std::unique_ptr<AgentService> service;
  std::unique_ptr<grpc::Server> server;
  std::shared_ptr<grpc::Channel> channel;
};

Loopback& Server() {
  static Loopback* loopback = new Loopback();  // lives until exit
  return *loopback;
}

std::string Batch(uint64_t first) {
  std::string records(kBatchRecords * sizeof(PacketRecord), '\0');
  for (size_t j = 0; j < kBatchRecords; ++j) {
    PacketRecord r{};
    r.timestamp = kBaseNs + first + j;
    r.proto = 6;
    r.ip_len = static_cast<uint16_t>(64 + j % 1400);
    std::memcpy(records.data() + j * sizeof(r), &r, sizeof(r));
  }
  return records;
}

void BM_AppendBatch(benchmark::State& state) {
  Loopback& loopback = Server();
  auto stub = v1::Agent::NewStub(loopback.channel);
  v1::AppendBatchRequest request;
  request.set_multilog("append");
  request.set_records(Batch(0));
  v1::AppendResponse response;
  for (auto _ : state) {
    grpc::ClientContext ctx;
    grpc::Status s = stub->AppendBatch(&ctx, request, &response);
    if (!s.ok()) {
      state.SkipWithError(s.error_message().c_str());
      return;
    }
  }
  state.counters["records/s"] = benchmark::Counter(
      static_cast<double>(kBatchRecords) * state.iterations(),
      benchmark::Counter::kIsRate);
}

void BM_AppendStream(benchmark::State& state) {
  Loopback& loopback = Server();
  auto stub = v1::Agent::NewStub(loopback.channel);
  v1::AppendBatchRequest request;
  request.set_multilog("append");
  request.set_records(Batch(0));
  for (auto _ : state) {
    grpc::ClientContext ctx;
    v1::AppendStreamResponse response;
    auto writer = stub->AppendStream(&ctx, &response);
    for (int i = 0; i < kCallsPerThread; ++i) {
      if (!writer->Write(request)) break;
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    if (!s.ok() || response.records() != kCallsPerThread * kBatchRecords) {
      state.SkipWithError(s.ok() ? "short stream" : s.error_message().c_str());
      return;
    }
  }
  state.counters["records/s"] = benchmark::Counter(
      static_cast<double>(kBatchRecords) * kCallsPerThread * state.iterations(),
      benchmark::Counter::kIsRate);
}

void BM_GetAggregate(benchmark::State& state) {
  Loopback& loopback = Server();
  auto stub = v1::Agent::NewStub(loopback.channel);
  v1::GetAggregateRequest request;
  request.set_multilog("aggregate");
  request.set_name("tcp_bytes");
  request.set_t0_ns(kBaseNs);
  request.set_t1_ns(kBaseNs + 1'000'000'000);
  v1::GetAggregateResponse response;
  for (auto _ : state) {
    grpc::ClientContext ctx;
    grpc::Status s = stub->GetAggregate(&ctx, request, &response);
    if (!s.ok()) {
      state.SkipWithError(s.error_message().c_str());
      return;
    }
  }
  state.counters["records"] = static_cast<double>(response.count());
  state.counters["value"] = response.value();
}

BENCHMARK(BM_AppendBatch)
    ->Name("append_batch")
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(kCallsPerThread)
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->UseRealTime();
BENCHMARK(BM_AppendStream)
    ->Name("append_stream")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(4)
    ->UseRealTime();
BENCHMARK(BM_GetAggregate)
    ->Name("get_aggregate")
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(2000)
    ->UseRealTime();

}  // namespace
}  // namespace loupe::agent

BENCHMARK_MAIN();
