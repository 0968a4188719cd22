// Fuzz target for the expression language: any bytes go to ParseFilter and
// FilterProgram on the packet schema and on a schema with every column type,
// and to ParseAggregate and ParseTrigger. Nothing may crash, hang or trip a
// sanitizer, and the invariants below must hold; a violation aborts.
//
// Built twice: with GCC and tests/fuzz/fuzz_driver.cc (a bounded,
// deterministic campaign in the stress suite), and with clang++
// -fsanitize=fuzzer as a real libFuzzer binary run by scripts/test.sh.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "multilog/expression.h"
#include "multilog/filter_program.h"
#include "multilog/packet_schema.h"
#include "multilog/schema.h"
#include "multilog/status.h"
#include "tests/support/all_types_schema.h"
#include "tests/support/reference_filter.h"

namespace loupe {
namespace {

void Require(bool condition, const char* what, std::string_view input) {
  if (condition) return;
  std::fprintf(
      stderr,
      "expression_fuzz: invariant broken: %s\ninput (%zu bytes): %.*s\n", what,
      input.size(), static_cast<int>(std::min<size_t>(input.size(), 512)),
      input.data());
  std::abort();
}

const Schema& AllTypes() { return test_support::AllTypesSchema(); }

// Fixed records: zeros, ones, and a few with meaningful values.
const std::vector<std::vector<uint8_t>>& Records(const Schema& schema) {
  static const auto* const packet = [] {
    auto* records = new std::vector<std::vector<uint8_t>>();
    PacketRecord r{};
    records->emplace_back(sizeof(r), 0);
    records->emplace_back(sizeof(r), 0xff);
    r.timestamp = 1700000000000000000ull;
    const uint8_t mapped[16] = {0, 0, 0,    0,    0,  0, 0, 0,
                                0, 0, 0xff, 0xff, 10, 1, 2, 3};
    std::memcpy(r.src_ip, mapped, 16);
    const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                            0,    0,    0,    0,    0, 0, 0, 1};
    std::memcpy(r.dst_ip, v6, 16);
    r.src_port = 40000;
    r.dst_port = 443;
    r.ip_len = 1500;
    r.frame_len = 1514;
    r.proto = 6;
    r.ttl = 64;
    r.flags = kPacketIpv4;
    const auto* bytes = reinterpret_cast<const uint8_t*>(&r);
    records->emplace_back(bytes, bytes + sizeof(r));
    r.proto = 17;
    r.dst_port = 53;
    records->emplace_back(bytes, bytes + sizeof(r));
    return records;
  }();
  static const auto* const typed = [] {
    const Schema& s = AllTypes();
    auto* records = new std::vector<std::vector<uint8_t>>();
    records->emplace_back(s.record_size(), 0);
    records->emplace_back(s.record_size(), 0xff);  // NaNs, -1s, maxima
    std::vector<uint8_t> mixed(s.record_size(), 0);
    auto set = [&](std::string_view column, const void* value) {
      const Column* c = s.Find(column);
      std::memcpy(mixed.data() + c->offset, value, c->width);
    };
    const int32_t i32 = -5;
    const double f64 = -0.0;
    const float f32 = std::numeric_limits<float>::infinity();
    const char name[8] = {'w', 'e', 'b'};
    set("i32", &i32);
    set("f64", &f64);
    set("f32", &f32);
    set("name", name);
    records->push_back(mixed);
    return records;
  }();
  return &schema == &PacketSchema() ? *packet : *typed;
}

using test_support::Reference;

void CheckTree(const BoundFilter& filter, std::string_view input) {
  Require(!filter.nodes.empty(), "a bound filter has a root", input);
  Require(filter.text == input, "the text is kept", input);
  for (uint32_t i = 0; i < filter.nodes.size(); ++i) {
    const FilterNode& node = filter.nodes[i];
    for (uint32_t child : node.children) {
      Require(child > i && child < filter.nodes.size(),
              "children follow their parent", input);
    }
    switch (node.kind) {
      case FilterNode::Kind::kAnd:
      case FilterNode::Kind::kOr:
        Require(node.children.size() >= 2,
                "&& and || have two or more children", input);
        for (uint32_t child : node.children) {
          Require(filter.nodes[child].kind != node.kind, "chains are flattened",
                  input);
        }
        break;
      case FilterNode::Kind::kNot:
        Require(node.children.size() == 1, "! has one child", input);
        break;
      case FilterNode::Kind::kCompare:
        Require(
            node.column != nullptr && node.value.size() == node.column->width,
            "a compared value has the column's width", input);
        break;
      case FilterNode::Kind::kInSet:
        Require(node.column != nullptr && !node.set.empty(),
                "a set has members", input);
        for (const auto& member : node.set) {
          Require(member.size() == node.column->width,
                  "set members have the column's width", input);
        }
        break;
      case FilterNode::Kind::kInPrefix:
        Require(node.column != nullptr &&
                    node.value.size() == node.column->width &&
                    node.prefix_bits <= 8 * node.column->width,
                "a prefix fits its column", input);
        break;
      case FilterNode::Kind::kTrue:
        Require(node.children.empty(), "true is a leaf", input);
        break;
    }
  }
}

void CheckError(const Status& status, std::string_view language,
                std::string_view input) {
  Require(status.code() == Status::Code::kInvalidArgument,
          "errors are invalid-argument", input);
  Require(status.message().rfind(language, 0) == 0 &&
              status.message().size() > language.size(),
          "errors name their language and position", input);
  Require(status.message().size() < 1024, "error messages stay short", input);
}

void FuzzFilter(const Schema& schema, std::string_view input) {
  Result<BoundFilter> bound = ParseFilter(schema, input);
  if (!bound.ok()) {
    CheckError(bound.status(), "filter ", input);
    return;
  }
  CheckTree(*bound, input);
  const FilterProgram program = FilterProgram::FromBound(*bound);
  Require(program.instruction_count() <= input.size(),
          "one instruction per comparison at most", input);
  for (const auto& record : Records(schema)) {
    Require(
        program.Matches(record.data()) == Reference(*bound, 0, record.data()),
        "the program agrees with the reference evaluator", input);
  }
}

}  // namespace
}  // namespace loupe

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loupe;  // NOLINT: a .cc file's entry point
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  FuzzFilter(PacketSchema(), input);
  FuzzFilter(AllTypes(), input);

  Result<AggregateSpec> aggregate = ParseAggregate(PacketSchema(), input);
  if (aggregate.ok()) {
    Require(aggregate->text == input, "the aggregate text is kept", input);
    Require((aggregate->function == AggregateFunction::kCount) ==
                (aggregate->column == nullptr),
            "only COUNT has no column", input);
    Require(aggregate->function != AggregateFunction::kQuantile ||
                (aggregate->quantile > 0 && aggregate->quantile < 1),
            "quantiles lie in (0, 1)", input);
  } else {
    CheckError(aggregate.status(), "aggregate ", input);
  }

  Result<TriggerSpec> trigger = ParseTrigger(input);
  if (trigger.ok()) {
    Require(!trigger->aggregate.empty(), "a trigger names an aggregate", input);
  } else {
    CheckError(trigger.status(), "trigger ", input);
  }
  return 0;
}
