#include "coordinator/loupectl/loupectl_commands.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/client/agent_client.h"
#include "agent/json_writer.h"
#include "agent/time_text.h"
#include "coordinator/loupectl/alert_cursor_text.h"
#include "coordinator/loupectl/answer_format.h"
#include "coordinator/loupectl/interrupt.h"
#include "coordinator/loupectl/proto_json.h"
#include "coordinator/loupectl/record_text.h"
#include "coordinator/loupectl/snapshot_command.h"
#include "coordinator/loupectl/table.h"
#include "coordinator/loupectl/top.h"
#include "coordinator/loupectl/top_frame.h"
#include "coordinator/loupectl/units.h"
#include "multilog/units.h"

namespace loupe::ctl {
namespace {

// Records per AppendBatch when the agent allows more: about 4 MiB.
constexpr size_t kAppendBatchBytes = 4 << 20;

// ANSI sequences for the live view.
constexpr std::string_view kEnterScreen = "\x1b[?1049h\x1b[?25l";
constexpr std::string_view kLeaveScreen = "\x1b[?25h\x1b[?1049l";
constexpr std::string_view kHome = "\x1b[H";
constexpr std::string_view kClearLine = "\x1b[K";
constexpr std::string_view kClearBelow = "\x1b[J";

}  // namespace

std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

// --- Session -----------------------------------------------------------------

AgentClient& Session::client() {
  if (client_ == nullptr) {
    const uint64_t timeout = ParseDurationNs(args_.timeout).value();
    client_ = std::make_unique<AgentClient>(args_.agent,
                                            std::chrono::nanoseconds(timeout));
  }
  return *client_;
}

CoordinatorClient& Session::coordinator() {
  if (coordinator_ == nullptr) {
    const uint64_t timeout = ParseDurationNs(args_.timeout).value();
    coordinator_ = std::make_unique<CoordinatorClient>(
        args_.coordinator, std::chrono::nanoseconds(timeout));
  }
  return *coordinator_;
}

int Session::Fail(const std::string& message, int code) const {
  std::fflush(stdout);
  std::fprintf(stderr, "loupectl: %s: %s\n", command_.c_str(), message.c_str());
  return code;
}

int Session::Fail(const grpc::Status& status, bool reached) {
  return Fail(client().Describe(status, reached));
}

bool Session::Print(std::string_view text) const {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
    return false;
  }
  return std::fflush(stdout) == 0;
}

int Session::Output(std::string_view text) const {
  return Print(text) ? kExitOk : kExitFailed;
}

int Session::OutputJson(const JsonWriter& json) const {
  return Output(json.str() + "\n");
}

std::optional<uint64_t> Session::Time(const std::string& option,
                                      const std::string& text, uint64_t unset) {
  if (text.empty()) return unset;
  Result<uint64_t> t = ParseTime(text, NowNs());
  if (!t.ok()) {
    Usage(option + ": " + t.status().message());
    return std::nullopt;
  }
  return *t;
}

// --- multilog ----------------------------------------------------------------

