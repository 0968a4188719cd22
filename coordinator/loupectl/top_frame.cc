#include "coordinator/loupectl/top_frame.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "agent/time_text.h"
#include "coordinator/loupectl/table.h"
#include "coordinator/loupectl/units.h"

namespace loupe::ctl {
namespace {

constexpr std::string_view kSideBySideGap = "    ";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

// Two blocks of lines next to each other, when they fit in `width`.
std::string SideBySide(const std::string& left, const std::string& right,
                       size_t width) {
  const std::vector<std::string> a = Lines(left);
  const std::vector<std::string> b = Lines(right);
  size_t left_width = 0, right_width = 0;
  for (const std::string& line : a) {
    left_width = std::max(left_width, DisplayWidth(line));
  }
  for (const std::string& line : b) {
    right_width = std::max(right_width, DisplayWidth(line));
  }
  if (left_width + kSideBySideGap.size() + right_width > width) {
    return left + "\n" + right;
  }
  std::string out;
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    std::string line = i < a.size() ? a[i] : "";
    if (i < b.size()) {
      line.append(left_width - DisplayWidth(line), ' ');
      line += kSideBySideGap;
      line += b[i];
    }
    out += line + "\n";
  }
  return out;
}

std::string Cut(const std::string& text, size_t width) {
  if (DisplayWidth(text) <= width || width < 4) return text;
  std::string out;
  size_t shown = 0;
  for (char c : text) {
    const bool starts = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (starts && ++shown > width - 3) break;
    out += c;
  }
  return out + "...";
}

std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%.1f%%", 100.0 * part / whole);
  return buf;
}

std::string Rate(const TopFrame& frame, double per_second) {
  return frame.has_rates ? FormatCount(per_second) : "-";
}

// "05:00:00.000" from the local RFC 3339 text.
std::string ClockTime(uint64_t ns) {
  const std::string t = FormatLocalTime(ns);
  return t.size() >= 23 ? t.substr(11, 12) : t;
}

std::string TalkerTable(const std::string& title,
                        const std::vector<TopTalker>& talkers,
                        const TopFrame& frame) {
  const bool by_bytes = !frame.bytes_column.empty();
  Table table({title, by_bytes ? "BYTES" : "RECORDS", "SHARE", "RECORDS"});
  table.SetAlign(1, Table::Align::kRight)
      .SetAlign(2, Table::Align::kRight)
      .SetAlign(3, Table::Align::kRight);
  for (const TopTalker& t : talkers) {
    table.AddRow({t.address,
                  by_bytes ? FormatBytes(static_cast<double>(t.bytes))
                           : FormatCount(static_cast<double>(t.bytes)),
                  Percent(t.bytes, frame.window_bytes),
                  FormatCount(static_cast<double>(t.records))});
  }
  if (talkers.empty()) table.AddRow({"(none)"});
  return table.Render();
}

}  // namespace

void TalkerCounter::Add(const std::string& key, uint64_t bytes) {
  TopTalker& t = talkers_[key];
  if (t.address.empty()) t.address = key;
  t.bytes += bytes;
  t.records += 1;
  total_bytes_ += bytes;
}

std::vector<TopTalker> TalkerCounter::Top(size_t n) const {
  std::vector<TopTalker> all;
  all.reserve(talkers_.size());
  for (const auto& [key, t] : talkers_) all.push_back(t);
  const auto more = [](const TopTalker& a, const TopTalker& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.address < b.address;
  };
  if (all.size() > n) {
    std::partial_sort(all.begin(), all.begin() + static_cast<ptrdiff_t>(n),
                      all.end(), more);
    all.resize(n);
  } else {
    std::sort(all.begin(), all.end(), more);
  }
  return all;
}

