// MultilogRegistry: the named multilogs one agent hosts -- those of its
// configuration, the dataplane's packet multilog, and those created over
// RPC -- with a small pool of Writers per multilog for RPC appends.
//
// Thread safety: every method may be called from any thread. Lookups take a
// shared lock on the name map only; Create and Drop are serialized with each
// other (Open can take a while: it pre-faults memory and recovers durable
// logs) but never block lookups.
//
// Lifetimes: Find hands out std::shared_ptr<Multilog>, so a query or stream
// that holds one keeps its multilog alive after a Drop; the multilog (its
// memory, its files' mappings, its monitor thread) goes when the last
// holder lets go. A durable multilog's files stay on disk after Drop;
// creating one on the same directory reopens them. Each multilog's Writer
// pool is destroyed before the multilog itself, as Multilog requires.
//
// Pinning: the dataplane Pin()s the multilog it writes; a pinned multilog
// cannot be dropped (kFailedPrecondition) and takes no RPC appends.
//
// Alerts: every multilog the registry opens -- configured or created over
// RPC, and again when re-created after a drop -- has its AlertLog
// subscribed to the registry's AlertDispatcher before anyone can add a
// trigger to it, and unsubscribed when it is dropped, so the dispatcher
// (the sinks and the gRPC subscribers) sees every alert of every hosted
// multilog. Each opened multilog gets a new internal incarnation number,
// carried by its alert events and by HostedMultilog. The alerts themselves
// carry the registry's incarnation() -- the agent's start time -- and
// their per-multilog sequence: (incarnation, multilog, sequence) is the
// wire cursor. A multilog dropped and re-created in the same incarnation
// continues its alert sequences where the dropped one ended (a durable
// one continues from its file), so a sequence never names two alerts of
// one incarnation. The dispatcher must outlive the registry.
#ifndef LOUPE_AGENT_MULTILOG_REGISTRY_H_
#define LOUPE_AGENT_MULTILOG_REGISTRY_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agent/alert_dispatcher.h"
#include "multilog/data_log.h"
#include "multilog/multilog.h"
#include "multilog/schema.h"
#include "multilog/status.h"

namespace loupe::agent {

// What CreateMultilog asks for; zeros mean "the registry's default".
struct MultilogSpec {
  std::string name;
  std::string schema;  // "packet", or Schema::Parse's text form
  StorageMode storage = StorageMode::kInMemory;
  std::string directory;  // required for the durable modes
  RetentionPolicy retention;
  uint64_t capacity_bytes = 0;
  uint64_t preallocate_bytes = 0;
  uint32_t block_records = 0;
  std::chrono::nanoseconds bucket{0};
  // False: triggers fire only from Multilog::EvaluateTriggers (tests,
  // replays of recorded data).
  bool start_monitor = true;
};

struct RegistryOptions {
  size_t max_multilogs = 64;
  // Writers kept per multilog for RPC appends; concurrent appends beyond
  // it wait for one.
  size_t writers_per_multilog = 4;
  // Memory pre-faulted ahead of each RPC-created multilog's writers when
  // the spec says 0 (DataLogOptions' own default, 64 MiB, is meant for the
  // packet multilog).
  uint64_t default_preallocate_bytes = 8ull << 20;
  // When not empty, durable directories must be relative paths (without
  // "..") and are resolved under this one.
  std::string directory_root;
  // The host name the alert events carry.
  std::string host;
  // The agent's start time (ns) that alerts carry; 0: the wall clock when
  // the registry is made.
  uint64_t incarnation = 0;
  // Bounds of every multilog's alert log (its incarnation, directory and
  // first sequence are the registry's to set).
  AlertLogOptions alert_log;
};

// Multilog names: [A-Za-z_][A-Za-z0-9_.-]*, at most kMaxNameBytes.
inline constexpr size_t kMaxMultilogNameBytes = 64;
Status ValidateMultilogName(std::string_view name);

struct HostedMultilog {
  std::string name;
  std::shared_ptr<Multilog> multilog;
  bool pinned = false;
  uint64_t incarnation = 0;  // AlertEvent::incarnation of its alerts
};

class MultilogRegistry {
 public:
  class WriterLease;

