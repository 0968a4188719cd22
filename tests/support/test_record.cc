#include "tests/support/test_record.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace loupe::test_support {

Schema TestRecordSchema() {
  Result<Schema> schema = Schema::Parse(kTestSchemaText);
  if (!schema.ok()) {
    std::fprintf(stderr, "test record schema: %s\n",
                 schema.status().ToString().c_str());
    std::abort();
  }
  return std::move(schema).value();
}

}  // namespace loupe::test_support
