// IndexLog: order-preserving keys for every column type, lookups against a
// brute-force scan of the same records, bucketing, CIDR prefixes on
// v4-mapped addresses, start_offset, snapshots and the errors of Create.
#include "multilog/index_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "multilog/packet_schema.h"
#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe {
namespace {

constexpr std::string_view kAllTypes =
    "flag:bool, a_u8:u8, a_u16:u16, a_u32:u32, a_u64:u64, a_i8:i8, "
    "a_i16:i16, a_i32:i32, a_i64:i64, a_f32:f32, a_f64:f64, v4:ipv4, "
    "v6:ipv6, hw:mac, name:string(8), path:string(24)";

Schema MustParse(std::string_view text) {
  Result<Schema> schema = Schema::Parse(text);
  EXPECT_TRUE(schema.ok()) << schema.status().ToString();
  return std::move(schema).value();
}

std::unique_ptr<IndexLog> MustCreate(const Schema& schema, IndexSpec spec,
                                     uint64_t start = 0) {
  Result<std::unique_ptr<IndexLog>> index =
      IndexLog::Create(schema, spec, start);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  return index.ok() ? std::move(index).value() : nullptr;
}

// Records of one schema in one buffer, as a writer's batch lays them out.
class Records {
 public:
  Records(const Schema& schema, size_t n)
      : schema_(schema), bytes_(n * schema.record_size()) {}
  size_t size() const { return bytes_.size() / schema_.record_size(); }
  size_t record_size() const { return schema_.record_size(); }
  const uint8_t* data() const { return bytes_.data(); }
  uint8_t* Field(size_t i, const Column& c) {
    return bytes_.data() + i * record_size() + c.offset;
  }
  const uint8_t* Field(size_t i, const Column& c) const {
    return bytes_.data() + i * record_size() + c.offset;
  }
  template <class T>
  void Set(size_t i, const Column& c, T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    ASSERT_EQ(sizeof(T), c.width);
    std::memcpy(Field(i, c), &v, sizeof(v));
  }

