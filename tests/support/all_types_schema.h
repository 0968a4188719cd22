// A schema with one column of every type (b, u8 ... i64, f32, f64, v4, v6,
// mac, name:string(8)), for tests of the expression language and filter
// programs that must cover every type.
//
// Built once; the returned Schema lives as long as the program.
// Thread-safe.
#ifndef LOUPE_TESTS_SUPPORT_ALL_TYPES_SCHEMA_H_
#define LOUPE_TESTS_SUPPORT_ALL_TYPES_SCHEMA_H_

#include "multilog/schema.h"

namespace loupe::test_support {

const Schema& AllTypesSchema();

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_ALL_TYPES_SCHEMA_H_
