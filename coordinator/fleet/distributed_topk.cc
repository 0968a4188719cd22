#include "coordinator/fleet/distributed_topk.h"

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agent/client/agent_client.h"
#include "coordinator/fleet/fan_out.h"
#include "multilog/breakdown.h"
#include "multilog/schema.h"

namespace loupe::coordinator {

namespace {

// One key's identity: its column texts, each prefixed by its length.
std::string IdOf(const v1::KeyText& key) {
  std::string id;
  for (const std::string& v : key.values()) {
    id += std::to_string(v.size());
    id += ':';
    id += v;
  }
  return id;
}

struct Known {
  double value = 0;
  uint64_t count = 0;
};

struct Host {
  bool active = true;
  std::map<std::string, Known> known;  // exact values it sent
  double bound = 0;  // keys it did not send are below (at most) this
  bool cut = false;  // its round-2 list stopped at the k limit
};

class Rounds {
 public:
  Rounds(const std::vector<FleetAgent>& agents, bool allow_partial,
         std::chrono::milliseconds timeout, DistributedTopK* out)
      : agents_(agents),
        allow_partial_(allow_partial),
        timeout_(timeout),
        out_(out),
        hosts_(agents.size()) {}

  // One round: requests[i] to each active host i; `take(i, response)`
  // for each answer. An error fails the round unless hosts may be left
  // out.
  Status Ask(
      const std::vector<v1::GetTopKRequest>& requests,
      const std::function<Status(size_t, const v1::GetTopKResponse&)>& take) {
    std::vector<size_t> which;
    for (size_t i = 0; i < hosts_.size(); ++i) {
      if (hosts_[i].active) which.push_back(i);
    }
    if (which.empty()) return Status::Unavailable("no host answered");
    ++out_->rounds;
    auto replies = FanOut<v1::GetTopKResponse>(
        which.size(), std::chrono::system_clock::now() + timeout_,
        [&](size_t k, grpc::ClientContext* ctx, v1::GetTopKResponse* resp,
            std::function<void(grpc::Status)> done) {
          agents_[which[k]].stub->async()->GetTopK(ctx, &requests[which[k]],
                                                   resp, std::move(done));
        });
    for (size_t k = 0; k < which.size(); ++k) {
      const size_t i = which[k];
      Status s =
          replies[k].status.ok()
              ? Status::Ok()
              : Status::Unavailable(
                    std::string(GrpcCodeName(replies[k].status.error_code())) +
                    ": " + replies[k].status.error_message());
      if (s.ok()) s = take(i, replies[k].response);
      if (s.ok()) continue;
      if (!allow_partial_ || s.code() == Status::Code::kFailedPrecondition) {
        return s.Annotate(agents_[i].name);
      }
      hosts_[i].active = false;
      out_->excluded.push_back(agents_[i].name + ": " + s.message());
      out_->partial = true;
    }
    return Status::Ok();
  }

  std::vector<Host>& hosts() { return hosts_; }
  size_t active() const {
    return static_cast<size_t>(std::count_if(
        hosts_.begin(), hosts_.end(), [](const Host& h) { return h.active; }));
  }

