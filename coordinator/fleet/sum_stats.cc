#include "coordinator/fleet/sum_stats.h"

#include <map>
#include <string>

namespace loupe::coordinator {

void SumStats(
    const std::vector<const v1::StatsResponse*>& parts, v1::PortStats* total,
    google::protobuf::RepeatedPtrField<v1::MultilogStats>* multilogs) {
  total->Clear();
  total->set_name("total");
  std::map<std::string, int> drop_at;  // reason -> index in total->drops
  std::map<std::string, v1::MultilogStats> by_name;
  for (const v1::StatsResponse* p : parts) {
    if (p->has_dataplane()) {
      const v1::PortStats& t = p->dataplane().total();
      total->set_received(total->received() + t.received());
      total->set_received_bytes(total->received_bytes() + t.received_bytes());
      total->set_recorded(total->recorded() + t.recorded());
      total->set_recorded_bytes(total->recorded_bytes() + t.recorded_bytes());
      total->set_dropped(total->dropped() + t.dropped());
      for (const v1::DropCount& d : t.drops()) {
        auto [it, fresh] = drop_at.try_emplace(d.reason(), total->drops_size());
        if (fresh) total->add_drops()->set_reason(d.reason());
        v1::DropCount* sum = total->mutable_drops(it->second);
        sum->set_count(sum->count() + d.count());
      }
    }
    for (const v1::MultilogStats& m : p->multilogs()) {
      v1::MultilogStats& sum = by_name[m.name()];
      sum.set_name(m.name());
      sum.set_record_size(m.record_size());
      sum.set_records(sum.records() + m.records());
      sum.set_memory_bytes(sum.memory_bytes() + m.memory_bytes());
      sum.set_data_memory_bytes(sum.data_memory_bytes() +
                                m.data_memory_bytes());
      sum.set_alerts(sum.alerts() + m.alerts());
      sum.set_alloc_stalls(sum.alloc_stalls() + m.alloc_stalls());
    }
  }
  multilogs->Clear();
  for (auto& [name, m] : by_name) *multilogs->Add() = std::move(m);
}

}  // namespace loupe::coordinator