std::string RenderTopFrame(const TopFrame& frame, size_t width) {
  std::string out;
  out += "loupe top  " + frame.agent;
  if (!frame.host.empty()) out += " (" + frame.host + ")";
  out += "  multilog " + frame.multilog + "  " +
         FormatLocalTime(frame.time_ns) + "  every " +
         DurationText(frame.interval_ns) + "\n\n";

  // Recording.
  {
    Table table({"", "RATE/S", "BIT RATE", "TOTAL", "TOTAL BYTES"});
    table.SetAlign(1, Table::Align::kRight)
        .SetAlign(2, Table::Align::kRight)
        .SetAlign(3, Table::Align::kRight)
        .SetAlign(4, Table::Align::kRight);
    table.AddRow({"recorded", Rate(frame, frame.records_per_second),
                  frame.has_rates ? FormatBitRate(frame.bytes_per_second) : "-",
                  FormatCount(static_cast<double>(frame.records_total)),
                  FormatBytes(static_cast<double>(frame.bytes_total))});
    if (frame.has_received) {
      table.AddRow({"received", Rate(frame, frame.received_per_second), "",
                    FormatCount(static_cast<double>(frame.received_total)),
                    ""});
      table.AddRow({"dropped", Rate(frame, frame.dropped_per_second), "",
                    FormatCount(static_cast<double>(frame.dropped_total)), ""});
    }
    out += "source: " + frame.source +
           (frame.has_rates ? "" : "  (rates from the next refresh)") + "\n";
    out += table.Render();
  }

  // Drops by reason.
  if (frame.has_received) {
    Table table({"DROP REASON", "RATE/S", "TOTAL"});
    table.SetAlign(1, Table::Align::kRight).SetAlign(2, Table::Align::kRight);
    for (const TopDrop& d : frame.drops) {
      if (d.total == 0) continue;
      table.AddRow({d.reason, Rate(frame, d.per_second),
                    FormatCount(static_cast<double>(d.total))});
    }
    out += "\n";
    out += table.rows() > 0 ? table.Render() : "no drops\n";
  }

  // Top talkers.
  out += "\n";
  if (!frame.talkers_note.empty()) {
    out += "top talkers: " + frame.talkers_note + "\n";
  } else {
    out += "top talkers by " +
           (frame.bytes_column.empty() ? std::string("records")
                                       : frame.bytes_column) +
           ", data time " + ClockTime(frame.window_start_ns) + " to " +
           ClockTime(frame.window_end_ns) + ": " +
           FormatCount(static_cast<double>(frame.sampled_records)) +
           " records" +
           (frame.sampled ? " (sampled: the first ones only)" : "") + "\n";
    out += SideBySide(TalkerTable("SOURCE", frame.sources, frame),
                      TalkerTable("DESTINATION", frame.destinations, frame),
                      width);
  }

  // Filters.
  out += "\n";
  if (frame.filters.empty()) {
    out += "no filters\n";
  } else {
    Table table({"FILTER", "RATE/S", "EXPRESSION"});
    table.SetAlign(1, Table::Align::kRight);
    size_t name_width = 6, rate_width = 6;
    for (const TopFilterRate& f : frame.filters) {
      name_width = std::max(name_width, DisplayWidth(f.name));
    }
    const size_t room = width > name_width + rate_width + 4
                            ? width - name_width - rate_width - 4
                            : 20;
    for (const TopFilterRate& f : frame.filters) {
      std::string rate = f.error.empty() ? FormatCount(f.per_second) : "?";
      if (f.at_least) rate = ">=" + rate;
      table.AddRow(
          {f.name, rate,
           Cut(f.error.empty() ? f.expression : "error: " + f.error, room)});
    }
    out += table.Render();
  }

  // Alerts.
  out += "\n";
  if (frame.alerts.empty()) {
    out += "no alerts\n";
  } else {
    Table table({"ALERT TIME", "MULTILOG", "TRIGGER", "CONDITION"});
    for (const TopAlert& a : frame.alerts) {
      table.AddRow(
          {FormatLocalTime(a.time_ns), a.multilog, a.trigger, a.condition});
    }
    out += table.Render();
    if (frame.alerts_seen > frame.alerts.size()) {
      out += "(" + std::to_string(frame.alerts_seen) +
             " alerts seen, from shortly before top started; the latest " +
             std::to_string(frame.alerts.size()) + " shown)\n";
    }
  }

  for (const std::string& e : frame.errors) out += "error: " + e + "\n";
  return out;
}

