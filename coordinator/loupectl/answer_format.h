// The agent's answers as loupectl's human output: aligned tables for lists
// and records, "key  value" blocks for single objects, one line per alert.
// (`--json` output is coordinator/loupectl/proto_json.h for messages and
// WriteRecordJson below for records; the lists of indexes, filters,
// aggregates and triggers are coordinator/loupectl/control_command.h.) Times
// are local RFC 3339 with milliseconds, durations and sizes in short human
// units, counters exact. Pure functions of their arguments; thread-safe.
#ifndef LOUPE_COORDINATOR_LOUPECTL_ANSWER_FORMAT_H_
#define LOUPE_COORDINATOR_LOUPECTL_ANSWER_FORMAT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "agent/json_writer.h"
#include "agent/proto/loupe.pb.h"
#include "coordinator/loupectl/table.h"
#include "multilog/schema.h"

namespace loupe::ctl {

// "key  value" lines with the values aligned.
std::string KeyValues(
    const std::vector<std::pair<std::string, std::string>>& rows);

// "memory", "durable-relaxed", "durable".
std::string StorageName(v1::StorageMode mode);
// "%g" of a double; "-" for NaN.
std::string NumberText(double value);
// Where an index, filter or aggregate begins: "0 (everything)" or the
// offset.
std::string CoversFromText(uint64_t offset);

std::string MultilogsTable(const v1::ListMultilogsResponse& response);
std::string MultilogDetail(const v1::MultilogInfo& info);

std::string AggregateText(const std::string& name,
                          const v1::GetAggregateResponse& response);
// The series' buckets; with `histograms`, each bucket's bins too.
std::string SeriesTable(const std::vector<v1::SeriesBucket>& buckets,
                        bool histograms);

// "syn_rate 1.2e+06 > 1e+06".
std::string AlertCondition(const v1::Alert& alert);
// One line: time, host/multilog, trigger, condition, window.
std::string AlertLine(const v1::Alert& alert);
Table AlertsTable();
void AddAlertRow(Table& table, const v1::Alert& alert);

std::string StatsText(const v1::StatsResponse& stats);
std::string HealthText(const v1::HealthResponse& health);

// Records: a table with the chosen columns (and the offset first when
// `with_offsets`), or one JSON object per record, {"offset":..., column
// name: value, ...}.
Table RecordsTable(const std::vector<const Column*>& columns,
                   bool with_offsets);
void AddRecordRow(Table& table, const std::vector<const Column*>& columns,
                  bool with_offsets, uint64_t offset, const uint8_t* record);
void WriteRecordJson(JsonWriter& json,
                     const std::vector<const Column*>& columns, uint64_t offset,
                     const uint8_t* record);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_ANSWER_FORMAT_H_
