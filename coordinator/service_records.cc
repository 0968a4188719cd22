// CoordinatorService: network-wide ExecuteFilter and QueryFilter -- every
// selected agent's matching records, merged by timestamp under one limit
// (coordinator/fleet/merge_records.h), with a page token that holds each
// host's position.
//
// Paging: each host is asked for `limit` records from its position (its
// own page token, which pins its tail and its offset). A host whose
// records were only partly taken is asked once more, for offsets only and
// just the records taken, so that its next page token starts right after
// them: a page costs at most one extra offsets-only call per host, never
// the query from the start. The coordinator's token is the hex of a
// FleetPageToken with a hash of the request it continues; the agents
// authenticate their own tokens, so a forged one is refused by them or
// here.
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/client/agent_client.h"
#include "agent/grpc_status.h"
#include "coordinator/fleet/merge_records.h"
#include "coordinator/service.h"
#include "multilog/ascii.h"

namespace loupe::coordinator {
namespace {

constexpr uint32_t kDefaultLimit = 1000;
constexpr uint32_t kMaxLimit = 100'000;
// Record bytes in one answer; the limit shrinks to fit.
constexpr size_t kMaxAnswerBytes = 32 << 20;
constexpr size_t kMaxTokenBytes = 1 << 20;

grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

std::string Describe(const grpc::Status& s) {
  return std::string(GrpcCodeName(s.error_code())) + ": " + s.error_message();
}

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

bool Unhex(const std::string& hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

// FNV-1a over the request without its page token, timeout and decode.
uint64_t RequestHash(const v1::FleetFilterRequest& request, bool execute) {
  v1::FleetFilterRequest r = request;
  r.clear_page_token();
  r.mutable_fleet()->clear_timeout_ms();
  r.clear_decode();  // rows or not, the positions are the same
  std::string bytes;
  r.SerializeToString(&bytes);
  bytes += execute ? 'E' : 'Q';
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// One host's answer to one page.
struct HostAnswer {
  grpc::Status status;
  std::vector<uint64_t> offsets;
  std::string records;
  std::vector<v1::Row> rows;
  std::vector<std::string> columns;
  uint32_t record_size = 0;
  v1::QuerySummary summary;
};

}  // namespace

grpc::Status CoordinatorService::ExecuteFilter(
    grpc::ServerContext* context, const v1::FleetFilterRequest* request,
    v1::FleetFilterResponse* response) {
  return Records(context, *request, /*execute=*/true, response);
}

grpc::Status CoordinatorService::QueryFilter(
    grpc::ServerContext* context, const v1::FleetFilterRequest* request,
    v1::FleetFilterResponse* response) {
  return Records(context, *request, /*execute=*/false, response);
}

grpc::Status CoordinatorService::Records(grpc::ServerContext*,
                                         const v1::FleetFilterRequest& request,
                                         bool execute,
                                         v1::FleetFilterResponse* response) {
  if (shutting_down_.load(std::memory_order_acquire)) return Unavailable();
  const v1::FleetQuery& q = request.fleet();
  if (q.timeout_ms() > kMaxQueryTimeoutMs) {
    return Invalid("fleet.timeout_ms " + std::to_string(q.timeout_ms()) +
                   " is over the limit of " +
                   std::to_string(kMaxQueryTimeoutMs));
  }
  if (request.filter().empty()) {
    return Invalid(execute ? "ExecuteFilter: no expression (filter is empty)"
                           : "QueryFilter: no filter named (filter is empty)");
  }
  const uint32_t asked = request.limit() == 0 ? kDefaultLimit : request.limit();
  if (asked > kMaxLimit) {
    return Invalid("limit " + std::to_string(asked) + " is over the limit of " +
                   std::to_string(kMaxLimit) +
                   " records per answer; page with next_page_token");
  }
  std::optional<v1::FleetSnapshot> snapshot;
  Targets targets;
  grpc::Status s = Resolve(q, &snapshot, &targets);
  if (!s.ok()) return s;
  const v1::FleetSnapshot* at = snapshot ? &*snapshot : nullptr;

  // Positions: from the token, or every host from the start.
  const uint64_t hash = RequestHash(request, execute);
  std::vector<v1::FleetPageToken::Position> pos(targets.agents.size());
  for (size_t i = 0; i < pos.size(); ++i) {
    pos[i].set_agent(targets.agents[i].name);
  }
  if (!request.page_token().empty()) {
    std::string bytes;
    v1::FleetPageToken token;
    if (request.page_token().size() > kMaxTokenBytes ||
        !Unhex(request.page_token(), &bytes) || !token.ParseFromString(bytes)) {
      return Invalid("page_token is not one this coordinator made");
    }
    if (token.request_hash() != hash) {
      return Invalid(
          "page_token belongs to another request (ask again with the same "
          "selector, multilog, filter, window, limit and snapshot)");
    }
    for (const v1::FleetPageToken::Position& p : token.positions()) {
      size_t i = 0;
      while (i < pos.size() && pos[i].agent() != p.agent()) ++i;
      if (i == pos.size()) {
        return Invalid("page_token names agent " + Quoted(p.agent()) +
                       ", which this request does not select (now)");
      }
      pos[i] = p;
    }
  }

  // Every host at once, each on a thread of its own (streaming calls),
  // each with the query's deadline.
  const auto deadline =
      std::chrono::system_clock::now() +
      std::chrono::milliseconds(q.timeout_ms() == 0 ? kDefaultQueryTimeoutMs
                                                    : q.timeout_ms());
  auto fetch = [&](size_t i, const std::string& agent_token, uint32_t limit,
                   bool offsets_only, HostAnswer* a) {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline);
    std::unique_ptr<grpc::ClientReader<v1::QueryResponse>> reader;
    v1::ExecuteFilterRequest er;
    v1::QueryFilterRequest qr;
    if (execute) {
      er.set_multilog(request.multilog());
      er.set_expression(request.filter());
      er.set_t0_ns(request.t0_ns());
      er.set_t1_ns(request.t1_ns());
      er.set_limit(limit);
      er.set_page_token(agent_token);
      er.set_decode(request.decode() && !offsets_only);
      er.set_offsets_only(offsets_only);
      if (at != nullptr) er.set_snapshot_id(at->id());
      reader = targets.agents[i].stub->ExecuteFilter(&ctx, er);
    } else {
      qr.set_multilog(request.multilog());
      qr.set_filter(request.filter());
      qr.set_t0_ns(request.t0_ns());
      qr.set_t1_ns(request.t1_ns());
      qr.set_limit(limit);
      qr.set_page_token(agent_token);
      qr.set_decode(request.decode() && !offsets_only);
      qr.set_offsets_only(offsets_only);
      if (at != nullptr) qr.set_snapshot_id(at->id());
      reader = targets.agents[i].stub->QueryFilter(&ctx, qr);
    }
    v1::QueryResponse chunk;
    while (reader->Read(&chunk)) {
      if (chunk.record_size() != 0) a->record_size = chunk.record_size();
      if (chunk.columns_size() != 0) {
        a->columns.assign(chunk.columns().begin(), chunk.columns().end());
      }
      a->offsets.insert(a->offsets.end(), chunk.offsets().begin(),
                        chunk.offsets().end());
      a->records += chunk.records();
      for (v1::Row& r : *chunk.mutable_rows()) a->rows.push_back(r);
      if (chunk.has_summary()) a->summary = chunk.summary();
    }
    a->status = reader->Finish();
  };
  // Runs `each(i)` for every i in `which` at once, one thread each.
  auto parallel = [](const std::vector<size_t>& which,
                     const std::function<void(size_t)>& each) {
    std::vector<std::thread> threads;
    threads.reserve(which.size());
    for (size_t i : which) threads.emplace_back(each, i);
    for (std::thread& t : threads) t.join();
  };

  std::vector<HostAnswer> answers(targets.agents.size());
  std::vector<size_t> asking;
  for (size_t i = 0; i < pos.size(); ++i) {
    if (!pos[i].done()) asking.push_back(i);
  }
  parallel(asking, [&](size_t i) {
    fetch(i, pos[i].agent_token(), asked, false, &answers[i]);
  });

  uint32_t record_size = 0;
  std::vector<std::string> columns;
  std::vector<HostRecords> lists(answers.size());
  for (size_t i = 0; i < answers.size(); ++i) {
    HostAnswer& a = answers[i];
    const std::string& name = targets.agents[i].name;
    v1::FleetFilterHost* host = response->add_hosts();
    host->set_agent(name);
    if (at != nullptr) {
      for (const v1::FleetSnapshotHost& h : at->hosts()) {
        if (h.agent() == name) host->set_clock_offset_ns(h.clock_offset_ns());
      }
    }
    if (pos[i].done()) {
      host->set_done(true);
      continue;
    }
    if (!a.status.ok()) {
      if (!q.allow_partial()) {
        return grpc::Status(
            a.status.error_code(),
            "agent " + Quoted(name) + ": " + a.status.error_message());
      }
      host->set_error(Describe(a.status));
      targets.excluded.push_back(name + ": " + host->error());
      continue;
    }
    if (record_size == 0) {
      record_size = a.record_size;
      columns = a.columns;
    } else if (a.record_size != 0 && a.record_size != record_size) {
      return grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          "agent " + Quoted(name) + " has " + std::to_string(a.record_size) +
              "-byte records and another host " + std::to_string(record_size) +
              ": multilog " + Quoted(request.multilog()) +
              " has different schemas on the selected hosts");
    }
    const size_t rs = a.record_size;
    if (rs != 0 && a.records.size() >= a.offsets.size() * rs) {
      lists[i].count = a.offsets.size();
      lists[i].bytes = a.records;
    }
    host->set_plan(a.summary.plan());
    host->set_expired(a.summary.expired());
    host->set_partial(a.summary.partial());
  }
  size_t limit = asked;
  if (record_size != 0) {
    limit = std::min<size_t>(limit, kMaxAnswerBytes / record_size);
  }
  const std::vector<size_t> taken =
      MergeByTimestamp(lists, record_size, limit, [&](size_t h, size_t index) {
        const HostAnswer& a = answers[h];
        const size_t at_list = index;
        v1::FleetRecord* r = response->add_records();
        r->set_agent(targets.agents[h].name);
        r->set_offset(a.offsets[at_list]);
        r->set_record(std::string(
            lists[h].bytes.substr(index * record_size, record_size)));
        uint64_t ts;
        std::memcpy(&ts, r->record().data(), sizeof(ts));
        r->set_timestamp_ns(ts);
        if (request.decode() && at_list < a.rows.size()) {
          *r->mutable_row() = a.rows[at_list];
        }
      });