void WriteTopFrameJson(JsonWriter& json, const TopFrame& frame) {
  const auto talkers = [&](const std::vector<TopTalker>& list) {
    json.BeginArray();
    for (const TopTalker& t : list) {
      json.BeginObject()
          .Key("address")
          .String(t.address)
          .Key("bytes")
          .Uint(t.bytes)
          .Key("records")
          .Uint(t.records)
          .EndObject();
    }
    json.EndArray();
  };
  json.BeginObject();
  json.Key("agent").String(frame.agent);
  json.Key("host").String(frame.host);
  json.Key("multilog").String(frame.multilog);
  json.Key("time_ns").Uint(frame.time_ns);
  json.Key("interval_ns").Uint(frame.interval_ns);
  json.Key("source").String(frame.source);
  json.Key("has_rates").Bool(frame.has_rates);
  json.Key("records_per_second").Double(frame.records_per_second);
  json.Key("bytes_per_second").Double(frame.bytes_per_second);
  json.Key("records_total").Uint(frame.records_total);
  json.Key("bytes_total").Uint(frame.bytes_total);
  if (frame.has_received) {
    json.Key("received_per_second").Double(frame.received_per_second);
    json.Key("received_total").Uint(frame.received_total);
    json.Key("dropped_per_second").Double(frame.dropped_per_second);
    json.Key("dropped_total").Uint(frame.dropped_total);
    json.Key("drops").BeginArray();
    for (const TopDrop& d : frame.drops) {
      json.BeginObject()
          .Key("reason")
          .String(d.reason)
          .Key("total")
          .Uint(d.total)
          .Key("per_second")
          .Double(d.per_second)
          .EndObject();
    }
    json.EndArray();
  }
  json.Key("talkers").BeginObject();
  if (!frame.talkers_note.empty()) json.Key("note").String(frame.talkers_note);
  json.Key("window_start_ns").Uint(frame.window_start_ns);
  json.Key("window_end_ns").Uint(frame.window_end_ns);
  json.Key("bytes_column").String(frame.bytes_column);
  json.Key("sampled_records").Uint(frame.sampled_records);
  json.Key("sampled").Bool(frame.sampled);
  json.Key("window_bytes").Uint(frame.window_bytes);
  json.Key("sources");
  talkers(frame.sources);
  json.Key("destinations");
  talkers(frame.destinations);
  json.EndObject();
  json.Key("filters").BeginArray();
  for (const TopFilterRate& f : frame.filters) {
    json.BeginObject();
    json.Key("name").String(f.name);
    json.Key("expression").String(f.expression);
    json.Key("records").Uint(f.records);
    json.Key("at_least").Bool(f.at_least);
    json.Key("per_second").Double(f.per_second);
    if (!f.error.empty()) json.Key("error").String(f.error);
    json.EndObject();
  }
  json.EndArray();
  json.Key("alerts").BeginArray();
  for (const TopAlert& a : frame.alerts) {
    json.BeginObject()
        .Key("time_ns")
        .Uint(a.time_ns)
        .Key("multilog")
        .String(a.multilog)
        .Key("trigger")
        .String(a.trigger)
        .Key("condition")
        .String(a.condition)
        .EndObject();
  }
  json.EndArray();
  json.Key("alerts_seen").Uint(frame.alerts_seen);
  json.Key("errors").BeginArray();
  for (const std::string& e : frame.errors) json.String(e);
  json.EndArray();
  json.EndObject();
}

}  // namespace loupe::ctl
