// AgentService: Stats (the dataplane's and the multilogs' counters, and
// the RPC methods') and Health.
#include <chrono>

#include "agent/internal/service_internal.h"
#include "agent/internal/snapshot_resolve.h"
#include "agent/service.h"

#ifndef LOUPE_VERSION
#define LOUPE_VERSION "unknown"
#endif

namespace loupe::agent {
namespace {

void FillPort(const dataplane::PortStats& p, v1::PortStats* out) {
  out->set_name(p.name);
  out->set_device(p.device);
  out->set_port_id(p.port_id);
  out->set_received(p.received);
  out->set_received_bytes(p.received_bytes);
  out->set_recorded(p.recorded);
  out->set_recorded_bytes(p.recorded_bytes);
  out->set_dropped(p.dropped());
  for (size_t r = 0; r < dataplane::kNumDropReasons; ++r) {
    v1::DropCount* d = out->add_drops();
    d->set_reason(dataplane::DropReasonName(r));
    d->set_count(p.drops[r]);
  }
}

}  // namespace

grpc::Status AgentService::Stats(grpc::ServerContext*, const v1::StatsRequest*,
                                 v1::StatsResponse* response) {
  return Finish(kStats, [&]() -> grpc::Status {
    response->set_host(host_);
    response->set_uptime_ns(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::steady_clock::now() - started_)
            .count()));
    if (pipeline_stats_) {
      if (std::optional<dataplane::PipelineStats> p = pipeline_stats_()) {
        v1::DataplaneStats* out = response->mutable_dataplane();
        out->set_running(p->running);
        out->set_multilog(p->multilog);
        for (const dataplane::PortStats& port : p->ports) {
          FillPort(port, out->add_ports());
        }
        for (const dataplane::WriterStats& w : p->writers) {
          v1::WriterStats* ws = out->add_writers();
          ws->set_lcore(w.lcore);
          ws->set_batches(w.batches);
          ws->set_records(w.records);
          ws->set_ring_used(w.ring_used);
        }
        FillPort(p->total, out->mutable_total());
        v1::ClockStats* clock = out->mutable_clock();
        clock->set_reanchors(p->clock.reanchors);
        clock->set_last_offset_ns(p->clock.last_offset_ns);
        clock->set_max_abs_offset_ns(p->clock.max_abs_offset_ns);
        clock->set_steps_forward(p->clock.steps_forward);
      }
    }
    for (const HostedMultilog& h : registry_->List()) {
      const DataLog& data = h.multilog->data_log();
      DataLogStats s = data.stats();
      s.read_tail =
          internal::ShownReadTail(*snapshots_, *h.multilog, s.read_tail);
      v1::MultilogStats* out = response->add_multilogs();
      out->set_name(h.name);
      out->set_record_size(static_cast<uint32_t>(data.record_size()));
      out->set_write_tail(s.write_tail);
      out->set_read_tail(s.read_tail);
      out->set_head(s.head);
      out->set_durable_tail(s.durable_tail);
      out->set_blocks_live(s.blocks_live);
      out->set_blocks_allocated(s.blocks_allocated);
      out->set_blocks_recycled(s.blocks_recycled);
      out->set_blocks_retired(s.blocks_retired);
      out->set_alloc_stalls(s.alloc_stalls);
      out->set_commits(s.commits);
      out->set_data_memory_bytes(s.memory_bytes);
      out->set_memory_bytes(h.multilog->memory_bytes());
      out->set_alerts(h.multilog->alerts().size());
      out->set_records((s.read_tail > s.head ? s.read_tail - s.head : 0) /
                       data.record_size());
    }
    for (const RpcMethodStats& m : rpc_stats()) {
      v1::RpcMethodStats* out = response->add_rpc();
      out->set_method(m.method);
      out->set_calls(m.calls);
      out->set_errors(m.errors);
    }
    return grpc::Status::OK;
  }());
}

grpc::Status AgentService::Health(grpc::ServerContext*,
                                  const v1::HealthRequest*,
                                  v1::HealthResponse* response) {
  const bool serving =
      !shutting_down() && ready_.load(std::memory_order_acquire);
  response->set_status(serving ? v1::HealthResponse::SERVING
                               : v1::HealthResponse::NOT_SERVING);
  response->set_version(LOUPE_VERSION);
  response->set_host(host_);
  response->set_uptime_ns(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now() - started_)
          .count()));
  response->set_start_time_ns(start_time_ns_);
  return Finish(kHealth, grpc::Status::OK);
}

}  // namespace loupe::agent
