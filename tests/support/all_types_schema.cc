#include "tests/support/all_types_schema.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace loupe::test_support {

const Schema& AllTypesSchema() {
  static const Schema* const schema = [] {
    Result<Schema> result = Schema::Create({
        {"b", ColumnType::kBool},
        {"u8", ColumnType::kU8},
        {"u16", ColumnType::kU16},
        {"u32", ColumnType::kU32},
        {"u64", ColumnType::kU64},
        {"i8", ColumnType::kI8},
        {"i16", ColumnType::kI16},
        {"i32", ColumnType::kI32},
        {"i64", ColumnType::kI64},
        {"f32", ColumnType::kF32},
        {"f64", ColumnType::kF64},
        {"v4", ColumnType::kIpv4},
        {"v6", ColumnType::kIpv6},
        {"mac", ColumnType::kMac},
        {"name", ColumnType::kString, 8},
    });
    if (!result.ok()) {
      std::fprintf(stderr, "all-types schema: %s\n",
                   result.status().ToString().c_str());
      std::abort();
    }
    return new Schema(std::move(result).value());
  }();
  return *schema;
}

}  // namespace loupe::test_support