 private:
  const Schema& schema_;
  std::vector<uint8_t> bytes_;
};

template <class T>
T Get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <class T>
std::vector<uint8_t> Bytes(T v) {
  std::vector<uint8_t> b(sizeof(v));
  std::memcpy(b.data(), &v, sizeof(v));
  return b;
}

std::vector<uint64_t> Collect(
    const std::function<void(const std::function<void(uint64_t)>&)>& lookup) {
  std::vector<uint64_t> out;
  lookup([&](uint64_t o) { out.push_back(o); });
  std::sort(out.begin(), out.end());
  return out;
}

// Offsets (record i at i * record_size) whose field satisfies `pred`.
std::vector<uint64_t> Scan(const Records& r, const Column& c,
                           const std::function<bool(const uint8_t*)>& pred,
                           uint64_t snapshot = UINT64_MAX) {
  std::vector<uint64_t> out;
  for (size_t i = 0; i < r.size(); ++i) {
    const uint64_t offset = i * r.record_size();
    if (offset < snapshot && pred(r.Field(i, c))) out.push_back(offset);
  }
  return out;
}

int CompareKeys(const IndexLog& index, const uint8_t* a, const uint8_t* b) {
  const RadixTree::Key ka = index.EncodeKey(a);
  const RadixTree::Key kb = index.EncodeKey(b);
  return std::memcmp(ka.bytes, kb.bytes, index.key_bytes());
}

int Sign(int v) { return (v > 0) - (v < 0); }

// For a numeric column of C++ type T: keys sort like the values, and
// Equal/Range agree with a scan.
template <class T>
void CheckNumericColumn(const char* name, std::vector<T> values) {
  SCOPED_TRACE(name);
  const Schema schema = MustParse(kAllTypes);
  std::unique_ptr<IndexLog> index = MustCreate(schema, {name, 0});
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(index->exact());
  const Column& c = index->column();
  EXPECT_EQ(c.name, name);
  EXPECT_EQ(index->key_bytes(), sizeof(T));
  for (T a : values) {
    for (T b : values) {
      const std::vector<uint8_t> ba = Bytes(a);
      const std::vector<uint8_t> bb = Bytes(b);
      const int want = a < b ? -1 : (b < a ? 1 : 0);
      ASSERT_EQ(Sign(CompareKeys(*index, ba.data(), bb.data())), want)
          << +a << " vs " << +b;
    }
  }
  Records records(schema, values.size() * 3);
  for (size_t i = 0; i < records.size(); ++i) {
    records.Set(i, c, values[(i * 7) % values.size()]);
  }
  index->InsertBatch(records.data(), records.size(), records.record_size(), 0);
  EXPECT_EQ(index->entries(), records.size());
  for (T v : values) {
    const std::vector<uint8_t> b = Bytes(v);
    EXPECT_EQ(
        Collect([&](auto fn) { index->Equal(b.data(), UINT64_MAX, fn); }),
        Scan(records, c, [&](const uint8_t* p) { return Get<T>(p) == v; }))
        << +v;
  }
  for (T lo : values) {
    for (T hi : values) {
      const std::vector<uint8_t> bl = Bytes(lo);
      const std::vector<uint8_t> bh = Bytes(hi);
      ASSERT_EQ(Collect([&](auto fn) {
                  index->Range(bl.data(), bh.data(), UINT64_MAX, fn);
                }),
                Scan(records, c,
                     [&](const uint8_t* p) {
                       const T x = Get<T>(p);
                       return !(x < lo) && !(hi < x);
                     }))
          << "[" << +lo << ", " << +hi << "]";
    }
  }
}

TEST(IndexLogKeyTest, UnsignedSortByValue) {
  CheckNumericColumn<uint8_t>("a_u8", {0, 1, 2, 127, 128, 200, 255});
  CheckNumericColumn<uint16_t>("a_u16",
                               {0, 1, 80, 255, 256, 443, 1000, 32768, 65535});
  CheckNumericColumn<uint32_t>(
      "a_u32", {0, 1, 255, 256, 65536, 0x7fffffff, 0x80000000, 0xffffffff});
  CheckNumericColumn<uint64_t>(
      "a_u64", {0, 1, 256, 1ull << 32, 1ull << 63, ~0ull - 1, ~0ull});
}

TEST(IndexLogKeyTest, SignedNegativesSortBelowPositives) {
  CheckNumericColumn<int8_t>("a_i8", {-128, -127, -2, -1, 0, 1, 126, 127});
  CheckNumericColumn<int16_t>(
      "a_i16", {-32768, -300, -256, -255, -1, 0, 1, 255, 256, 32767});
  CheckNumericColumn<int32_t>(
      "a_i32",
      {std::numeric_limits<int32_t>::min(), -1000000, -65536, -256, -255, -1, 0,
       1, 255, 256, 65536, 1000000, std::numeric_limits<int32_t>::max()});
  CheckNumericColumn<int64_t>(
      "a_i64", {std::numeric_limits<int64_t>::min(), -(1ll << 40), -1, 0, 1,
                1ll << 40, std::numeric_limits<int64_t>::max()});
}

TEST(IndexLogKeyTest, FloatsSortByValue) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  CheckNumericColumn<double>(
      "a_f64", {-kInf, -1e300, -2.5, -1.0, -1e-300, -0.0 + 0.0, 1e-300, 0.5,
                1.0, 2.5, 1e300, kInf, -std::numeric_limits<double>::min(),
                std::numeric_limits<double>::denorm_min()});
  constexpr float kInfF = std::numeric_limits<float>::infinity();
  CheckNumericColumn<float>("a_f32", {-kInfF, -3.5f, -1.0f, -1e-30f, 0.0f,
                                      1e-30f, 1.0f, 3.5f, kInfF});
}

