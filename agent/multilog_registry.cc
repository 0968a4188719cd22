#include "agent/multilog_registry.h"

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>

#include "multilog/did_you_mean.h"
#include "multilog/packet_schema.h"

namespace loupe::agent {

namespace {

constexpr std::string_view kPacketSchemaName = "packet";
// How long Create waits for a dropped durable multilog on the same
// directory to close (a query may still hold it).
constexpr std::chrono::seconds kCloseWait{5};

bool IsNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

std::string Quoted(std::string_view name) {
  return "'" + std::string(name) + "'";
}

}  // namespace

Status ValidateMultilogName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("multilog name is empty");
  if (name.size() > kMaxMultilogNameBytes) {
    return Status::InvalidArgument(
        "multilog name is " + std::to_string(name.size()) +
        " bytes long; at most " + std::to_string(kMaxMultilogNameBytes) +
        " are allowed");
  }
  if (!IsNameStart(name[0])) {
    return Status::InvalidArgument("multilog name " + Quoted(name) +
                                   " must start with a letter or '_'");
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return Status::InvalidArgument(
          "multilog name " + Quoted(name) +
          " may only hold letters, digits, '_', '.' and '-'");
    }
  }
  return Status::Ok();
}

// One hosted multilog. Members are destroyed in reverse order: the idle
// Writers before the Multilog they write, as Multilog requires.
struct MultilogRegistry::Entry {
  std::string name;
  std::string directory;  // resolved; empty for in-memory multilogs
  std::unique_ptr<Multilog> log;
  bool pinned = false;  // registry mu_
  uint64_t incarnation = 0;
  uint64_t alert_subscription = 0;  // in log->alerts()

  std::mutex pool_mu;
  std::condition_variable pool_cv;
  size_t writers = 0;  // alive, idle or lent; pool_mu
  std::vector<std::unique_ptr<Multilog::Writer>> idle;  // pool_mu
};

MultilogRegistry::MultilogRegistry(RegistryOptions options,
                                   AlertDispatcher* alerts)
    : options_(std::move(options)),
      incarnation_(
          options_.incarnation != 0
              ? options_.incarnation
              : static_cast<uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count())),
      own_alerts_(alerts == nullptr
                      ? std::make_unique<AlertDispatcher>(
                            std::vector<std::unique_ptr<AlertSink>>())
                      : nullptr),
      alerts_(alerts != nullptr ? alerts : own_alerts_.get()) {}

MultilogRegistry::~MultilogRegistry() {
  // Multilogs still held by queries outlive the registry; none may feed the
  // dispatcher any longer.
  std::unique_lock<std::shared_mutex> lock(mu_);
  for (auto& [name, entry] : entries_) {
    entry->log->alerts().Unsubscribe(entry->alert_subscription);
  }
  entries_.clear();
}

Result<std::shared_ptr<Multilog>> MultilogRegistry::Create(
    const MultilogSpec& spec, OpenReport* report) {
  LOUPE_RETURN_IF_ERROR(ValidateMultilogName(spec.name));
  std::optional<Schema> schema;
  if (spec.schema == kPacketSchemaName) {
    schema = PacketSchema();
  } else if (spec.schema.empty()) {
    return Status::InvalidArgument(
        "multilog " + Quoted(spec.name) +
        ": schema is empty; give columns (\"src:ipv4, bytes:u32\") or "
        "\"packet\"");
  } else {
    Result<Schema> parsed = Schema::Parse(spec.schema);
    if (!parsed.ok()) {
      return parsed.status().Annotate("multilog " + Quoted(spec.name));
    }
    schema = std::move(parsed).value();
  }

  MultilogOptions options;
  options.data.mode = spec.storage;
  options.data.directory = spec.directory;
  options.data.retention = spec.retention;
  options.data.capacity_bytes = spec.capacity_bytes;
  options.data.preallocate_bytes = spec.preallocate_bytes != 0
                                       ? spec.preallocate_bytes
                                       : options_.default_preallocate_bytes;
  if (spec.block_records != 0) options.data.block_records = spec.block_records;
  if (spec.bucket.count() != 0) options.bucket = spec.bucket;
  options.start_monitor = spec.start_monitor;

  if (!options_.directory_root.empty() && !spec.directory.empty()) {
    const std::filesystem::path dir(spec.directory);
    bool escapes = dir.is_absolute();
    for (const auto& part : dir.lexically_normal()) {
      if (part == "..") escapes = true;
    }
    if (escapes) {
      return Status::InvalidArgument(
          "multilog " + Quoted(spec.name) + ": directory '" + spec.directory +
          "' must be a relative path inside the agent's data directory '" +
          options_.directory_root + "'");
    }
    options.data.directory =
        (std::filesystem::path(options_.directory_root) / dir).string();
  }
  return Register(spec.name, *schema, options, report);
}

