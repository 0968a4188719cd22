// The small record of the data log's unit tests (data_log_test,
// retention_test): a sequence number, a value and a short name, 32 bytes
// with the timestamp, and its schema.
//
// Plain data and a function returning a new Schema; thread-safe.
#ifndef LOUPE_TESTS_SUPPORT_TEST_RECORD_H_
#define LOUPE_TESTS_SUPPORT_TEST_RECORD_H_

#include <cstdint>
#include <string_view>

#include "multilog/schema.h"

namespace loupe::test_support {

// The layout of kTestSchemaText, timestamp first.
struct TestRecord {
  uint64_t timestamp;
  uint64_t seq;
  uint32_t value;
  char name[12];
};
static_assert(sizeof(TestRecord) == 32);
inline constexpr std::string_view kTestSchemaText =
    "seq:u64, value:u32, name:string(12)";

// Schema::Parse(kTestSchemaText); aborts with the message if it does not
// parse (it always does).
Schema TestRecordSchema();

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_TEST_RECORD_H_