 private:
  const std::vector<FleetAgent>& agents_;
  const bool allow_partial_;
  const std::chrono::milliseconds timeout_;
  DistributedTopK* out_;
  std::vector<Host> hosts_;
};

// `signed_values`: the values may be negative (answered from every key).
Status TakeEntry(const v1::TopKEntry& e, Host* host,
                 std::map<std::string, v1::KeyText>* keys,
                 bool signed_values = false) {
  if (e.value() < 0 && !signed_values) {
    return Status::FailedPrecondition(
        "a key's value is negative (" + std::to_string(e.value()) +
        "); the network-wide top k is exact only for non-negative values "
        "(counts, sums of unsigned columns)");
  }
  const std::string id = IdOf(e.key());
  host->known[id] = Known{e.value(), e.count()};
  keys->emplace(id, e.key());
  return Status::Ok();
}

// Sums over hosts of what each knows of `id`; `upper` adds each active
// host's bound where it does not know the key.
double Lower(const std::vector<Host>& hosts, const std::string& id,
             double* upper) {
  double lower = 0, up = 0;
  for (const Host& h : hosts) {
    if (!h.active) continue;
    auto it = h.known.find(id);
    if (it != h.known.end()) {
      lower += it->second.value;
      up += it->second.value;
    } else {
      up += h.bound;
    }
  }
  if (upper != nullptr) *upper = up;
  return lower;
}

// The k-th largest of `values` (0 when fewer).
double KthLargest(std::vector<double> values, size_t k) {
  if (values.size() < k) return 0;
  std::nth_element(values.begin(), values.begin() + (k - 1), values.end(),
                   std::greater<double>());
  return values[k - 1];
}

// Whether every value summed is >= 0 by its type: counts, unsigned
// columns and booleans. Asked of every host (ListMultilogs), since their
// schemas could differ; a host that does not answer says nothing here (the
// rounds report it).
bool NonNegativeValues(const std::vector<FleetAgent>& agents,
                       const v1::GetTopKRequest& request,
                       std::chrono::milliseconds timeout) {
  if (request.value().empty()) return true;
  v1::ListMultilogsRequest list;
  list.set_name(request.multilog());
  auto replies = FanOut<v1::ListMultilogsResponse>(
      agents.size(), std::chrono::system_clock::now() + timeout,
      [&](size_t i, grpc::ClientContext* ctx, v1::ListMultilogsResponse* out,
          std::function<void(grpc::Status)> done) {
        agents[i].stub->async()->ListMultilogs(ctx, &list, out,
                                               std::move(done));
      });
  for (const auto& r : replies) {
    if (!r.status.ok() || r.response.multilogs_size() != 1) continue;
    Result<Schema> schema = Schema::Parse(r.response.multilogs(0).schema());
    if (!schema.ok()) return false;
    const Column* c = schema->Find(request.value());
    if (c == nullptr) return false;
    switch (c->type) {
      case ColumnType::kBool:
      case ColumnType::kU8:
      case ColumnType::kU16:
      case ColumnType::kU32:
      case ColumnType::kU64:
        break;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

Result<DistributedTopK> TopKAcross(const std::vector<FleetAgent>& agents,
                                   const v1::GetTopKRequest& request,
                                   bool allow_partial,
                                   std::chrono::milliseconds timeout) {
  if (agents.empty()) return Status::InvalidArgument("topk: no agent selected");
  if (request.k() == 0 || request.k() > kMaxTopK) {
    return Status::InvalidArgument("topk: k " + std::to_string(request.k()) +
                                   " is outside 1.." +
                                   std::to_string(kMaxTopK));
  }
  DistributedTopK out;
  Rounds rounds(agents, allow_partial, timeout, &out);
  std::vector<Host>& hosts = rounds.hosts();
  std::map<std::string, v1::KeyText> keys;  // every key seen

  // Round 1: the local top k of every host -- or, for values that may be
  // negative (TPUT's bounds need them >= 0), every key of every host.
  const bool non_negative = NonNegativeValues(agents, request, timeout);
  v1::GetTopKRequest base = request;
  base.clear_min_value();
  base.clear_keys();
  std::vector<v1::GetTopKRequest> requests(agents.size(), base);
  if (!non_negative) {
    for (v1::GetTopKRequest& r : requests) r.set_k(kMaxTopK);
  }
  bool any_more = false;
  Status s = rounds.Ask(requests, [&](size_t i, const v1::GetTopKResponse& r) {
    for (const v1::TopKEntry& e : r.top()) {
      Status t = TakeEntry(e, &hosts[i], &keys, !non_negative);
      if (!t.ok()) return t;
    }
    out.records += r.records();
    out.partial = out.partial || r.partial();
    any_more = any_more || r.more();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  const size_t k = request.k();
  auto lowers = [&] {
    std::vector<double> v;
    v.reserve(keys.size());
    for (const auto& [id, key] : keys) v.push_back(Lower(hosts, id, nullptr));
    return v;
  };

  std::vector<std::string> candidates;
  if (any_more && !non_negative) {
    return Status::FailedPrecondition(
        "topk: '" + request.value() +
        "' may be negative, and then the network-wide top k is exact only "
        "when every host has at most " +
        std::to_string(kMaxTopK) +
        " keys; some host has more: narrow the filter or the window");
  }
  if (any_more) {
    // Round 2: every key of local value >= T = tau1 / m.
    const double tau1 = KthLargest(lowers(), k);
    const double threshold = tau1 / static_cast<double>(rounds.active());
    v1::GetTopKRequest second = base;
    second.set_k(kMaxTopK);
    second.set_min_value(threshold);
    std::fill(requests.begin(), requests.end(), second);
    s = rounds.Ask(requests, [&](size_t i, const v1::GetTopKResponse& r) {
      for (const v1::TopKEntry& e : r.top()) {
        Status t = TakeEntry(e, &hosts[i], &keys);
        if (!t.ok()) return t;
      }
      // What it did not send: below T, or at most its k-th value when
      // its list was cut.
      hosts[i].cut = r.more();
      hosts[i].bound = r.more() ? r.kth_value() : threshold;
      return Status::Ok();
    });
    if (!s.ok()) return s;
    const double tau2 = KthLargest(lowers(), k);
    // A key no host sent totals below tau1 <= tau2 when every host sent
    // every key >= T; a host whose list was cut bounds its unsent keys by
    // its k-th value, inclusive, which may not be enough.
    double unseen = 0;
    bool cut = false;
    for (const Host& h : hosts) {
      if (!h.active) continue;
      unseen += h.bound;
      cut = cut || h.cut;
    }
    if (cut && unseen >= tau2) {
      return Status::FailedPrecondition(
          "topk: more keys pass the threshold on some host than one answer "
          "holds (" +
          std::to_string(kMaxTopK) +
          "), so the exact top k cannot be bounded; narrow the filter or the "
          "window, or ask a smaller k");
    }
    for (const auto& [id, key] : keys) {
      double upper = 0;
      Lower(hosts, id, &upper);
      if (upper >= tau2) candidates.push_back(id);
    }
    out.candidates = candidates.size();

    // Round 3: the candidates' exact values where they are not known,
    // at most kMaxWantedKeys per host and call.
    for (;;) {
      std::vector<std::vector<std::string>> asked(agents.size());
      bool any = false;
      for (size_t i = 0; i < hosts.size(); ++i) {
        requests[i] = base;
        if (!hosts[i].active) continue;
        for (const std::string& id : candidates) {
          if (asked[i].size() == kMaxWantedKeys) break;
          if (hosts[i].known.count(id) != 0) continue;
          asked[i].push_back(id);
          *requests[i].add_keys() = keys[id];
        }
        any = any || !asked[i].empty();
      }
      if (!any) break;
      s = rounds.Ask(requests, [&](size_t i, const v1::GetTopKResponse& r) {
        if (static_cast<size_t>(r.keys_size()) != asked[i].size()) {
          return Status::Unavailable(
              "answered " + std::to_string(r.keys_size()) + " keys of " +
              std::to_string(asked[i].size()));
        }
        for (int j = 0; j < r.keys_size(); ++j) {
          const v1::TopKEntry& e = r.keys(j);
          if (e.value() < 0) return TakeEntry(e, &hosts[i], &keys);
          // Not found: it holds none of the key (value 0).
          hosts[i].known[asked[i][static_cast<size_t>(j)]] =
              Known{e.found() ? e.value() : 0, e.found() ? e.count() : 0};
        }
        return Status::Ok();
      });
      if (!s.ok()) return s;
    }
  } else {
    // Every host sent every key it has: the totals are exact already.
    for (Host& h : hosts) h.bound = 0;
    for (const auto& [id, key] : keys) candidates.push_back(id);
  }

  struct Total {
    const std::string* id;
    double value;
    uint64_t count;
  };
  std::vector<Total> totals;
  totals.reserve(candidates.size());
  for (const std::string& id : candidates) {
    Total t{&id, 0, 0};
    for (const Host& h : hosts) {
      if (!h.active) continue;
      auto it = h.known.find(id);
      if (it == h.known.end()) continue;
      t.value += it->second.value;
      t.count += it->second.count;
    }
    totals.push_back(t);
  }
  const auto by_key = [&](const std::string* a, const std::string* b) {
    const auto& ka = keys[*a].values();
    const auto& kb = keys[*b].values();
    return std::lexicographical_compare(ka.begin(), ka.end(), kb.begin(),
                                        kb.end());
  };
  std::sort(totals.begin(), totals.end(), [&](const Total& a, const Total& b) {
    if (a.value != b.value) return a.value > b.value;
    return by_key(a.id, b.id);
  });
  if (request.has_min_value()) {
    std::erase_if(
        totals, [&](const Total& t) { return t.value < request.min_value(); });
  }
  if (totals.size() > k) totals.resize(k);
  for (const Total& t : totals) {
    v1::TopKEntry* e = &out.top.emplace_back();
    *e->mutable_key() = keys[*t.id];
    e->set_value(t.value);
    e->set_count(t.count);
    e->set_found(true);
  }
  out.kth_value = out.top.size() == k ? out.top.back().value() : 0;
  return out;
}

}  // namespace loupe::coordinator
