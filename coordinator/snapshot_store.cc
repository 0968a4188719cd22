#include "coordinator/snapshot_store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <utility>

#include "multilog/ascii.h"
#include "multilog/atomic_file.h"

namespace loupe::coordinator {
namespace {

constexpr std::string_view kSuffix = ".snapshot";
constexpr size_t kRememberedEnded = 256;

uint64_t SystemNowNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

std::string Hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

v1::FleetHostState ToProto(HostSnapshotState s) {
  switch (s) {
    case HostSnapshotState::kCommitted:
      return v1::FLEET_HOST_STATE_COMMITTED;
    case HostSnapshotState::kAborted:
      return v1::FLEET_HOST_STATE_ABORTED;
    case HostSnapshotState::kFailed:
      return v1::FLEET_HOST_STATE_FAILED;
    case HostSnapshotState::kNoAnswer:
      return v1::FLEET_HOST_STATE_NO_ANSWER;
  }
  return v1::FLEET_HOST_STATE_UNSPECIFIED;
}

Status MakeDirectory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0750) == 0 || errno == EEXIST) {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) {
      return Status::Unavailable(
          Status::FromErrno("cannot use " + dir, errno).message());
    }
    if (!S_ISDIR(st.st_mode)) {
      return Status::Unavailable(dir + " is not a directory");
    }
    return Status::Ok();
  }
  return Status::Unavailable(
      Status::FromErrno("cannot create " + dir, errno).message() +
      " (is the state directory's parent there and writable?)");
}

}  // namespace

const char* FleetHostStateName(v1::FleetHostState state) {
  switch (state) {
    case v1::FLEET_HOST_STATE_COMMITTED:
      return "COMMITTED";
    case v1::FLEET_HOST_STATE_ABORTED:
      return "ABORTED";
    case v1::FLEET_HOST_STATE_FAILED:
      return "FAILED";
    case v1::FLEET_HOST_STATE_NO_ANSWER:
      return "NO_ANSWER";
    case v1::FLEET_HOST_STATE_EXCLUDED:
      return "EXCLUDED";
    default:
      return "UNSPECIFIED";
  }
}

SnapshotStore::SnapshotStore(SnapshotStoreOptions options)
    : options_(std::move(options)) {}

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::Open(
    SnapshotStoreOptions options, JournalRecovery* recovery) {
  if (!options.now_ns) options.now_ns = SystemNowNs;
  LOUPE_RETURN_IF_ERROR(MakeDirectory(options.directory));
  std::unique_ptr<SnapshotStore> store(new SnapshotStore(std::move(options)));
  const std::string& dir = store->options_.directory;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return Status::Unavailable(
        Status::FromErrno("cannot read " + dir, errno).message());
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.size() > kSuffix.size() && name.ends_with(kSuffix)) {
      names.emplace_back(name);
    }
  }
  ::closedir(d);
  const uint64_t now = store->options_.now_ns();
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    Result<std::string> bytes = ReadSmallFile(path, kMaxJournalEntryBytes);
    v1::FleetSnapshot s;
    if (!bytes.ok() || !s.ParseFromString(*bytes) || s.id().empty() ||
        store->PathOf(s.id()) != path) {
      recovery->unreadable.push_back(path + ": " +
                                     (bytes.ok()
                                          ? "not a snapshot journal entry"
                                          : bytes.status().message()));
      continue;
    }
    if (s.committed() && s.expires_ns() > now) {
      store->open_.emplace(s.id(), std::move(s));
      ++recovery->kept;
      continue;
    }
    recovery->to_release.push_back(s);
    store->Unjournal(s.id());
  }
  return store;
}

Status SnapshotStore::CheckShortId(std::string_view id) {
  if (id.size() > kMaxShortSnapshotIdBytes) {
    return Status::InvalidArgument(
        "snapshot id of " + std::to_string(id.size()) +
        " characters; at most " + std::to_string(kMaxShortSnapshotIdBytes));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(id[i]);
    if (c <= ' ' || c >= 0x7f || c == ':') {
      return Status::InvalidArgument(
          "snapshot id: character " + std::to_string(i + 1) +
          " is not allowed; use printable ASCII without blanks or ':' (e.g. "
          "'incident-42')");
    }
  }
  return Status::Ok();
}

