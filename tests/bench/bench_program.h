// The control programs the benchmarks share, so the multilog and the
// dataplane benchmarks measure the same configurations:
//   a: one index, on src_ip
//   b: 10 filters, an aggregate on each, 1,000 triggers on the aggregates
//      (thresholds that never fire)
#ifndef LOUPE_TESTS_BENCH_BENCH_PROGRAM_H_
#define LOUPE_TESTS_BENCH_BENCH_PROGRAM_H_

#include <string>

#include "multilog/multilog.h"

namespace loupe::bench {

inline constexpr const char* kFilters[][2] = {
    {"https", "dst_port == 443"},      {"http", "dst_port == 80"},
    {"udp", "proto == udp"},           {"dns", "dst_port == 53"},
    {"net1", "src_ip in 10.1.0.0/16"}, {"big", "ip_len > 1000"},
    {"syn", "tcp_flags == 2"},         {"admin", "dst_port in {22, 3389}"},
    {"not_tcp", "!(proto == tcp)"},    {"iperf", "dst_port == 5201"},
};
inline constexpr const char* kAggregates[][3] = {
    {"https_count", "https", "COUNT()"},
    {"http_bytes", "http", "SUM(ip_len)"},
    {"udp_bytes", "udp", "SUM(ip_len)"},
    {"dns_count", "dns", "COUNT()"},
    {"net1_p99", "net1", "P99(ip_len)"},
    {"big_max", "big", "MAX(ip_len)"},
    {"syn_count", "syn", "COUNT()"},
    {"admin_count", "admin", "COUNT()"},
    {"not_tcp_min", "not_tcp", "MIN(ip_len)"},
    {"iperf_bytes", "iperf", "SUM(ip_len)"},
};

inline bool AddIndexProgram(Multilog& log) {
  return log.AddIndex({"src_ip", 0}).ok();
}

inline bool AddFilterProgram(Multilog& log) {
  for (const auto& f : kFilters) {
    if (!log.AddFilter(f[0], f[1]).ok()) return false;
  }
  for (const auto& a : kAggregates) {
    if (!log.AddAggregate(a[0], a[1], a[2]).ok()) return false;
  }
  for (int t = 0; t < 1000; ++t) {
    const auto& a = kAggregates[t % 10];
    const std::string cond =
        std::string(a[0]) + " > " + std::to_string(1e6 + t);
    if (!log.AddTrigger("t" + std::to_string(t), cond).ok()) return false;
  }
  return true;
}

}  // namespace loupe::bench

#endif  // LOUPE_TESTS_BENCH_BENCH_PROGRAM_H_
