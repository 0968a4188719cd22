#include "coordinator/loupectl/answer_format.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "agent/time_text.h"
#include "coordinator/loupectl/record_text.h"
#include "coordinator/loupectl/table.h"
#include "coordinator/loupectl/units.h"

namespace loupe::ctl {
namespace {

std::string Count(uint64_t n) { return std::to_string(n); }

std::string Bytes(uint64_t n) { return FormatBytes(static_cast<double>(n)); }

std::string Retention(uint64_t max_bytes, uint64_t max_age_ms) {
  std::string out;
  if (max_bytes > 0) out = Bytes(max_bytes);
  if (max_age_ms > 0) {
    if (!out.empty()) out += ", ";
    out += DurationText(max_age_ms * kNsPerMs);
  }
  return out.empty() ? "unbounded" : out;
}

Table RightAligned(Table table, std::initializer_list<size_t> columns) {
  for (size_t c : columns) table.SetAlign(c, Table::Align::kRight);
  return table;
}

}  // namespace

std::string CoversFromText(uint64_t offset) {
  return offset == 0 ? "0 (everything)" : Count(offset);
}

std::string KeyValues(
    const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& [key, value] : rows) {
    width = std::max(width, DisplayWidth(key));
  }
  std::string out;
  for (const auto& [key, value] : rows) {
    out += key;
    if (!value.empty()) {
      out.append(width - DisplayWidth(key) + 2, ' ');
      out += value;
    }
    out += '\n';
  }
  return out;
}

std::string StorageName(v1::StorageMode mode) {
  switch (mode) {
    case v1::STORAGE_MODE_DURABLE_RELAXED:
      return "durable-relaxed";
    case v1::STORAGE_MODE_DURABLE:
      return "durable";
    default:
      return "memory";
  }
}