TEST(IndexLogKeyTest, NegativeZeroEqualsZeroAndNanSortsLast) {
  const Schema schema = MustParse(kAllTypes);
  std::unique_ptr<IndexLog> index = MustCreate(schema, {"a_f64", 0});
  const Column& c = index->column();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  Records r(schema, 5);
  r.Set(0, c, 0.0);
  r.Set(1, c, -0.0);
  r.Set(2, c, nan);
  r.Set(3, c, -7.25);
  r.Set(4, c, inf);
  index->InsertBatch(r.data(), r.size(), r.record_size(), 0);
  const double zero = 0.0;
  const double neg_zero = -0.0;
  const uint64_t rs = r.record_size();
  EXPECT_EQ(Collect([&](auto fn) {
              index->Equal(reinterpret_cast<const uint8_t*>(&neg_zero),
                           UINT64_MAX, fn);
            }),
            (std::vector<uint64_t>{0, rs}));
  EXPECT_EQ(Collect([&](auto fn) {
              index->Equal(reinterpret_cast<const uint8_t*>(&zero), UINT64_MAX,
                           fn);
            }),
            (std::vector<uint64_t>{0, rs}));
  const double lo = -inf;
  EXPECT_EQ(Collect([&](auto fn) {
              index->Range(reinterpret_cast<const uint8_t*>(&lo),
                           reinterpret_cast<const uint8_t*>(&inf), UINT64_MAX,
                           fn);
            }),
            (std::vector<uint64_t>{0, rs, 3 * rs, 4 * rs}));
  EXPECT_EQ(Collect([&](auto fn) {
              index->Equal(reinterpret_cast<const uint8_t*>(&nan), UINT64_MAX,
                           fn);
            }),
            (std::vector<uint64_t>{2 * rs}));
}

TEST(IndexLogKeyTest, BoolIsOneByte) {
  const Schema schema = MustParse(kAllTypes);
  std::unique_ptr<IndexLog> index = MustCreate(schema, {"flag", 0});
  EXPECT_EQ(index->key_bytes(), 1u);
  const Column& c = index->column();
  Records r(schema, 4);
  const uint8_t values[] = {0, 1, 2, 0};  // any nonzero byte is true
  for (size_t i = 0; i < 4; ++i) *r.Field(i, c) = values[i];
  index->InsertBatch(r.data(), r.size(), r.record_size(), 0);
  const uint8_t t = 1;
  const uint8_t f = 0;
  const uint64_t rs = r.record_size();
  EXPECT_EQ(Collect([&](auto fn) { index->Equal(&t, UINT64_MAX, fn); }),
            (std::vector<uint64_t>{rs, 2 * rs}));
  EXPECT_EQ(Collect([&](auto fn) { index->Equal(&f, UINT64_MAX, fn); }),
            (std::vector<uint64_t>{0, 3 * rs}));
  EXPECT_EQ(
      Collect([&](auto fn) { index->Range(&f, &t, UINT64_MAX, fn); }).size(),
      4u);
}