int MultilogCreate(Session& s) {
  const CommandArgs& a = s.args();
  v1::CreateMultilogRequest request;
  request.set_name(a.name);
  request.set_schema(a.schema);
  if (a.storage == "memory") {
    request.set_storage(v1::STORAGE_MODE_MEMORY);
  } else if (a.storage == "durable-relaxed") {
    request.set_storage(v1::STORAGE_MODE_DURABLE_RELAXED);
  } else {
    request.set_storage(v1::STORAGE_MODE_DURABLE);
  }
  request.set_directory(a.directory);
  struct Size {
    const char* option;
    const std::string& text;
    void (v1::CreateMultilogRequest::*set)(uint64_t);
  };
  for (const Size& size : {
           Size{"--retention-bytes", a.retention_bytes,
                &v1::CreateMultilogRequest::set_retention_max_bytes},
           Size{"--capacity", a.capacity,
                &v1::CreateMultilogRequest::set_capacity_bytes},
           Size{"--preallocate", a.preallocate,
                &v1::CreateMultilogRequest::set_preallocate_bytes},
       }) {
    Result<uint64_t> bytes = ParseSize(size.text);
    if (!bytes.ok()) {
      return s.Usage(std::string(size.option) + ": " +
                     bytes.status().message());
    }
    (request.*size.set)(*bytes);
  }
  Result<uint64_t> age = ParseDurationNs(a.retention_age);
  if (!age.ok()) return s.Usage("--retention-age: " + age.status().message());
  if (*age % kNsPerMs != 0) {
    return s.Usage("--retention-age: '" + a.retention_age +
                   "' is not a whole number of milliseconds");
  }
  request.set_retention_max_age_ms(*age / kNsPerMs);
  Result<uint64_t> bucket = ParseDurationNs(a.bucket_duration);
  if (!bucket.ok()) return s.Usage("--bucket: " + bucket.status().message());
  request.set_bucket_ns(*bucket);
  request.set_block_records(a.block_records);

  v1::CreateMultilogResponse response;
  const grpc::Status status = s.client().stub().CreateMultilog(
      s.client().Context().get(), request, &response);
  if (!status.ok()) return s.Fail(status);
  if (s.json()) return s.OutputProto(response);
  std::string out = "created multilog " + response.multilog().name() + "\n";
  if (response.reopened()) {
    out += "reopened: recovered " +
           FormatBytes(static_cast<double>(response.recovered_bytes())) +
           ", dropped " +
           FormatBytes(static_cast<double>(response.dropped_bytes())) +
           " past the last commit";
    if (!response.recovery_detail().empty()) {
      out += " (" + response.recovery_detail() + ")";
    }
    out += "\n";
  }
  return s.Output(out + "\n" + MultilogDetail(response.multilog()));
}

int MultilogDrop(Session& s) {
  v1::DropMultilogRequest request;
  request.set_name(s.args().name);
  v1::DropMultilogResponse response;
  const grpc::Status status = s.client().stub().DropMultilog(
      s.client().Context().get(), request, &response);
  if (!status.ok()) return s.Fail(status);
  if (s.json()) return s.OutputProto(response);
  return s.Output("dropped multilog " + s.args().name + "\n");
}

namespace {

// ListMultilogs as a table, or (detail) one multilog's description.
int ListMultilogs(Session& s, bool detail) {
  v1::ListMultilogsRequest request;
  request.set_name(s.args().name);
  v1::ListMultilogsResponse response;
  const grpc::Status status = s.client().stub().ListMultilogs(
      s.client().Context().get(), request, &response);
  if (!status.ok()) return s.Fail(status);
  if (detail) {
    if (response.multilogs_size() != 1) {
      return s.Fail("NOT_FOUND: no multilog '" + s.args().name + "'");
    }
    if (s.json()) return s.OutputProto(response.multilogs(0));
    return s.Output(MultilogDetail(response.multilogs(0)));
  }
  if (s.json()) return s.OutputProto(response);
  return s.Output(MultilogsTable(response));
}

}  // namespace

// --- append ------------------------------------------------------------------

