// The reference evaluator of bound filters: the obvious recursive walk of
// the tree (multilog/expression.h), the oracle that FilterProgram's tests
// and the expression fuzzer compare the compiled program with. Numbers
// compare as their C++ type (NaN is unordered: only != holds), addresses,
// MACs and strings as bytes.
//
// Pure functions; thread-safe.
#ifndef LOUPE_TESTS_SUPPORT_REFERENCE_FILTER_H_
#define LOUPE_TESTS_SUPPORT_REFERENCE_FILTER_H_

#include <cstdint>

#include "multilog/expression.h"

namespace loupe::test_support {

// Whether `record` matches the subtree of `filter` rooted at node `id`
// (0: the whole filter).
bool Reference(const BoundFilter& filter, uint32_t id, const uint8_t* record);

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_REFERENCE_FILTER_H_