// ipv4, ipv6, mac and string keys are the stored bytes.
TEST(IndexLogKeyTest, AddressAndStringKeysAreTheBytes) {
  const Schema schema = MustParse(kAllTypes);
  std::mt19937_64 rng(7);
  for (const char* name : {"v4", "v6", "hw", "name"}) {
    SCOPED_TRACE(name);
    std::unique_ptr<IndexLog> index = MustCreate(schema, {name, 0});
    const Column& c = index->column();
    EXPECT_EQ(index->key_bytes(), c.width);
    EXPECT_TRUE(index->exact());
    Records r(schema, 500);
    for (size_t i = 0; i < r.size(); ++i) {
      for (uint32_t b = 0; b < c.width; ++b) {
        // Few distinct values per byte: many shared prefixes.
        r.Field(i, c)[b] = static_cast<uint8_t>((rng() % 3) * 0x41);
      }
    }
    index->InsertBatch(r.data(), r.size(), r.record_size(), 0);
    for (int q = 0; q < 50; ++q) {
      const uint8_t* lo = r.Field(rng() % r.size(), c);
      const uint8_t* hi = r.Field(rng() % r.size(), c);
      const RadixTree::Key k = index->EncodeKey(lo);
      EXPECT_EQ(std::memcmp(k.bytes, lo, c.width), 0);
      EXPECT_EQ(Collect([&](auto fn) { index->Equal(lo, UINT64_MAX, fn); }),
                Scan(r, c, [&](const uint8_t* p) {
                  return std::memcmp(p, lo, c.width) == 0;
                }));
      EXPECT_EQ(Collect([&](auto fn) { index->Range(lo, hi, UINT64_MAX, fn); }),
                Scan(r, c, [&](const uint8_t* p) {
                  return std::memcmp(p, lo, c.width) >= 0 &&
                         std::memcmp(p, hi, c.width) <= 0;
                }));
      const uint32_t bits = static_cast<uint32_t>(rng() % (8 * c.width + 1));
      EXPECT_EQ(
          Collect([&](auto fn) { index->Prefix(lo, bits, UINT64_MAX, fn); }),
          Scan(r, c,
               [&](const uint8_t* p) {
                 for (uint32_t b = 0; b < bits; ++b) {
                   const uint8_t m = static_cast<uint8_t>(0x80 >> (b % 8));
                   if ((p[b / 8] & m) != (lo[b / 8] & m)) return false;
                 }
                 return true;
               }))
          << bits;
    }
  }
}

// A string longer than 16 bytes is keyed by its first 16: candidates.
TEST(IndexLogKeyTest, LongStringsGiveCandidates) {
  const Schema schema = MustParse(kAllTypes);
  std::unique_ptr<IndexLog> index = MustCreate(schema, {"path", 0});
  EXPECT_FALSE(index->exact());
  EXPECT_EQ(index->key_bytes(), 16u);
  const Column& c = index->column();
  Records r(schema, 3);
  std::memcpy(r.Field(0, c), "/var/log/loupe/agent.log", 24);
  std::memcpy(r.Field(1, c), "/var/log/loupe/alert.log", 24);
  std::memcpy(r.Field(2, c), "/var/log/nginx/access.lo", 24);
  index->InsertBatch(r.data(), r.size(), r.record_size(), 0);
  const uint64_t rs = r.record_size();
  // Both loupe paths share 16 bytes: both are candidates.
  EXPECT_EQ(
      Collect([&](auto fn) { index->Equal(r.Field(0, c), UINT64_MAX, fn); }),
      (std::vector<uint64_t>{0, rs}));
  char prefix[24] = "/var/log/nginx";
  EXPECT_EQ(Collect([&](auto fn) {
              index->Prefix(reinterpret_cast<const uint8_t*>(prefix), 8 * 14,
                            UINT64_MAX, fn);
            }),
            (std::vector<uint64_t>{2 * rs}));
}

TEST(IndexLogBucketTest, UnsignedBucketsAreCandidates) {
  const Schema& schema = PacketSchema();
  std::unique_ptr<IndexLog> index = MustCreate(schema, {"ip_len", 64});
  ASSERT_NE(index, nullptr);
  EXPECT_FALSE(index->exact());
  EXPECT_EQ(index->spec().bucket, 64u);
  const Column& c = index->column();
  Records r(schema, 1500);
  for (size_t i = 0; i < r.size(); ++i) {
    r.Set(i, c, static_cast<uint16_t>(i));
  }
  index->InsertBatch(r.data(), r.size(), r.record_size(), 0);
  auto ip_len = [&](const uint8_t* p) { return Get<uint16_t>(p); };
  const std::vector<uint8_t> v100 = Bytes(uint16_t{100});
  EXPECT_EQ(
      Collect([&](auto fn) { index->Equal(v100.data(), UINT64_MAX, fn); }),
      Scan(r, c, [&](const uint8_t* p) {
        return ip_len(p) >= 64 && ip_len(p) < 128;
      }));
  const std::vector<uint8_t> v300 = Bytes(uint16_t{300});
  EXPECT_EQ(Collect([&](auto fn) {
              index->Range(v100.data(), v300.data(), UINT64_MAX, fn);
            }),
            Scan(r, c, [&](const uint8_t* p) {
              return ip_len(p) >= 64 && ip_len(p) < 320;
            }));
  // Same key for every value of a bucket, different across buckets.
  const std::vector<uint8_t> v127 = Bytes(uint16_t{127});
  const std::vector<uint8_t> v128 = Bytes(uint16_t{128});
  EXPECT_EQ(CompareKeys(*index, v100.data(), v127.data()), 0);
  EXPECT_LT(CompareKeys(*index, v127.data(), v128.data()), 0);
}