std::string SnapshotStore::FullId(std::string_view id) const {
  const std::string prefix = options_.coordinator_name + ":";
  if (id.starts_with(prefix)) return std::string(id);
  return prefix + std::string(id);
}

std::string SnapshotStore::PathOf(const std::string& full_id) const {
  return options_.directory + "/" + Hex(full_id) + std::string(kSuffix);
}

Status SnapshotStore::Journal(const v1::FleetSnapshot& snapshot) const {
  Status s = ReplaceFile(PathOf(snapshot.id()), snapshot.SerializeAsString());
  if (!s.ok()) {
    return Status::Unavailable("cannot record snapshot " +
                               Quoted(snapshot.id()) +
                               " in the state "
                               "directory: " +
                               s.message());
  }
  return Status::Ok();
}

void SnapshotStore::Unjournal(const std::string& full_id) const {
  const std::string path = PathOf(full_id);
  if (::unlink(path.c_str()) == 0) (void)SyncDirectory(options_.directory);
}

void SnapshotStore::ExpireLocked(uint64_t now) {
  for (auto it = open_.begin(); it != open_.end();) {
    if (it->second.expires_ns() > now) {
      ++it;
      continue;
    }
    Unjournal(it->first);
    ended_.emplace_back(it->first, "it expired (kept " +
                                       std::to_string(it->second.keep_s()) +
                                       " s after its commit)");
    it = open_.erase(it);
  }
  while (ended_.size() > kRememberedEnded) ended_.erase(ended_.begin());
}

Status SnapshotStore::NotOpenLocked(const std::string& full_id) const {
  for (auto it = ended_.rbegin(); it != ended_.rend(); ++it) {
    if (it->first == full_id) {
      return Status::NotFound("snapshot " + Quoted(full_id) +
                              " has ended: " + it->second);
    }
  }
  if (pending_.contains(full_id)) {
    return Status::NotFound("snapshot " + Quoted(full_id) +
                            " is still being taken");
  }
  return Status::NotFound("no snapshot " + Quoted(full_id) +
                          " on this coordinator (ListSnapshots shows the "
                          "open ones)");
}

