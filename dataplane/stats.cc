#include "dataplane/stats.h"

namespace loupe::dataplane {

const char* DropReasonName(size_t reason) {
  static constexpr const char* kFixed[] = {"nic_missed", "rx_nombuf",
                                           "ring_full", "log_full"};
  static constexpr const char* kParse[] = {
      "parse_runt",
      "parse_truncated_vlan",
      "parse_too_many_vlans",
      "parse_truncated_ipv4",
      "parse_bad_ipv4_header",
      "parse_truncated_ipv6",
      "parse_bad_ipv6_header",
      "parse_bad_ipv6_ext_headers",
      "parse_truncated_l4",
      "parse_bad_tcp_header",
      "parse_bad_vxlan",
  };
  static_assert(std::size(kParse) == kNumParseResults - 1,
                "one name per parse error");
  if (reason < kDropParseFirst) return kFixed[reason];
  if (reason < kNumDropReasons) return kParse[reason - kDropParseFirst];
  return "unknown";
}

}  // namespace loupe::dataplane