TEST(IndexLogBucketTest, SignedBucketsRoundTowardMinusInfinity) {
  const Schema schema = MustParse(kAllTypes);
  std::unique_ptr<IndexLog> index = MustCreate(schema, {"a_i32", 10});
  ASSERT_NE(index, nullptr);
  const Column& c = index->column();
  Records r(schema, 61);
  for (size_t i = 0; i < r.size(); ++i) {
    r.Set(i, c, static_cast<int32_t>(i) - 30);  // -30 .. 30
  }
  index->InsertBatch(r.data(), r.size(), r.record_size(), 0);
  auto value = [&](const uint8_t* p) { return Get<int32_t>(p); };
  const std::vector<uint8_t> minus5 = Bytes(int32_t{-5});
  EXPECT_EQ(
      Collect([&](auto fn) { index->Equal(minus5.data(), UINT64_MAX, fn); }),
      Scan(r, c, [&](const uint8_t* p) {
        return value(p) >= -10 && value(p) <= -1;
      }));
  const std::vector<uint8_t> plus5 = Bytes(int32_t{5});
  EXPECT_EQ(
      Collect([&](auto fn) { index->Equal(plus5.data(), UINT64_MAX, fn); }),
      Scan(r, c,
           [&](const uint8_t* p) { return value(p) >= 0 && value(p) <= 9; }));
  const std::vector<uint8_t> minus21 = Bytes(int32_t{-21});
  EXPECT_EQ(Collect([&](auto fn) {
              index->Range(minus21.data(), minus5.data(), UINT64_MAX, fn);
            }),
            Scan(r, c, [&](const uint8_t* p) {
              return value(p) >= -30 && value(p) <= -1;
            }));
  // Extremes stay in range and in order.
  std::unique_ptr<IndexLog> wide = MustCreate(schema, {"a_i64", 1000});
  const std::vector<uint8_t> lo = Bytes(std::numeric_limits<int64_t>::min());
  const std::vector<uint8_t> m1 = Bytes(int64_t{-1});
  const std::vector<uint8_t> zero = Bytes(int64_t{0});
  const std::vector<uint8_t> hi = Bytes(std::numeric_limits<int64_t>::max());
  EXPECT_LT(CompareKeys(*wide, lo.data(), m1.data()), 0);
  EXPECT_LT(CompareKeys(*wide, m1.data(), zero.data()), 0);
  EXPECT_LT(CompareKeys(*wide, zero.data(), hi.data()), 0);
  std::unique_ptr<IndexLog> huge = MustCreate(schema, {"a_i64", ~0ull});
  EXPECT_LT(CompareKeys(*huge, m1.data(), zero.data()), 0);
  EXPECT_EQ(CompareKeys(*huge, lo.data(), m1.data()), 0);
  EXPECT_EQ(CompareKeys(*huge, zero.data(), hi.data()), 0);
}

TEST(IndexLogBucketTest, BucketOneIsExact) {
  std::unique_ptr<IndexLog> index = MustCreate(PacketSchema(), {"dst_port", 1});
  EXPECT_TRUE(index->exact());
  std::unique_ptr<IndexLog> time =
      MustCreate(PacketSchema(), {"timestamp", 1'000'000});
  EXPECT_FALSE(time->exact());
}