std::string NumberText(double value) {
  if (std::isnan(value)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", value);
  return buf;
}

std::string MultilogsTable(const v1::ListMultilogsResponse& response) {
  Table table =
      RightAligned(Table({"NAME", "RECORDS", "RETAINED", "RECORD", "STORAGE",
                          "RETENTION", "INDEXES", "FILTERS", "AGGREGATES",
                          "TRIGGERS", "ALERTS", "WRITTEN BY"}),
                   {1, 2, 3, 6, 7, 8, 9, 10});
  for (const v1::MultilogInfo& m : response.multilogs()) {
    table.AddRow({m.name(), Count(m.records()), Bytes(m.bytes()),
                  Count(m.record_size()) + " B", StorageName(m.storage()),
                  Retention(m.retention_max_bytes(), m.retention_max_age_ms()),
                  Count(m.indexes()), Count(m.filters()), Count(m.aggregates()),
                  Count(m.triggers()), Count(m.alerts()),
                  m.dataplane() ? "dataplane" : "rpc"});
  }
  return table.Render();
}

std::string MultilogDetail(const v1::MultilogInfo& m) {
  std::string out = KeyValues({
      {"name", m.name()},
      {"written by", m.dataplane() ? "the dataplane" : "RPC appends"},
      {"record size", Count(m.record_size()) + " B"},
      {"storage", StorageName(m.storage()) +
                      (m.directory().empty() ? "" : " in " + m.directory())},
      {"bucket", DurationText(m.bucket_ns())},
      {"retention",
       Retention(m.retention_max_bytes(), m.retention_max_age_ms())},
      {"capacity",
       m.capacity_bytes() ? Bytes(m.capacity_bytes()) : "unlimited"},
      {"max batch", Count(m.max_batch_records()) + " records"},
      {"records", Count(m.records()) + " retained (" + Bytes(m.bytes()) + ")"},
      {"offsets", "head " + Count(m.head()) + ", read tail " +
                      Count(m.read_tail()) + ", write tail " +
                      Count(m.write_tail())},
      {"memory", Bytes(m.memory_bytes())},
      {"indexes", Count(m.indexes())},
      {"filters", Count(m.filters())},
      {"aggregates", Count(m.aggregates())},
      {"triggers", Count(m.triggers())},
      {"alerts", Count(m.alerts())},
  });
  // The schema, one column per row.
  Table columns({"COLUMN", "TYPE"});
  const std::string& schema = m.schema();
  size_t start = 0;
  while (start < schema.size()) {
    size_t end = schema.find_first_of(",\n", start);
    if (end == std::string::npos) end = schema.size();
    std::string entry = schema.substr(start, end - start);
    start = end + 1;
    while (!entry.empty() && entry.front() == ' ') entry.erase(0, 1);
    while (!entry.empty() && entry.back() == ' ') entry.pop_back();
    if (entry.empty()) continue;
    const size_t colon = entry.find(':');
    columns.AddRow({entry.substr(0, colon),
                    colon == std::string::npos ? "" : entry.substr(colon + 1)});
  }
  return out + "\n" + columns.Render();
}

std::string AggregateText(const std::string& name,
                          const v1::GetAggregateResponse& r) {
  std::vector<std::pair<std::string, std::string>> rows = {
      {"aggregate", name + " (" + r.function() + ")"},
      {"value", r.has_value() ? NumberText(r.value()) : "none (no records)"},
      {"count", Count(r.count())},
  };
  // COUNT keeps no sum, min or max.
  if (r.count() > 0 && r.function() != "COUNT") {
    rows.push_back({"sum", NumberText(r.sum())});
    if (std::isfinite(r.min())) rows.push_back({"min", NumberText(r.min())});
    if (std::isfinite(r.max())) rows.push_back({"max", NumberText(r.max())});
  }
  rows.push_back({"covers from", CoversFromText(r.covers_from())});
  if (r.partial()) {
    rows.push_back({"partial",
                    "yes: the window starts before the aggregate "
                    "existed"});
  }
  if (r.recomputed_buckets() > 0) {
    rows.push_back({"recomputed", Count(r.recomputed_buckets()) +
                                      " buckets from the filter log"});
  }
  rows.push_back({"snapshot", Count(r.snapshot())});
  return KeyValues(rows);
}

std::string SeriesTable(const std::vector<v1::SeriesBucket>& buckets,
                        bool histograms) {
  std::vector<std::string> headers = {"START", "COUNT", "SUM",
                                      "MIN",   "MAX",   "VALUE"};
  if (histograms) headers.push_back("BINS [lower, upper):count");
  Table table = RightAligned(Table(headers), {1, 2, 3, 4, 5});
  for (const v1::SeriesBucket& b : buckets) {
    std::vector<std::string> row = {
        FormatLocalTime(b.start_ns()),
        Count(b.count()),
        NumberText(b.sum()),
        std::isfinite(b.min()) ? NumberText(b.min()) : "-",
        std::isfinite(b.max()) ? NumberText(b.max()) : "-",
        b.has_value() ? NumberText(b.value()) : "-"};
    if (histograms) {
      std::string bins;
      for (const v1::HistogramBin& bin : b.bins()) {
        if (!bins.empty()) bins += ' ';
        bins += "[" + NumberText(bin.lower()) + "," + NumberText(bin.upper()) +
                "):" + Count(bin.count());
      }
      row.push_back(bins);
    }
    table.AddRow(std::move(row));
  }
  return table.Render();
}

std::string AlertCondition(const v1::Alert& a) {
  return a.aggregate() + " " + NumberText(a.value()) + " " + a.op() + " " +
         NumberText(a.threshold());
}

std::string AlertLine(const v1::Alert& a) {
  std::string where = a.multilog();
  if (!a.host().empty()) where = a.host() + "/" + where;
  return FormatLocalTime(a.time_ns()) + "  " + where + "  " + a.trigger() +
         ": " + AlertCondition(a) + "  (window " +
         DurationText(a.window_end_ns() - a.window_start_ns()) + " from " +
         FormatLocalTime(a.window_start_ns()) + ", #" + Count(a.sequence()) +
         ")";
}

Table AlertsTable() {
  return Table(
      {"TIME", "HOST", "MULTILOG", "SEQ", "TRIGGER", "CONDITION", "WINDOW"});
}

void AddAlertRow(Table& table, const v1::Alert& a) {
  table.AddRow({FormatLocalTime(a.time_ns()), a.host(), a.multilog(),
                Count(a.sequence()), a.trigger(), AlertCondition(a),
                DurationText(a.window_end_ns() - a.window_start_ns())});
}

std::string StatsText(const v1::StatsResponse& s) {
  std::vector<std::pair<std::string, std::string>> rows = {
      {"host", s.host()},
      {"uptime", DurationText(s.uptime_ns())},
      {"dataplane",
       !s.has_dataplane()
           ? "none"
           : std::string(s.dataplane().running() ? "running" : "stopped") +
                 ", writing multilog " + s.dataplane().multilog()},
  };
  if (s.has_dataplane()) {
    const v1::ClockStats& c = s.dataplane().clock();
    const int64_t off = c.last_offset_ns();
    const uint64_t magnitude =
        off < 0 ? 0 - static_cast<uint64_t>(off) : static_cast<uint64_t>(off);
    rows.push_back(
        {"clock", Count(c.reanchors()) +
                      " re-anchors to the wall clock, the last corrected " +
                      (off < 0 ? "-" : "+") + DurationText(magnitude) +
                      ", at most " + DurationText(c.max_abs_offset_ns()) +
                      "; " + Count(c.steps_forward()) + " steps forward"});
  }
  std::string out = KeyValues(rows);

  if (s.has_dataplane()) {
    const v1::DataplaneStats& d = s.dataplane();
    Table ports = RightAligned(Table({"PORT", "DEVICE", "RECEIVED", "RX BYTES",
                                      "RECORDED", "RECORDED BYTES", "DROPPED"}),
                               {2, 3, 4, 5, 6});
    auto add_port = [&](const v1::PortStats& p, const std::string& name) {
      ports.AddRow({name, p.device(), Count(p.received()),
                    Count(p.received_bytes()), Count(p.recorded()),
                    Count(p.recorded_bytes()), Count(p.dropped())});
    };
    for (const v1::PortStats& p : d.ports()) {
      add_port(p, p.name().empty() ? Count(p.port_id()) : p.name());
    }
    add_port(d.total(), "total");
    out += "\n" + ports.Render();

    Table drops = RightAligned(Table({"DROP REASON", "COUNT"}), {1});
    for (const v1::DropCount& c : d.total().drops()) {
      drops.AddRow({c.reason(), Count(c.count())});
    }
    if (drops.rows() > 0) out += "\n" + drops.Render();

    if (d.writers_size() > 0) {
      Table writers = RightAligned(
          Table({"WRITER LCORE", "BATCHES", "RECORDS", "RING USED"}),
          {0, 1, 2, 3});
      for (const v1::WriterStats& w : d.writers()) {
        writers.AddRow({Count(w.lcore()), Count(w.batches()),
                        Count(w.records()), Count(w.ring_used())});
      }
      out += "\n" + writers.Render();
    }
  }

  Table multilogs =
      RightAligned(Table({"MULTILOG", "RECORDS", "RECORD", "HEAD", "READ TAIL",
                          "WRITE TAIL", "DURABLE TAIL", "MEMORY", "BLOCKS LIVE",
                          "ALLOC STALLS", "ALERTS"}),
                   {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  for (const v1::MultilogStats& m : s.multilogs()) {
    multilogs.AddRow(
        {m.name(), Count(m.records()), Count(m.record_size()) + " B",
         Count(m.head()), Count(m.read_tail()), Count(m.write_tail()),
         Count(m.durable_tail()), Bytes(m.memory_bytes()),
         Count(m.blocks_live()), Count(m.alloc_stalls()), Count(m.alerts())});
  }
  out += "\n" + multilogs.Render();

  Table rpc = RightAligned(Table({"RPC", "CALLS", "ERRORS"}), {1, 2});
  for (const v1::RpcMethodStats& m : s.rpc()) {
    if (m.calls() == 0) continue;
    rpc.AddRow({m.method(), Count(m.calls()), Count(m.errors())});
  }
  if (rpc.rows() > 0) out += "\n" + rpc.Render();
  return out;
}

std::string HealthText(const v1::HealthResponse& h) {
  std::string status;
  switch (h.status()) {
    case v1::HealthResponse::SERVING:
      status = "SERVING";
      break;
    case v1::HealthResponse::NOT_SERVING:
      status = "NOT_SERVING";
      break;
    default:
      status = "UNKNOWN";
  }
  return KeyValues({
      {"status", status},
      {"version", h.version()},
      {"host", h.host()},
      {"uptime", DurationText(h.uptime_ns())},
      {"started", h.start_time_ns() ? FormatLocalTime(h.start_time_ns()) : "-"},
  });
}

Table RecordsTable(const std::vector<const Column*>& columns,
                   bool with_offsets) {
  std::vector<std::string> headers;
  if (with_offsets) headers.push_back("OFFSET");
  for (const Column* c : columns) headers.push_back(c->name);
  Table table(std::move(headers));
  const size_t first = with_offsets ? 1 : 0;
  if (with_offsets) table.SetAlign(0, Table::Align::kRight);
  for (size_t i = 0; i < columns.size(); ++i) {
    const ColumnType t = columns[i]->type;
    const bool numeric = t != ColumnType::kIpv4 && t != ColumnType::kIpv6 &&
                         t != ColumnType::kMac && t != ColumnType::kString &&
                         t != ColumnType::kBool && columns[i]->offset != 0 &&
                         columns[i]->name != "proto" &&
                         columns[i]->name != "tcp_flags" &&
                         columns[i]->name != "ether_type";
    if (numeric) table.SetAlign(first + i, Table::Align::kRight);
  }
  return table;
}

void AddRecordRow(Table& table, const std::vector<const Column*>& columns,
                  bool with_offsets, uint64_t offset, const uint8_t* record) {
  std::vector<std::string> row;
  row.reserve(columns.size() + 1);
  if (with_offsets) row.push_back(Count(offset));
  for (const Column* c : columns) row.push_back(CellText(*c, record));
  table.AddRow(std::move(row));
}

void WriteRecordJson(JsonWriter& json,
                     const std::vector<const Column*>& columns, uint64_t offset,
                     const uint8_t* record) {
  json.BeginObject();
  json.Key("offset").Uint(offset);
  for (const Column* c : columns) {
    json.Key(c->name);
    WriteJsonCell(json, *c, record);
  }
  json.EndObject();
}

}  // namespace loupe::ctl
