// The text form of a SubscribeAlerts cursor, as `loupectl alerts --follow
// --after CURSOR` takes it and prints it:
//
//   cursor   := entry ("," entry)*
//   entry    := multilog "=" incarnation ":" sequence
//   multilog, incarnation, sequence: a multilog name and two decimal
//   integers (Alert.incarnation and Alert.sequence of the last alert seen).
//
// Pure functions, thread-safe.
#ifndef LOUPE_COORDINATOR_LOUPECTL_ALERT_CURSOR_TEXT_H_
#define LOUPE_COORDINATOR_LOUPECTL_ALERT_CURSOR_TEXT_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "multilog/status.h"

namespace loupe::ctl {

struct AlertPosition {
  uint64_t incarnation = 0;
  uint64_t sequence = 0;
};
using AlertCursorText = std::map<std::string, AlertPosition, std::less<>>;

// kInvalidArgument with the entry at fault and the expected form.
Result<AlertCursorText> ParseAlertCursor(std::string_view text);
// The form ParseAlertCursor takes, multilogs in name order.
std::string FormatAlertCursor(const AlertCursorText& cursor);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_ALERT_CURSOR_TEXT_H_