Result<std::shared_ptr<Multilog>> MultilogRegistry::Create(
    std::string_view name, const Schema& schema, const MultilogOptions& options,
    OpenReport* report) {
  LOUPE_RETURN_IF_ERROR(ValidateMultilogName(name));
  return Register(name, schema, options, report);
}

Result<std::shared_ptr<Multilog>> MultilogRegistry::Register(
    std::string_view name, const Schema& schema, const MultilogOptions& options,
    OpenReport* report) {
  std::lock_guard<std::mutex> create_lock(create_mu_);
  std::string directory;
  if (!options.data.directory.empty()) {
    std::error_code ec;
    std::filesystem::path abs =
        std::filesystem::absolute(options.data.directory, ec);
    directory = (ec ? std::filesystem::path(options.data.directory) : abs)
                    .lexically_normal()
                    .string();
    while (directory.size() > 1 && directory.back() == '/') {
      directory.pop_back();
    }
  }
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (entries_.find(name) != entries_.end()) {
      return Status::AlreadyExists("multilog " + Quoted(name) +
                                   " already exists");
    }
    if (entries_.size() >= options_.max_multilogs) {
      return Status::ResourceExhausted("the agent hosts " +
                                       std::to_string(entries_.size()) +
                                       " multilogs, its limit; drop one first");
    }
    if (!directory.empty()) {
      for (const auto& [other, entry] : entries_) {
        if (entry->directory == directory) {
          return Status::AlreadyExists("directory '" + directory +
                                       "' is used by multilog " +
                                       Quoted(other));
        }
      }
    }
  }

  MultilogOptions with_alerts = options;
  with_alerts.alerts.max_alerts = options_.alert_log.max_alerts;
  with_alerts.alerts.max_age = options_.alert_log.max_age;
  with_alerts.alerts.incarnation = incarnation_;
  if (auto it = dropped_sequences_.find(name); it != dropped_sequences_.end()) {
    with_alerts.alerts.first_sequence = it->second + 1;
  }
  Result<std::unique_ptr<Multilog>> opened =
      Multilog::Open(std::string(name), schema, with_alerts, report);
  if (!opened.ok()) return opened.status();

  auto entry = std::make_shared<Entry>();
  entry->name = std::string(name);
  entry->directory = std::move(directory);
  entry->log = std::move(opened).value();
  entry->incarnation = next_incarnation_++;
  // Before it is published: no trigger can fire unheard.
  entry->alert_subscription =
      entry->log->alerts().Subscribe(alerts_->SubscriberFor(
          options_.host, entry->name, std::chrono::nanoseconds::zero(),
          entry->incarnation));
  std::shared_ptr<Multilog> handle(entry, entry->log.get());
  std::unique_lock<std::shared_mutex> lock(mu_);
  entries_.emplace(entry->name, std::move(entry));
  return handle;
}

Status MultilogRegistry::Drop(std::string_view name) {
  std::lock_guard<std::mutex> create_lock(create_mu_);
  std::shared_ptr<Entry> dropped;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      return Status::NotFound("no multilog named " + Quoted(name) +
                              Suggest(name));
    }
    if (it->second->pinned) {
      return Status::FailedPrecondition(
          "multilog " + Quoted(name) +
          " is written by the dataplane and cannot be dropped while the "
          "agent runs");
    }
    dropped = std::move(it->second);
    entries_.erase(it);
  }
  dropped->log->alerts().Unsubscribe(dropped->alert_subscription);
  dropped_sequences_[dropped->name] = dropped->log->alerts().last_sequence();
  // Closed here unless a query, stream or lease still holds it. A durable
  // one is waited for, so that re-creating it right away reopens its files.
  if (!dropped->directory.empty()) {
    std::weak_ptr<Entry> closing = dropped;
    dropped.reset();
    const auto deadline = std::chrono::steady_clock::now() + kCloseWait;
    while (!closing.expired() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return Status::Ok();
}

Status MultilogRegistry::Pin(std::string_view name) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return Status::NotFound("no multilog named " + Quoted(name) +
                            Suggest(name));
  }
  it->second->pinned = true;
  return Status::Ok();
}

