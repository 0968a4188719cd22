// loupectl's breakdowns (issue 13, section 3): `topk` is one GetTopK call,
// `groupby` one GetGroupBy call, each shown as a table with one row per key
// (and per time bucket), or as JSON with --json. Keys are shown as the
// agent writes them (value text, as in decoded rows), which is also how
// `topk --key` names the keys whose exact values to fetch.
// Single-threaded, like every command
// (coordinator/loupectl/loupectl_commands.h).
#ifndef LOUPE_COORDINATOR_LOUPECTL_BREAKDOWN_COMMAND_H_
#define LOUPE_COORDINATOR_LOUPECTL_BREAKDOWN_COMMAND_H_

#include <string>
#include <vector>

#include "agent/proto/loupe.pb.h"
#include "coordinator/loupectl/loupectl_commands.h"

namespace loupe::ctl {

// "a,b , c" -> {"a", "b", "c"}; empty pieces dropped.
std::vector<std::string> SplitList(const std::string& text);

// The answers as tables.
std::string TopKTable(const v1::GetTopKResponse& response);
std::string GroupByTable(const v1::GetGroupByResponse& response, bool buckets);

int TopK(Session& s);
int GroupBy(Session& s);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_BREAKDOWN_COMMAND_H_