  // The next positions. A host whose records were partly taken is asked
  // for just those, offsets only, for a token that starts after them.
  std::vector<size_t> partly;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!pos[i].done() &&
        response->hosts(static_cast<int>(i)).error().empty() && taken[i] > 0 &&
        taken[i] < lists[i].count) {
      partly.push_back(i);
    }
  }
  std::vector<HostAnswer> cut(answers.size());
  parallel(partly, [&](size_t i) {
    fetch(i, pos[i].agent_token(), static_cast<uint32_t>(taken[i]), true,
          &cut[i]);
  });
  v1::FleetPageToken next;
  next.set_request_hash(hash);
  bool more = false;
  for (size_t i = 0; i < answers.size(); ++i) {
    v1::FleetPageToken::Position p = pos[i];
    v1::FleetFilterHost* host = response->mutable_hosts(static_cast<int>(i));
    if (!p.done() && host->error().empty()) {
      host->set_records(taken[i]);
      if (taken[i] == 0) {
        // Nothing of it taken: it starts where it was.
      } else if (taken[i] < lists[i].count) {
        if (!cut[i].status.ok() || !cut[i].summary.truncated()) {
          return grpc::Status(
              grpc::StatusCode::UNAVAILABLE,
              "agent " + Quoted(targets.agents[i].name) +
                  " did not answer where its records continue (" +
                  (cut[i].status.ok() ? std::string("no page token")
                                      : Describe(cut[i].status)) +
                  "); ask again");
        }
        p.set_agent_token(cut[i].summary.next_page_token());
      } else if (answers[i].summary.truncated()) {
        p.set_agent_token(answers[i].summary.next_page_token());
      } else {
        p.set_done(true);
      }
      host->set_done(p.done());
    }
    // A host left out (allow_partial) is retried from where it was.
    more = more || !p.done();
    *next.add_positions() = p;
  }
  response->set_record_size(record_size);
  for (const std::string& c : columns) response->add_columns(c);
  response->set_truncated(more);
  if (more) response->set_next_page_token(Hex(next.SerializeAsString()));
  bool partial = false;
  for (const v1::FleetFilterHost& h : response->hosts()) {
    partial = partial || h.partial();
  }
  SetFleetFields(targets.excluded, partial, at, response);
  return grpc::Status::OK;
}

}  // namespace loupe::coordinator