// IPv4 traffic in an ipv6 column (::ffff:a.b.c.d) queried by CIDR block.
TEST(IndexLogPrefixTest, V4MappedCidrOnSrcIp) {
  const Schema& schema = PacketSchema();
  std::unique_ptr<IndexLog> index = MustCreate(schema, {"src_ip", 0});
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(index->exact());
  EXPECT_EQ(index->key_bytes(), 16u);
  const Column& c = index->column();
  auto v4 = [](uint8_t a, uint8_t b, uint8_t cc, uint8_t d) {
    std::vector<uint8_t> ip(16, 0);
    ip[10] = ip[11] = 0xff;
    ip[12] = a;
    ip[13] = b;
    ip[14] = cc;
    ip[15] = d;
    return ip;
  };
  std::mt19937_64 rng(99);
  Records r(schema, 4000);
  for (size_t i = 0; i < r.size(); ++i) {
    std::vector<uint8_t> ip;
    switch (rng() % 5) {
      case 0:
        ip = v4(10, 0, static_cast<uint8_t>(rng() % 4),
                static_cast<uint8_t>(rng()));
        break;
      case 1:
        ip =
            v4(10, 1, static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()));
        break;
      case 2:
        ip = v4(192, 168, 1, static_cast<uint8_t>(rng() % 16));
        break;
      case 3:
        ip = v4(static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()), 0, 1);
        break;
      default:
        ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
              0,    0,    0,    0,    0, 0, 0, static_cast<uint8_t>(rng())};
        break;
    }
    std::memcpy(r.Field(i, c), ip.data(), 16);
  }
  // Half of the batch first, then the rest, as two writers' batches.
  const size_t half = r.size() / 2;
  index->InsertBatch(r.data(), half, r.record_size(), 0);
  index->InsertBatch(r.data() + half * r.record_size(), r.size() - half,
                     r.record_size(), half * r.record_size());
  EXPECT_EQ(index->entries(), r.size());
  auto in_block = [&](const std::vector<uint8_t>& base, uint32_t bits) {
    return Scan(r, c, [&](const uint8_t* p) {
      for (uint32_t b = 0; b < bits; ++b) {
        const uint8_t m = static_cast<uint8_t>(0x80 >> (b % 8));
        if ((p[b / 8] & m) != (base[b / 8] & m)) return false;
      }
      return true;
    });
  };
  struct Block {
    std::vector<uint8_t> base;
    uint32_t bits;
    size_t at_least;
  };
  const Block blocks[] = {
      {v4(10, 0, 0, 0), 96 + 8, 1500},     // 10.0.0.0/8
      {v4(10, 0, 0, 0), 96 + 16, 600},     // 10.0.0.0/16
      {v4(10, 0, 2, 0), 96 + 23, 200},     // 10.0.2.0/23
      {v4(10, 1, 128, 0), 96 + 17, 300},   // 10.1.128.0/17
      {v4(192, 168, 1, 8), 96 + 29, 300},  // 192.168.1.8/29
      {v4(192, 168, 1, 3), 128, 20},       // one host
      {v4(0, 0, 0, 0), 96, 3000},          // every IPv4 address
      {v4(172, 16, 0, 0), 96 + 12, 0},     // 172.16.0.0/12
      {{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 32, 600},
  };
  for (const Block& block : blocks) {
    const std::vector<uint64_t> want = in_block(block.base, block.bits);
    EXPECT_GE(want.size(), block.at_least);
    EXPECT_EQ(Collect([&](auto fn) {
                index->Prefix(block.base.data(), block.bits, UINT64_MAX, fn);
              }),
              want)
        << "/" << block.bits;
  }
  // The equivalent Range gives the same answer.
  const std::vector<uint8_t> lo = v4(10, 0, 2, 0);
  const std::vector<uint8_t> hi = v4(10, 0, 3, 255);
  EXPECT_EQ(Collect([&](auto fn) {
              index->Range(lo.data(), hi.data(), UINT64_MAX, fn);
            }),
            in_block(lo, 96 + 23));
}