namespace {

// The input format: --format, else guessed from the file's extension.
std::string FormatOf(const std::string& file, const std::string& given) {
  if (!given.empty()) return given;
  auto ends_with = [&](std::string_view suffix) {
    return file.size() >= suffix.size() &&
           file.compare(file.size() - suffix.size(), suffix.size(), suffix) ==
               0;
  };
  if (ends_with(".csv")) return "csv";
  if (ends_with(".bin") || ends_with(".raw") || ends_with(".rec")) {
    return "raw";
  }
  return "kv";
}

// Reads the input and encodes it; all or nothing.
Result<std::string> ReadRecords(const std::string& file,
                                const std::string& format,
                                const Schema& schema) {
  const bool from_stdin = file.empty() || file == "-";
  const std::string where = from_stdin ? "<stdin>" : file;
  std::ifstream in_file;
  if (!from_stdin) {
    in_file.open(file, std::ios::binary);
    if (!in_file) return Status::FromErrno("cannot open " + file, errno);
  }
  std::istream& in = from_stdin ? std::cin : in_file;
  if (format == "raw") {
    std::string bytes((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
    if (in.bad()) return Status::IoError("reading " + where + " failed");
    if (bytes.size() % schema.record_size() != 0) {
      return Status::InvalidArgument(
          where + ": " + std::to_string(bytes.size()) +
          " bytes is not a whole number of " +
          std::to_string(schema.record_size()) + "-byte records");
    }
    return bytes;
  }
  RecordEncoder encoder(schema);
  std::vector<uint8_t> out;
  std::string line;
  size_t line_number = 0;
  bool header_seen = false;
  const uint64_t now = NowNs();
  while (std::getline(in, line)) {
    ++line_number;
    std::string_view text = line;
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
      text.remove_prefix(1);
    }
    if (text.empty() || text == "\r" || text.front() == '#') continue;
    Status status;
    if (format == "csv" && !header_seen) {
      status = encoder.SetCsvHeader(line);
      header_seen = true;
    } else if (format == "csv") {
      status = encoder.EncodeCsvRow(line, now, out);
    } else {
      status = encoder.EncodeKeyValueLine(line, now, out);
    }
    if (!status.ok()) {
      return Status::InvalidArgument(where + ":" + std::to_string(line_number) +
                                     ": " + status.message());
    }
  }
  if (in.bad()) return Status::IoError("reading " + where + " failed");
  return std::string(out.begin(), out.end());
}

}  // namespace

int Append(Session& s) {
  const CommandArgs& a = s.args();
  const std::string format = FormatOf(a.file, a.format);
  Result<AgentClient::MultilogDescription> d =
      s.client().DescribeMultilog(s.multilog());
  if (!d.ok()) return s.Fail(d.status().message());
  Result<std::string> records = ReadRecords(a.file, format, *d->schema);
  if (!records.ok()) return s.Fail(records.status().message());

  const size_t size = d->schema->record_size();
  const size_t n = records->size() / size;
  if (n == 0) return s.Fail("no records to append");
  size_t batch = a.batch;
  if (batch == 0) batch = std::max<size_t>(1, kAppendBatchBytes / size);
  if (d->info.max_batch_records() > 0) {
    batch = std::min<size_t>(batch, d->info.max_batch_records());
  }

  uint64_t first_offset = 0, last_offset = 0, batches = 1;
  if (n <= batch) {
    // One call: Append for a single record, AppendBatch for more.
    v1::AppendResponse response;
    grpc::Status status;
    if (n == 1) {
      v1::AppendRequest request;
      request.set_multilog(s.multilog());
      request.set_record(*records);
      request.set_timestamp_now(a.timestamp_now);
      status = s.client().stub().Append(s.client().Context().get(), request,
                                        &response);
    } else {
      v1::AppendBatchRequest request;
      request.set_multilog(s.multilog());
      request.set_records(*records);
      request.set_timestamp_now(a.timestamp_now);
      status = s.client().stub().AppendBatch(s.client().Context().get(),
                                             request, &response);
    }
    if (!status.ok()) return s.Fail(status);
    first_offset = last_offset = response.first_offset();
  } else {
    // A long input may take longer than one call's timeout: no deadline,
    // but each batch must be accepted.
    auto context = s.client().Context(/*deadline=*/false);
    v1::AppendStreamResponse response;
    auto writer = s.client().stub().AppendStream(context.get(), &response);
    for (size_t at = 0; at < n; at += batch) {
      v1::AppendBatchRequest request;
      request.set_multilog(s.multilog());
      request.set_records(
          records->substr(at * size, std::min(batch, n - at) * size));
      request.set_timestamp_now(a.timestamp_now);
      if (!writer->Write(request)) break;  // the status says why
    }
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    if (!status.ok()) return s.Fail(status);
    first_offset = response.first_offset();
    last_offset = response.last_offset();
    batches = response.batches();
  }

  if (s.json()) {
    JsonWriter json;
    json.BeginObject()
        .Key("multilog")
        .String(s.multilog())
        .Key("records")
        .Uint(n)
        .Key("batches")
        .Uint(batches)
        .Key("first_offset")
        .Uint(first_offset)
        .Key("last_offset")
        .Uint(last_offset + (n - 1) % batch * size)
        .EndObject();
    return s.OutputJson(json);
  }
  const uint64_t last_record = last_offset + (n - 1) % batch * size;
  return s.Output("appended " + std::to_string(n) + " record" +
                  (n == 1 ? "" : "s") + " to " + s.multilog() + " (offsets " +
                  std::to_string(first_offset) + " to " +
                  std::to_string(last_record) + ", " + std::to_string(batches) +
                  " batch" + (batches == 1 ? "" : "es") + ")\n");
}

// --- read and queries --------------------------------------------------------

int Read(Session& s) {
  const CommandArgs& a = s.args();
  if (a.count == 0) return s.Usage("--count: must be at least 1");
  Result<AgentClient::MultilogDescription> d =
      s.client().DescribeMultilog(s.multilog());
  if (!d.ok()) return s.Fail(d.status().message());
  Result<std::vector<const Column*>> columns =
      SelectColumns(*d->schema, a.columns);
  if (!columns.ok()) return s.Usage(columns.status().message());
  const uint64_t size = d->schema->record_size();

  v1::ReadRequest request;
  request.set_multilog(s.multilog());
  request.set_count(a.count);
  request.set_snapshot(a.snapshot);
  request.set_snapshot_id(a.snapshot_id);
  if (a.offset) {
    request.set_offset(*a.offset);
  } else {
    // The last `count` records below the snapshot.
    uint64_t tail = a.snapshot ? a.snapshot : d->info.read_tail();
    if (!a.snapshot_id.empty()) {
      Result<uint64_t> named = SnapshotTailOf(s, a.snapshot_id, s.multilog());
      if (!named.ok()) return s.Fail(named.status().message());
      tail = *named;
    }
    const uint64_t want = static_cast<uint64_t>(a.count) * size;
    const uint64_t head = d->info.head();
    request.set_offset(tail > head + want ? tail - want : head);
    request.set_snapshot(tail);
  }
  v1::ReadResponse response;
  const grpc::Status status =
      s.client().stub().Read(s.client().Context().get(), request, &response);
  if (!status.ok()) return s.Fail(status);

  const std::string& bytes = response.records();
  if (s.json()) {
    JsonWriter json;
    json.BeginObject();
    json.Key("multilog").String(s.multilog());
    json.Key("first_offset").Uint(response.first_offset());
    json.Key("next_offset").Uint(response.next_offset());
    json.Key("snapshot").Uint(response.snapshot());
    json.Key("head").Uint(response.head());
    json.Key("records").BeginArray();
    for (size_t at = 0; at + size <= bytes.size(); at += size) {
      WriteRecordJson(json, *columns, response.first_offset() + at,
                      reinterpret_cast<const uint8_t*>(bytes.data() + at));
    }
    json.EndArray().EndObject();
    return s.OutputJson(json);
  }
  Table table = RecordsTable(*columns, /*with_offsets=*/true);
  for (size_t at = 0; at + size <= bytes.size(); at += size) {
    AddRecordRow(table, *columns, true, response.first_offset() + at,
                 reinterpret_cast<const uint8_t*>(bytes.data() + at));
  }
  return s.Output(table.Render() + "(" + std::to_string(response.count()) +
                  " records from offset " +
                  std::to_string(response.first_offset()) + "; next " +
                  std::to_string(response.next_offset()) + ", snapshot " +
                  std::to_string(response.snapshot()) + ")\n");
}

namespace {

// A request over a window of time: the multilog, --from, --to and
// --snapshot, for every message that has them.
template <typename Request>
std::optional<Request> WindowRequest(Session& s) {
  const CommandArgs& a = s.args();
  const auto t0 = s.Time("--from", a.from, 0);
  const auto t1 = s.Time("--to", a.to, 0);
  if (!t0 || !t1) return std::nullopt;
  Request r;
  r.set_multilog(s.multilog());
  r.set_t0_ns(*t0);
  r.set_t1_ns(*t1);
  r.set_snapshot(a.snapshot);
  r.set_snapshot_id(a.snapshot_id);
  return r;
}

template <typename Request>
using QueryCall = std::unique_ptr<grpc::ClientReader<v1::QueryResponse>> (
    v1::Agent::Stub::*)(grpc::ClientContext*, const Request&);

// Runs a query (ExecuteFilter or QueryFilter), following pages with --all,
// and prints its records.
template <typename Request>
int RunQuery(Session& s, Request request, QueryCall<Request> call) {
  const CommandArgs& a = s.args();
  Result<AgentClient::MultilogDescription> d =
      s.client().DescribeMultilog(s.multilog());
  if (!d.ok()) return s.Fail(d.status().message());
  Result<std::vector<const Column*>> columns =
      SelectColumns(*d->schema, a.columns);
  if (!columns.ok()) return s.Usage(columns.status().message());
  const size_t size = d->schema->record_size();

  JsonWriter json;
  if (s.json()) {
    json.BeginObject();
    json.Key("multilog").String(s.multilog());
    json.Key(a.offsets_only ? "offsets" : "records").BeginArray();
  }
  Table table = RecordsTable(*columns, a.with_offsets);
  std::string offsets_text;
  v1::QuerySummary summary;
  uint64_t total = 0, pages = 0;
  std::string page_token = a.page_token;
  do {
    auto context = s.client().Context();
    request.set_limit(a.limit);
    request.set_page_token(page_token);
    request.set_offsets_only(a.offsets_only);
    auto reader = (s.client().stub().*call)(context.get(), request);
    v1::QueryResponse chunk;
    while (reader->Read(&chunk)) {
      const std::string& bytes = chunk.records();
      for (int i = 0; i < chunk.offsets_size(); ++i) {
        const uint64_t offset = chunk.offsets(i);
        ++total;
        if (a.offsets_only) {
          if (s.json()) {
            json.Uint(offset);
          } else {
            offsets_text += std::to_string(offset) + "\n";
          }
          continue;
        }
        if ((static_cast<size_t>(i) + 1) * size > bytes.size()) break;
        const auto* record =
            reinterpret_cast<const uint8_t*>(bytes.data() + i * size);
        if (s.json()) {
          WriteRecordJson(json, *columns, offset, record);
        } else {
          AddRecordRow(table, *columns, a.with_offsets, offset, record);
        }
      }
      if (chunk.has_summary()) summary = chunk.summary();
    }
    const grpc::Status status = reader->Finish();
    if (!status.ok()) return s.Fail(status);
    ++pages;
    page_token = summary.truncated() ? summary.next_page_token() : "";
  } while (a.all && !page_token.empty() && !interrupt::Interrupted());

  if (s.json()) {
    json.EndArray();
    json.Key("summary");
    summary.set_records(total);
    WriteProtoJson(json, summary);
    json.Key("pages").Uint(pages);
    json.EndObject();
    return s.OutputJson(json);
  }
  std::string out = a.offsets_only ? offsets_text : table.Render();
  out += "(" + std::to_string(total) + " record" + (total == 1 ? "" : "s");
  if (!summary.plan().empty()) out += "; plan: " + summary.plan();
  out += "; snapshot " + std::to_string(summary.snapshot());
  if (summary.expired() > 0) {
    out += "; " + std::to_string(summary.expired()) +
           " matching records left out: retention retired them";
  }
  if (summary.partial()) {
    out += "; partial: the window starts before offset " +
           std::to_string(summary.covers_from()) + ", the first covered";
  }
  out += ")\n";
  if (summary.truncated()) {
    out += "more records match: use --all, a larger --limit, or --page-token " +
           summary.next_page_token() + "\n";
  }
  return s.Output(out);
}

}  // namespace

int Query(Session& s) {
  auto r = WindowRequest<v1::ExecuteFilterRequest>(s);
  if (!r) return kExitUsage;
  r->set_expression(Joined(s.args().expression_words));
  return RunQuery(s, *r, &v1::Agent::Stub::ExecuteFilter);
}

int FilterQuery(Session& s) {
  auto r = WindowRequest<v1::QueryFilterRequest>(s);
  if (!r) return kExitUsage;
  r->set_filter(s.args().name);
  return RunQuery(s, *r, &v1::Agent::Stub::QueryFilter);
}

int AggregateGet(Session& s) {
  const CommandArgs& a = s.args();
  if (!a.series) {
    auto r = WindowRequest<v1::GetAggregateRequest>(s);
    if (!r) return kExitUsage;
    r->set_name(a.name);
    v1::GetAggregateResponse response;
    const grpc::Status status = s.client().stub().GetAggregate(
        s.client().Context().get(), *r, &response);
    if (!status.ok()) return s.Fail(status);
    if (s.json()) return s.OutputProto(response);
    return s.Output(AggregateText(a.name, response));
  }

  auto r = WindowRequest<v1::GetAggregateSeriesRequest>(s);
  if (!r) return kExitUsage;
  r->set_name(a.name);
  r->set_histograms(a.histograms);
  auto context = s.client().Context();
  auto reader = s.client().stub().GetAggregateSeries(context.get(), *r);
  v1::GetAggregateSeriesResponse header, chunk;
  std::vector<v1::SeriesBucket> buckets;
  bool first = true;
  while (reader->Read(&chunk)) {
    if (first) {
      header = chunk;
      header.clear_buckets();
      first = false;
    }
    for (const v1::SeriesBucket& b : chunk.buckets()) buckets.push_back(b);
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return s.Fail(status);
  if (s.json()) {
    JsonWriter json;
    json.BeginObject();
    json.Key("name").String(a.name);
    json.Key("function").String(header.function());
    json.Key("bucket_ns").Uint(header.bucket_ns());
    json.Key("covers_from").Uint(header.covers_from());
    json.Key("partial").Bool(header.partial());
    json.Key("snapshot").Uint(header.snapshot());
    json.Key("buckets").BeginArray();
    for (const v1::SeriesBucket& b : buckets) WriteProtoJson(json, b);
    json.EndArray().EndObject();
    return s.OutputJson(json);
  }
  std::string out = "aggregate " + a.name + " (" + header.function() +
                    "), buckets of " + DurationText(header.bucket_ns()) +
                    ", snapshot " + std::to_string(header.snapshot());
  if (header.partial()) out += ", partial";
  out += "\n" + SeriesTable(buckets, a.histograms);
  out += "(" + std::to_string(buckets.size()) + " non-empty buckets)\n";
  return s.Output(out);
}

// --- alerts ------------------------------------------------------------------

namespace {

// alerts --follow: SubscribeAlerts until Ctrl-C (exit 0), stdout closes
// (exit 0) or the agent ends the stream (exit 1).
int AlertsFollow(Session& s, uint64_t since) {
  v1::SubscribeAlertsRequest r;
  if (s.args().multilog_given) r.set_multilog(s.multilog());
  r.set_since_ns(since);
  r.set_trigger(s.args().trigger);
  // The position to resume from: --after, advanced by every alert seen;
  // printed (on stderr) when the stream ends.
  AlertCursorText cursor;
  if (!s.args().after.empty()) {
    Result<AlertCursorText> parsed = ParseAlertCursor(s.args().after);
    if (!parsed.ok()) return s.Usage(parsed.status().message());
    cursor = std::move(parsed).value();
    for (const auto& [name, p] : cursor) {
      v1::AlertCursor& c = (*r.mutable_after())[name];
      c.set_incarnation(p.incarnation);
      c.set_sequence(p.sequence);
    }
  }
  struct PrintCursor {
    const AlertCursorText& cursor;
    ~PrintCursor() {
      if (!cursor.empty()) {
        std::fprintf(stderr, "resume with: --after %s\n",
                     FormatAlertCursor(cursor).c_str());
      }
    }
  } print_cursor{cursor};
  std::unique_ptr<grpc::ClientContext> context =
      s.client().Context(/*deadline=*/false);
  grpc::ClientContext* raw = context.get();
  interrupt::OnInterrupt([raw] { raw->TryCancel(); });
  auto reader = s.client().stub().SubscribeAlerts(raw, r);
  // The agent sends its headers as soon as the stream is live: from then
  // on a failure is the agent's, not a connection that never was.
  reader->WaitForInitialMetadata();
  bool reached = s.client().Connected();
  v1::AlertEvent event;
  bool output_gone = false;
  while (reader->Read(&event)) {
    reached = true;
    if (event.synced() || event.heartbeat()) {
      if (s.json() && event.synced() && !s.Print("{\"synced\":true}\n")) {
        output_gone = true;
        raw->TryCancel();
        break;
      }
      continue;
    }
    cursor[event.alert().multilog()] = {event.alert().incarnation(),
                                        event.alert().sequence()};
    std::string line;
    if (s.json()) {
      JsonWriter json;
      WriteProtoJson(json, event);
      line = json.str() + "\n";
    } else {
      if (event.lost() > 0) {
        line += "(" + std::to_string(event.lost()) +
                " alerts lost before the next one: the agent's alert log "
                "retired them before loupectl read them)\n";
      }
      if (event.cursor_reset()) {
        line += "(the cursor named an earlier life of " +
                event.alert().multilog() +
                "'s alert log: replaying it from its start)\n";
      }
      line += AlertLine(event.alert()) + "\n";
    }
    if (!s.Print(line)) {
      output_gone = true;
      raw->TryCancel();
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  interrupt::OnInterrupt(nullptr);
  if (interrupt::Interrupted() || output_gone) return kExitOk;
  if (status.ok()) return s.Fail("the agent ended the alert stream");
  return s.Fail(status, reached);
}

}  // namespace

int Alerts(Session& s) {
  const CommandArgs& a = s.args();
  const auto since = s.Time("--since", a.since, 0);
  const auto to = s.Time("--to", a.to, 0);
  if (!since || !to) return kExitUsage;
  if (a.follow) return AlertsFollow(s, *since);

  std::vector<v1::Alert> alerts;
  std::string page_token = a.page_token;
  bool truncated = false;
  do {
    v1::GetAlertsRequest r;
    if (a.multilog_given) r.set_multilog(s.multilog());
    r.set_t0_ns(*since);
    r.set_t1_ns(*to);
    r.set_trigger(a.trigger);
    r.set_limit(a.limit);
    r.set_page_token(page_token);
    auto context = s.client().Context();
    auto reader = s.client().stub().GetAlerts(context.get(), r);
    v1::GetAlertsResponse chunk;
    truncated = false;
    page_token.clear();
    while (reader->Read(&chunk)) {
      for (const v1::Alert& alert : chunk.alerts()) alerts.push_back(alert);
      if (chunk.done()) {
        truncated = chunk.truncated();
        page_token = chunk.next_page_token();
      }
    }
    const grpc::Status status = reader->Finish();
    if (!status.ok()) return s.Fail(status);
  } while (a.all && truncated && !page_token.empty() &&
           !interrupt::Interrupted());

  if (s.json()) {
    JsonWriter json;
    json.BeginObject();
    json.Key("alerts").BeginArray();
    for (const v1::Alert& alert : alerts) WriteProtoJson(json, alert);
    json.EndArray();
    json.Key("truncated").Bool(truncated);
    json.Key("next_page_token").String(truncated ? page_token : "");
    json.EndObject();
    return s.OutputJson(json);
  }
  Table table = AlertsTable();
  for (const v1::Alert& alert : alerts) AddAlertRow(table, alert);
  std::string out = table.Render();
  out += "(" + std::to_string(alerts.size()) + " alert" +
         (alerts.size() == 1 ? "" : "s") + ")\n";
  if (truncated) {
    out += "more alerts match: use --all, a larger --limit, or --page-token " +
           page_token + "\n";
  }
  return s.Output(out);
}

// --- operations --------------------------------------------------------------

int Stats(Session& s) {
  v1::StatsResponse response;
  const grpc::Status status = s.client().stub().Stats(
      s.client().Context().get(), v1::StatsRequest(), &response);
  if (!status.ok()) return s.Fail(status);
  return s.json() ? s.OutputProto(response) : s.Output(StatsText(response));
}

int Health(Session& s) {
  v1::HealthResponse response;
  const grpc::Status status = s.client().stub().Health(
      s.client().Context().get(), v1::HealthRequest(), &response);
  if (!status.ok()) return s.Fail(status);
  const int printed =
      s.json() ? s.OutputProto(response) : s.Output(HealthText(response));
  if (printed != kExitOk) return printed;
  return response.status() == v1::HealthResponse::SERVING ? kExitOk
                                                          : kExitFailed;
}

namespace {

// Terminal rows and columns; 24x80 when unknown.
std::pair<size_t, size_t> TerminalSize() {
  winsize ws = {};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
      ws.ws_col > 0) {
    return {ws.ws_row, ws.ws_col};
  }
  return {24, 80};
}

// The frame cut to the screen (a wrapped line would scroll it), each line
// clearing what the last frame left.
std::string ScreenText(const std::string& frame, size_t rows, size_t cols) {
  std::string out(kHome);
  size_t start = 0, line = 0;
  while (start < frame.size() && line + 1 < rows) {
    size_t end = frame.find('\n', start);
    if (end == std::string::npos) end = frame.size();
    size_t shown = 0;
    for (size_t i = start; i < end; ++i) {
      // Count code points: skip UTF-8 continuation bytes.
      if ((static_cast<unsigned char>(frame[i]) & 0xC0) != 0x80 &&
          ++shown > cols) {
        end = i;
        break;
      }
    }
    out.append(frame, start, end - start);
    out += kClearLine;
    out += '\n';
    const size_t newline = frame.find('\n', start);
    start = newline == std::string::npos ? frame.size() : newline + 1;
    ++line;
  }
  out += kClearBelow;
  return out;
}

}  // namespace

int Top(Session& s) {
  const CommandArgs& a = s.args();
  Result<uint64_t> interval = ParseDurationNs(a.interval);
  if (!interval.ok() || *interval < kNsPerMs * 100) {
    return s.Usage("--interval: " + (interval.ok()
                                         ? "at least 100ms"
                                         : interval.status().message()));
  }
  const bool live = isatty(STDOUT_FILENO) && !a.refreshes && !s.json();
  const uint64_t refreshes = a.refreshes ? *a.refreshes : 5;

  TopOptions options;
  options.multilog = s.multilog();
  options.interval = std::chrono::nanoseconds(*interval);
  options.sample_limit = a.sample_limit;
  options.src_column = a.src_column;
  options.dst_column = a.dst_column;
  options.bytes_column = a.bytes_column;
  TopSampler sampler(&s.client(), options);

  // Ctrl-C wakes the sleep below; the loop then restores the terminal.
  interrupt::OnInterrupt([] {});
  if (live) {
    interrupt::SetExitOutput(std::string(kLeaveScreen));
    s.Print(std::string(kEnterScreen) + std::string(kHome) +
            "loupe top: connecting to " + s.client().target() + " ...\n");
  }
  int rc = kExitOk;
  // The first sample is the base of the first rates: it is not shown.
  Result<TopFrame> baseline = sampler.Next();
  if (!baseline.ok() && !live) {
    interrupt::OnInterrupt(nullptr);
    return s.Fail(baseline.status().message());
  }
  auto next_time = std::chrono::steady_clock::now() + options.interval;
  for (uint64_t shown = 0; live || shown < refreshes; ++shown) {
    const auto wait = next_time - std::chrono::steady_clock::now();
    if (wait.count() > 0 && interrupt::SleepFor(wait)) break;
    if (interrupt::Interrupted()) break;
    next_time += options.interval;
    if (next_time < std::chrono::steady_clock::now()) {
      next_time = std::chrono::steady_clock::now() + options.interval;
    }
    Result<TopFrame> frame = sampler.Next();
    if (interrupt::Interrupted()) break;
    const auto [rows, cols] = TerminalSize();
    if (!frame.ok()) {
      if (!live) {
        rc = s.Fail(frame.status().message());
        break;
      }
      s.Print(ScreenText("loupe top  " + s.client().target() + "\n\nerror: " +
                             frame.status().message() + "\n(retrying every " +
                             DurationText(*interval) + "; Ctrl-C to quit)\n",
                         rows, cols));
      continue;
    }
    bool printed;
    if (s.json()) {
      JsonWriter json;
      WriteTopFrameJson(json, *frame);
      printed = s.Print(json.str() + "\n");
    } else if (live) {
      printed = s.Print(ScreenText(RenderTopFrame(*frame, cols), rows, cols));
    } else {
      printed = s.Print((shown > 0 ? "\n" : "") + RenderTopFrame(*frame));
    }
    if (!printed) break;  // the reader went away
  }
  if (live) {
    s.Print(kLeaveScreen);
    interrupt::SetExitOutput("");
  }
  interrupt::OnInterrupt(nullptr);
  return rc;
}

int MultilogList(Session& s) { return ListMultilogs(s, false); }
int MultilogShow(Session& s) { return ListMultilogs(s, true); }

}  // namespace loupe::ctl