Status MultilogRegistry::Unpin(std::string_view name) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return Status::NotFound("no multilog named " + Quoted(name) +
                            Suggest(name));
  }
  it->second->pinned = false;
  return Status::Ok();
}

Result<std::shared_ptr<Multilog>> MultilogRegistry::Find(
    std::string_view name) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return Status::NotFound("no multilog named " + Quoted(name) +
                            Suggest(name));
  }
  return std::shared_ptr<Multilog>(it->second, it->second->log.get());
}

bool MultilogRegistry::IsPinned(std::string_view name) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = entries_.find(name);
  return it != entries_.end() && it->second->pinned;
}

std::vector<HostedMultilog> MultilogRegistry::List() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<HostedMultilog> out;
  out.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) {
    out.push_back(
        HostedMultilog{name, std::shared_ptr<Multilog>(entry, entry->log.get()),
                       entry->pinned, entry->incarnation});
  }
  return out;
}

size_t MultilogRegistry::size() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return entries_.size();
}

std::string MultilogRegistry::Suggest(std::string_view name) const {
  NearestName near(name);
  for (const auto& [other, entry] : entries_) near.Offer(other);
  return near.found() ? "; did you mean " + Quoted(near.name()) + "?"
                      : std::string();
}

Result<MultilogRegistry::WriterLease> MultilogRegistry::BorrowWriter(
    std::string_view name) {
  std::shared_ptr<Entry> entry;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      return Status::NotFound("no multilog named " + Quoted(name) +
                              Suggest(name));
    }
    if (it->second->pinned) {
      return Status::FailedPrecondition(
          "multilog " + Quoted(name) +
          " is written by the dataplane; appends over RPC go to multilogs "
          "created for them");
    }
    entry = it->second;
  }
  const size_t cap = std::max<size_t>(1, options_.writers_per_multilog);
  std::unique_lock<std::mutex> lock(entry->pool_mu);
  for (;;) {
    if (!entry->idle.empty()) {
      std::unique_ptr<Multilog::Writer> w = std::move(entry->idle.back());
      entry->idle.pop_back();
      return WriterLease(std::move(entry), std::move(w));
    }
    if (entry->writers < cap) {
      ++entry->writers;
      lock.unlock();
      Result<std::unique_ptr<Multilog::Writer>> w = entry->log->NewWriter();
      lock.lock();
      if (w.ok()) return WriterLease(std::move(entry), std::move(w).value());
      --entry->writers;
      // Out of writer slots: wait for one of ours if any is lent.
      if (entry->writers == 0) {
        return w.status().Annotate("multilog " + Quoted(name));
      }
    }
    entry->pool_cv.wait(lock);
  }
}

MultilogRegistry::WriterLease::WriterLease(
    std::shared_ptr<Entry> entry, std::unique_ptr<Multilog::Writer> writer)
    : entry_(std::move(entry)), writer_(std::move(writer)) {}

MultilogRegistry::WriterLease::WriterLease(WriterLease&& other) noexcept
    : entry_(std::move(other.entry_)), writer_(std::move(other.writer_)) {}

MultilogRegistry::WriterLease& MultilogRegistry::WriterLease::operator=(
    WriterLease&& other) noexcept {
  if (this != &other) {
    Return();
    entry_ = std::move(other.entry_);
    writer_ = std::move(other.writer_);
  }
  return *this;
}

MultilogRegistry::WriterLease::~WriterLease() { Return(); }

const Multilog& MultilogRegistry::WriterLease::multilog() const {
  return *entry_->log;
}

void MultilogRegistry::WriterLease::Return() {
  if (entry_ == nullptr || writer_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(entry_->pool_mu);
    entry_->idle.push_back(std::move(writer_));
  }
  entry_->pool_cv.notify_one();
  entry_.reset();
}

}  // namespace loupe::agent