TEST(IndexLogTest, StartOffsetSkipsEarlierRecords) {
  const Schema& schema = PacketSchema();
  constexpr uint64_t kRs = sizeof(PacketRecord);
  // Installed while writers ran: covers offsets from 10 records in, not
  // on a batch boundary.
  std::unique_ptr<IndexLog> index =
      MustCreate(schema, {"dst_port", 0}, 10 * kRs);
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->start_offset(), 10 * kRs);
  const Column& c = index->column();
  Records r(schema, 32);
  for (size_t i = 0; i < r.size(); ++i) r.Set(i, c, uint16_t{443});
  // A batch entirely below start_offset is ignored.
  index->InsertBatch(r.data(), 8, kRs, 0);
  EXPECT_EQ(index->entries(), 0u);
  // A batch straddling it is indexed from start_offset on.
  index->InsertBatch(r.data(), 8, kRs, 8 * kRs);
  EXPECT_EQ(index->entries(), 6u);
  index->InsertBatch(r.data(), 16, kRs, 16 * kRs);
  const uint16_t port = 443;
  std::vector<uint64_t> want;
  for (uint64_t i = 10; i < 32; ++i) want.push_back(i * kRs);
  EXPECT_EQ(Collect([&](auto fn) {
              index->Equal(reinterpret_cast<const uint8_t*>(&port), UINT64_MAX,
                           fn);
            }),
            want);
}

// An index added while writers run: its owner raises start_offset after a
// grace period, and lookups then skip whatever was indexed below it.
TEST(IndexLogTest, RaiseStartOffsetHidesEarlierEntries) {
  const Schema& schema = PacketSchema();
  constexpr uint64_t kRs = sizeof(PacketRecord);
  std::unique_ptr<IndexLog> index = MustCreate(schema, {"src_port", 0}, 0);
  const Column& c = index->column();
  Records r(schema, 40);
  for (size_t i = 0; i < r.size(); ++i) r.Set(i, c, uint16_t{5353});
  index->InsertBatch(r.data(), 20, kRs, 0);
  index->RaiseStartOffset(15 * kRs);
  EXPECT_EQ(index->start_offset(), 15 * kRs);
  index->RaiseStartOffset(3 * kRs);  // never down
  EXPECT_EQ(index->start_offset(), 15 * kRs);
  // Records below the new start are no longer indexed either.
  index->InsertBatch(r.data(), 40, kRs, 0);
  const uint16_t port = 5353;
  std::vector<uint64_t> want;
  for (uint64_t i = 15; i < 30; ++i) want.push_back(i * kRs);
  const auto got = Collect([&](auto fn) {
    index->Equal(reinterpret_cast<const uint8_t*>(&port), 30 * kRs, fn);
  });
  EXPECT_EQ(got.size(), 20u);  // 15..19 twice, 20..29 once
  std::vector<uint64_t> unique = got;
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  EXPECT_EQ(unique, want);
  EXPECT_EQ(Collect([&](auto fn) {
              index->Range(reinterpret_cast<const uint8_t*>(&port),
                           reinterpret_cast<const uint8_t*>(&port), 30 * kRs,
                           fn);
            }),
            got);
  EXPECT_EQ(Collect([&](auto fn) {
              index->Prefix(reinterpret_cast<const uint8_t*>(&port), 16,
                            30 * kRs, fn);
            }),
            got);
  // A snapshot at or below the start sees nothing.
  EXPECT_TRUE(Collect([&](auto fn) {
                index->Equal(reinterpret_cast<const uint8_t*>(&port), 15 * kRs,
                             fn);
              }).empty());
}