  // `alerts`: the dispatcher every multilog's alerts feed; null makes the
  // registry one of its own without sinks (gRPC subscribers only).
  explicit MultilogRegistry(RegistryOptions options = {},
                            AlertDispatcher* alerts = nullptr);
  ~MultilogRegistry();
  MultilogRegistry(const MultilogRegistry&) = delete;
  MultilogRegistry& operator=(const MultilogRegistry&) = delete;

  const RegistryOptions& options() const { return options_; }
  AlertDispatcher& alerts() const { return *alerts_; }
  // RegistryOptions::incarnation, resolved.
  uint64_t incarnation() const { return incarnation_; }

  // Validates the spec, opens the multilog and registers it.
  // kInvalidArgument: bad name, schema or options (with the reason);
  // kAlreadyExists: the name, or the durable directory, is taken;
  // kResourceExhausted: max_multilogs reached; anything Multilog::Open
  // returns (annotated with the name).
  Result<std::shared_ptr<Multilog>> Create(const MultilogSpec& spec,
                                           OpenReport* report = nullptr);
  // For multilogs the agent opens from its configuration, with options
  // built elsewhere (agent/config.h ToMultilogOptions).
  Result<std::shared_ptr<Multilog>> Create(std::string_view name,
                                           const Schema& schema,
                                           const MultilogOptions& options,
                                           OpenReport* report = nullptr);

  // kNotFound; kFailedPrecondition if pinned.
  Status Drop(std::string_view name);
  // kNotFound.
  Status Pin(std::string_view name);
  Status Unpin(std::string_view name);

  // The multilog, or kNotFound ("no multilog named 'x'; did you mean 'y'?").
  Result<std::shared_ptr<Multilog>> Find(std::string_view name) const;
  bool IsPinned(std::string_view name) const;
  // Every multilog, by name.
  std::vector<HostedMultilog> List() const;
  size_t size() const;

  // A Writer of `name`'s pool for one append: waits while all of them are
  // lent. kNotFound; kFailedPrecondition when pinned (the dataplane writes
  // it); kResourceExhausted when the multilog has no Writer to spare.
  Result<WriterLease> BorrowWriter(std::string_view name);

 private:
  struct Entry;

  std::string Suggest(std::string_view name) const;  // mu_ held (shared)
  Result<std::shared_ptr<Multilog>> Register(std::string_view name,
                                             const Schema& schema,
                                             const MultilogOptions& options,
                                             OpenReport* report);

  const RegistryOptions options_;
  const uint64_t incarnation_;
  std::unique_ptr<AlertDispatcher> own_alerts_;  // when none was given
  AlertDispatcher* const alerts_;
  uint64_t next_incarnation_ = 1;  // create_mu_
  // The last alert sequence of each multilog dropped in this incarnation.
  std::map<std::string, uint64_t, std::less<>>
      dropped_sequences_;  // create_mu_
  std::mutex create_mu_;   // serializes Create and Drop
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> entries_;  // mu_
};

// A Writer on loan; it goes back to its pool when the lease ends. Keeps its
// multilog alive meanwhile. Movable, not copyable.
class MultilogRegistry::WriterLease {
 public:
  WriterLease(WriterLease&& other) noexcept;
  WriterLease& operator=(WriterLease&& other) noexcept;
  WriterLease(const WriterLease&) = delete;
  WriterLease& operator=(const WriterLease&) = delete;
  ~WriterLease();

  Multilog::Writer& writer() { return *writer_; }
  const Multilog& multilog() const;

 private:
  friend class MultilogRegistry;
  WriterLease(std::shared_ptr<Entry> entry,
              std::unique_ptr<Multilog::Writer> writer);
  void Return();

  std::shared_ptr<Entry> entry_;
  std::unique_ptr<Multilog::Writer> writer_;
};

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_MULTILOG_REGISTRY_H_
