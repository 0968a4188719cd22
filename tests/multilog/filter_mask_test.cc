// FilterProgram::MatchMask must equal Matches record by record, for every
// program shape (single predicates with their fast loops, negations, sets,
// prefixes, compound programs) and every chunk length from 1 to 64.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "multilog/filter_program.h"
#include "multilog/packet_schema.h"

namespace loupe {
namespace {

TEST(FilterMaskTest, EqualsMatchesOnRandomRecords) {
  const char* const kExpressions[] = {
      "dst_port == 443",
      "proto == udp",
      "!(proto == tcp)",
      "ip_len > 1000",
      "ip_len <= 100",
      "tcp_flags == 2",
      "vni == 7",
      "timestamp >= 500",
      "dst_port in {22, 3389}",
      "dst_port in {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}",
      "!(dst_port in {53, 80})",
      "proto in {1, 6}",
      "src_ip in 10.1.0.0/16",
      "!(src_ip in 10.0.0.0/8)",
      "src_ip == 10.1.0.5",
      "src_ip in 2001:db8::/32",
      "dst_port == 443 && ip_len > 500",
      "dst_port == 53 || proto == icmp",
      "!(dst_port == 443 && proto == tcp) || ttl == 1",
  };
  std::mt19937_64 rng(42);
  std::vector<PacketRecord> records(64);
  for (int round = 0; round < 200; ++round) {
    for (PacketRecord& r : records) {
      r = PacketRecord{};
      r.timestamp = rng() % 1000;
      r.src_ip[10] = r.src_ip[11] = 0xff;
      r.src_ip[12] = static_cast<uint8_t>(rng() % 3 == 0 ? 10 : rng());
      r.src_ip[13] = static_cast<uint8_t>(rng() % 3);
      r.src_ip[15] = static_cast<uint8_t>(rng() % 8);
      if (rng() % 5 == 0) {
        r.src_ip[0] = 0x20, r.src_ip[1] = 0x01, r.src_ip[2] = 0x0d;
        r.src_ip[3] = 0xb8, r.src_ip[10] = r.src_ip[11] = 0;
      }
      static const uint16_t kPorts[] = {443, 53, 80, 22, 3389, 5, 17, 9999};
      r.dst_port = kPorts[rng() % 8];
      r.proto = static_cast<uint8_t>(rng() % 3 == 0 ? 17 : (rng() % 2 ? 6 : 1));
      r.ip_len = static_cast<uint16_t>(rng() % 1500);
      r.tcp_flags = static_cast<uint8_t>(rng() % 4);
      r.vni = static_cast<uint32_t>(rng() % 10);
      r.ttl = static_cast<uint8_t>(rng() % 3);
    }
    for (const char* expr : kExpressions) {
      Result<FilterProgram> p = FilterProgram::Compile(PacketSchema(), expr);
      ASSERT_TRUE(p.ok()) << expr << ": " << p.status().ToString();
      for (size_t count = 1; count <= 64; count += 1 + rng() % 7) {
        uint64_t expected = 0;
        for (size_t i = 0; i < count; ++i) {
          const auto* rec = reinterpret_cast<const uint8_t*>(&records[i]);
          if (p->Matches(rec)) expected |= uint64_t{1} << i;
        }
        const uint64_t got =
            p->MatchMask(reinterpret_cast<const uint8_t*>(records.data()),
                         count, sizeof(PacketRecord));
        ASSERT_EQ(got, expected) << expr << " count " << count;
      }
    }
  }
}

}  // namespace
}  // namespace loupe