TEST(IndexLogTest, SnapshotHidesLaterRecords) {
  const Schema& schema = PacketSchema();
  std::unique_ptr<IndexLog> index = MustCreate(schema, {"proto", 0});
  const Column& c = index->column();
  Records r(schema, 100);
  for (size_t i = 0; i < r.size(); ++i) {
    r.Set(i, c, static_cast<uint8_t>(i % 2 ? 6 : 17));
  }
  index->InsertBatch(r.data(), r.size(), r.record_size(), 0);
  const uint8_t tcp = 6;
  const uint8_t udp = 17;
  for (uint64_t snapshot : {0ull, 64ull, 65ull, 64ull * 50, 64ull * 100}) {
    EXPECT_EQ(Collect([&](auto fn) { index->Equal(&tcp, snapshot, fn); }),
              Scan(
                  r, c, [](const uint8_t* p) { return *p == 6; }, snapshot))
        << snapshot;
    EXPECT_EQ(Collect([&](auto fn) { index->Range(&tcp, &udp, snapshot, fn); }),
              Scan(
                  r, c, [](const uint8_t*) { return true; }, snapshot))
        << snapshot;
  }
}

TEST(IndexLogTest, MemoryAndEntries) {
  const Schema& schema = PacketSchema();
  std::unique_ptr<IndexLog> index = MustCreate(schema, {"src_port", 0});
  const uint64_t empty = index->memory_bytes();
  EXPECT_GT(empty, 0u);
  EXPECT_EQ(index->entries(), 0u);
  Records r(schema, 10000);
  for (size_t i = 0; i < r.size(); ++i) {
    r.Set(i, index->column(), static_cast<uint16_t>(i % 100));
  }
  index->InsertBatch(r.data(), r.size(), r.record_size(), 0);
  EXPECT_EQ(index->entries(), 10000u);
  // Offsets dominate: 8 bytes each, plus chunk slack and 100 leaves.
  EXPECT_GT(index->memory_bytes(), empty + 8 * 10000);
  EXPECT_LT(index->memory_bytes(), empty + 32 * 10000);
}

TEST(IndexLogCreateTest, UnknownColumnSuggestsOne) {
  Result<std::unique_ptr<IndexLog>> index =
      IndexLog::Create(PacketSchema(), {"src_ipp", 0}, 0);
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(index.status().message(),
            "index: unknown column 'src_ipp'; did you mean 'src_ip'?");
  Result<std::unique_ptr<IndexLog>> empty =
      IndexLog::Create(PacketSchema(), {"", 0}, 0);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), Status::Code::kInvalidArgument);
  Result<std::unique_ptr<IndexLog>> far =
      IndexLog::Create(PacketSchema(), {"qqqqqqqqqqqq", 0}, 0);
  ASSERT_FALSE(far.ok());
  EXPECT_EQ(far.status().message(), "index: unknown column 'qqqqqqqqqqqq'");
}

TEST(IndexLogCreateTest, BucketOnlyOnIntegers) {
  const Schema schema = MustParse(kAllTypes);
  for (const char* name : {"v4", "v6", "hw", "name", "flag"}) {
    Result<std::unique_ptr<IndexLog>> index =
        IndexLog::Create(schema, {name, 64}, 0);
    ASSERT_FALSE(index.ok()) << name;
    EXPECT_EQ(index.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(index.status().message().find("only to integer columns"),
              std::string::npos)
        << index.status().message();
    EXPECT_NE(index.status().message().find(name), std::string::npos);
  }
  for (const char* name : {"a_f32", "a_f64"}) {
    Result<std::unique_ptr<IndexLog>> index =
        IndexLog::Create(schema, {name, 10}, 0);
    ASSERT_FALSE(index.ok()) << name;
    EXPECT_EQ(index.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(index.status().message().find("cannot be bucketed"),
              std::string::npos)
        << index.status().message();
  }
  for (const char* name : {"a_u8", "a_u16", "a_u32", "a_u64", "a_i8", "a_i16",
                           "a_i32", "a_i64", "timestamp"}) {
    EXPECT_TRUE(IndexLog::Create(schema, {name, 64}, 0).ok()) << name;
  }
}

}  // namespace
}  // namespace loupe
