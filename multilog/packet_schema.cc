#include "multilog/packet_schema.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace loupe {

const Schema& PacketSchema() {
  // Leaked on purpose: a function-local static that is never destroyed, so
  // threads still running at exit can keep using it.
  static const Schema* const schema = [] {
    // The timestamp (offset 0) is implicit. Keep in step with PacketRecord.
    Result<Schema> result = Schema::Create({
        {"src_ip", ColumnType::kIpv6},
        {"dst_ip", ColumnType::kIpv6},
        {"src_port", ColumnType::kU16},
        {"dst_port", ColumnType::kU16},
        {"ip_len", ColumnType::kU16},
        {"frame_len", ColumnType::kU16},
        {"vni", ColumnType::kU32},
        {"vlan", ColumnType::kU16},
        {"ether_type", ColumnType::kU16},
        {"port", ColumnType::kU16},
        {"proto", ColumnType::kU8},
        {"tcp_flags", ColumnType::kU8},
        {"ttl", ColumnType::kU8},
        {"tos", ColumnType::kU8},
        {"flags", ColumnType::kU8},
        {"reserved", ColumnType::kU8},
    });
    if (!result.ok()) {
      // A bug in the table above, not a runtime condition.
      std::fprintf(stderr, "loupe: the packet schema is invalid: %s\n",
                   result.status().ToString().c_str());
      std::abort();
    }
    if (result->record_size() != sizeof(PacketRecord)) {
      std::fprintf(stderr,
                   "loupe: the packet schema is %zu bytes but PacketRecord is "
                   "%zu\n",
                   result->record_size(), sizeof(PacketRecord));
      std::abort();
    }
    return new Schema(std::move(result).value());
  }();
  return *schema;
}

}  // namespace loupe
