#include "coordinator/loupectl/breakdown_command.h"

#include <cstdint>
#include <string>
#include <vector>

#include "agent/time_text.h"
#include "coordinator/loupectl/answer_format.h"
#include "coordinator/loupectl/table.h"
#include "coordinator/loupectl/units.h"
#include "multilog/ascii.h"

namespace loupe::ctl {
namespace {

std::vector<std::string> KeyCells(const v1::KeyText& key) {
  return {key.values().begin(), key.values().end()};
}

// The window, the multilog, the key columns and the filter, for either
// request.
template <typename Request>
std::optional<Request> BreakdownRequest(Session& s) {
  const CommandArgs& a = s.args();
  const auto t0 = s.Time("--from", a.from, 0);
  const auto t1 = s.Time("--to", a.to, 0);
  if (!t0 || !t1) return std::nullopt;
  const std::vector<std::string> by = SplitList(a.by);
  if (by.empty()) {
    s.Usage("--by: name 1 to 4 key columns, comma-separated");
    return std::nullopt;
  }
  Request r;
  r.set_multilog(s.multilog());
  for (const std::string& c : by) r.add_key_columns(c);
  r.set_filter(a.filter);
  r.set_t0_ns(*t0);
  r.set_t1_ns(*t1);
  r.set_snapshot(a.snapshot);
  return r;
}

std::string Footer(uint64_t records, uint64_t keys, uint64_t snapshot,
                   const std::string& plan, bool partial) {
  std::string out = std::to_string(records) + " records, " +
                    std::to_string(keys) + " keys, snapshot " +
                    std::to_string(snapshot) + ", " + plan;
  if (partial) out += ", partial (the filter covers less than the window)";
  return out + "\n";
}

}  // namespace

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    std::string piece(
        TrimBlanks(std::string_view(text).substr(at, comma - at)));
    if (!piece.empty()) out.push_back(std::move(piece));
    at = comma + 1;
  }
  return out;
}

std::string TopKTable(const v1::GetTopKResponse& r) {
  std::vector<std::string> headers(r.key_columns().begin(),
                                   r.key_columns().end());
  const size_t keys = headers.size();
  headers.push_back("VALUE");
  headers.push_back("RECORDS");
  Table table(headers);
  table.SetAlign(keys, Table::Align::kRight);
  table.SetAlign(keys + 1, Table::Align::kRight);
  auto add = [&](const v1::TopKEntry& e) {
    std::vector<std::string> cells = KeyCells(e.key());
    cells.push_back(e.found() ? NumberText(e.value()) : "-");
    cells.push_back(e.found() ? std::to_string(e.count()) : "-");
    table.AddRow(std::move(cells));
  };
  for (const v1::TopKEntry& e : r.top()) add(e);
  std::string out = table.Render();
  if (r.keys_size() != 0) {
    Table asked(headers);
    asked.SetAlign(keys, Table::Align::kRight);
    asked.SetAlign(keys + 1, Table::Align::kRight);
    for (const v1::TopKEntry& e : r.keys()) {
      std::vector<std::string> cells = KeyCells(e.key());
      cells.push_back(e.found() ? NumberText(e.value()) : "-");
      cells.push_back(e.found() ? std::to_string(e.count()) : "-");
      asked.AddRow(std::move(cells));
    }
    out += "\nkeys asked:\n" + asked.Render();
  }
  out += "k-th value " + NumberText(r.kth_value()) + ", " +
         std::to_string(r.passing()) + " keys pass" +
         (r.more() ? " (more than shown)" : "") + "; " +
         Footer(r.records(), r.distinct_keys(), r.snapshot(), r.plan(),
                r.partial());
  return out;
}

std::string GroupByTable(const v1::GetGroupByResponse& r, bool buckets) {
  std::vector<std::string> headers(r.key_columns().begin(),
                                   r.key_columns().end());
  const size_t first_number = headers.size() + (buckets ? 1 : 0);
  if (buckets) headers.push_back("BUCKET");
  headers.push_back("RECORDS");
  for (const std::string& a : r.aggregates()) headers.push_back(a);
  Table table(headers);
  for (size_t i = first_number; i < headers.size(); ++i) {
    table.SetAlign(i, Table::Align::kRight);
  }
  for (const v1::GroupByRow& row : r.rows()) {
    std::vector<std::string> cells = KeyCells(row.key());
    if (buckets) cells.push_back(FormatLocalTime(row.bucket_start_ns()));
    cells.push_back(std::to_string(row.count()));
    for (double v : row.values()) cells.push_back(NumberText(v));
    table.AddRow(std::move(cells));
  }
  std::string out = table.Render();
  if (r.truncated()) {
    out += "(" + std::to_string(r.rows_size()) + " of " +
           std::to_string(r.groups()) + " groups; raise --limit)\n";
  }
  return out +
         Footer(r.records(), r.groups(), r.snapshot(), r.plan(), r.partial());
}

int TopK(Session& s) {
  const CommandArgs& a = s.args();
  auto r = BreakdownRequest<v1::GetTopKRequest>(s);
  if (!r) return kExitUsage;
  r->set_value(a.sum);
  r->set_k(a.k);
  if (a.min_value) r->set_min_value(*a.min_value);
  for (const std::string& key : a.keys) {
    v1::KeyText* k = r->add_keys();
    for (const std::string& v : SplitList(key)) k->add_values(v);
  }
  v1::GetTopKResponse response;
  const grpc::Status status =
      s.client().stub().GetTopK(s.client().Context().get(), *r, &response);
  if (!status.ok()) return s.Fail(status);
  if (s.json()) return s.OutputProto(response);
  return s.Output(TopKTable(response));
}

int GroupBy(Session& s) {
  const CommandArgs& a = s.args();
  auto r = BreakdownRequest<v1::GetGroupByRequest>(s);
  if (!r) return kExitUsage;
  if (a.aggregates.empty()) {
    r->add_aggregates("COUNT()");
  }
  for (const std::string& agg : a.aggregates) r->add_aggregates(agg);
  Result<uint64_t> bucket = ParseDurationNs(a.breakdown_bucket);
  if (!bucket.ok()) return s.Usage("--bucket: " + bucket.status().message());
  r->set_bucket_ns(*bucket);
  r->set_limit(a.limit);
  v1::GetGroupByResponse response;
  const grpc::Status status =
      s.client().stub().GetGroupBy(s.client().Context().get(), *r, &response);
  if (!status.ok()) return s.Fail(status);
  if (s.json()) return s.OutputProto(response);
  return s.Output(GroupByTable(response, *bucket != 0));
}

}  // namespace loupe::ctl