Result<v1::FleetSnapshot> SnapshotStore::Create(
    const std::vector<FleetAgent>& agents,
    const std::vector<std::string>& excluded,
    const v1::CreateSnapshotRequest& request) {
  LOUPE_RETURN_IF_ERROR(CheckShortId(request.id()));
  if (agents.empty()) {
    return Status::InvalidArgument(
        "the selector picks no agent that can take a snapshot" +
        (excluded.empty() ? std::string()
                          : " (left out: " + excluded.front() +
                                (excluded.size() > 1 ? ", ..." : "") + ")"));
  }
  const uint64_t t_start = options_.now_ns();
  std::string full;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ExpireLocked(t_start);
    full = request.id().empty() ? FullId(std::to_string(t_start / 1'000'000) +
                                         "-" + std::to_string(++made_))
                                : FullId(request.id());
    if (open_.contains(full) || pending_.contains(full)) {
      return Status::AlreadyExists("snapshot " + Quoted(full) +
                                   " exists; take a new one under another id");
    }
    if (open_.size() + pending_.size() >= options_.max_open) {
      return Status::ResourceExhausted(
          std::to_string(open_.size() + pending_.size()) +
          " snapshots are open, the most this coordinator keeps; release "
          "one (ReleaseSnapshot) or wait for one to expire");
    }
    pending_.insert(full);
  }
  struct Unpend {
    SnapshotStore* store;
    const std::string& id;
    ~Unpend() {
      std::lock_guard<std::mutex> lock(store->mu_);
      store->pending_.erase(id);
    }
  } unpend{this, full};

  v1::FleetSnapshot out;
  out.set_id(full);
  out.set_selector(request.selector());
  for (const std::string& m : request.multilogs()) out.add_multilogs(m);
  out.set_lease_ms(request.lease_ms() == 0 ? 250 : request.lease_ms());
  out.set_keep_s(request.keep_s() == 0 ? 600 : request.keep_s());
  for (const FleetAgent& a : agents) {
    v1::FleetSnapshotHost* h = out.add_hosts();
    h->set_agent(a.name);
    h->set_state(v1::FLEET_HOST_STATE_NO_ANSWER);
  }
  out.set_t0_ns(t_start);
  // Before the first prepare: a restart after this finds the hosts to
  // release.
  LOUPE_RETURN_IF_ERROR(Journal(out));

  FleetSnapshotOptions options;
  options.id = full;
  options.multilogs.assign(request.multilogs().begin(),
                           request.multilogs().end());
  options.lease_ms = out.lease_ms();
  options.keep_s = out.keep_s();
  options.allow_partial = request.allow_partial();
  Result<FleetSnapshot> taken = TakeFleetSnapshot(agents, options);
  if (!taken.ok()) {
    Unjournal(full);
    return taken.status();
  }
  out.clear_hosts();
  for (const HostSnapshot& h : taken->hosts) {
    v1::FleetSnapshotHost* p = out.add_hosts();
    p->set_agent(h.agent);
    p->set_state(ToProto(h.state));
    p->set_error(h.error);
    for (const v1::SnapshotTail& t : h.tails) *p->add_tails() = t;
    p->set_agent_time_ns(h.agent_time_ns);
    p->set_start_time_ns(h.start_time_ns);
    p->set_clock_offset_ns(h.clock_offset_ns);
    p->set_rtt_ns(h.rtt_ns);
    p->set_settled_ns(h.settled_ns);
  }
  for (const std::string& e : excluded) {
    v1::FleetSnapshotHost* p = out.add_hosts();
    const size_t colon = e.find(':');
    p->set_agent(e.substr(0, colon));
    p->set_state(v1::FLEET_HOST_STATE_EXCLUDED);
    p->set_error(colon == std::string::npos ? "" : e.substr(colon + 2));
  }
  out.set_committed(taken->committed);
  out.set_partial(taken->partial || (taken->committed && !excluded.empty()));
  out.set_t0_ns(taken->t0_ns);
  out.set_commit_ns(taken->commit_ns);
  out.set_settled_ns(taken->settled_ns);
  std::string problem = taken->problem;
  if (!excluded.empty()) {
    std::string left = "left out (DOWN): ";
    for (size_t i = 0; i < excluded.size(); ++i) {
      left += (i ? "; " : "") + excluded[i];
    }
    problem = problem.empty() ? left : problem + "; " + left;
  }
  out.set_problem(problem);
  if (!taken->committed) {
    Unjournal(full);
    aborted_.fetch_add(1);
    create_ns_sum_.fetch_add(options_.now_ns() - t_start);
    return out;
  }
  out.set_expires_ns(taken->commit_ns + uint64_t{out.keep_s()} * 1'000'000'000);
  Status journaled = Journal(out);
  if (!journaled.ok()) {
    std::vector<FleetAgent> committed;
    for (size_t i = 0; i < taken->hosts.size(); ++i) {
      if (taken->hosts[i].state == HostSnapshotState::kCommitted) {
        committed.push_back(agents[i]);
      }
    }
    (void)ReleaseFleetSnapshot(committed, full, std::chrono::seconds(1));
    Unjournal(full);
    return journaled;
  }
  created_.fetch_add(1);
  create_ns_sum_.fetch_add(options_.now_ns() - t_start);
  std::lock_guard<std::mutex> lock(mu_);
  open_.emplace(full, out);
  return out;
}

Result<v1::FleetSnapshot> SnapshotStore::Get(std::string_view id) {
  const std::string full = FullId(id);
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked(options_.now_ns());
  auto it = open_.find(full);
  if (it == open_.end()) return NotOpenLocked(full);
  return it->second;
}

std::vector<v1::FleetSnapshot> SnapshotStore::List() {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked(options_.now_ns());
  std::vector<v1::FleetSnapshot> out;
  out.reserve(open_.size());
  for (const auto& [id, s] : open_) out.push_back(s);
  return out;
}

Result<v1::FleetSnapshot> SnapshotStore::Forget(std::string_view id) {
  const std::string full = FullId(id);
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked(options_.now_ns());
  auto it = open_.find(full);
  if (it == open_.end()) return NotOpenLocked(full);
  v1::FleetSnapshot s = std::move(it->second);
  open_.erase(it);
  Unjournal(full);
  ended_.emplace_back(full, "it was released");
  while (ended_.size() > kRememberedEnded) ended_.erase(ended_.begin());
  return s;
}

size_t SnapshotStore::open() {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked(options_.now_ns());
  return open_.size();
}

}  // namespace loupe::coordinator
