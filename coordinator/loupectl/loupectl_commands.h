// loupectl's commands: one function per command of the command line
// (coordinator/loupectl/loupectl.cc builds the tree and parses), each taking a
// Session -- the parsed arguments, the agent connection and the output --
// and returning the exit status:
//   kExitOk      done
//   kExitFailed  the agent refused, could not be reached, or the output
//                could not be written
//   kExitUsage   bad arguments (found after parsing: times, sizes, columns)
// Errors are printed on one line: "loupectl: <command>: <message>".
//
// Most commands are one RPC of agent/proto/loupe.proto; `append` picks
// Append, AppendBatch or AppendStream by size, `alerts` is GetAlerts or
// SubscribeAlerts (--follow), `aggregate get` is GetAggregate or
// GetAggregateSeries (--series), `top` polls several
// (coordinator/loupectl/top.h). Single-threaded, but for the interrupt watcher
// (interrupt.h), which may cancel a stream.
#ifndef LOUPE_COORDINATOR_LOUPECTL_LOUPECTL_COMMANDS_H_
#define LOUPE_COORDINATOR_LOUPECTL_LOUPECTL_COMMANDS_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/client/agent_client.h"
#include "agent/json_writer.h"
#include "coordinator/client/coordinator_client.h"
#include "coordinator/loupectl/proto_json.h"

namespace loupe::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Every option of every command; each command reads the ones it declares.
struct CommandArgs {
  // Global.
  std::string agent = "127.0.0.1:7070";
  std::string coordinator = "127.0.0.1:7700";  // --coordinator
  bool coordinator_given = false;              // program commands go to it
  std::string timeout = "5s";
  bool json = false;
  std::string multilog = "packets";
  bool multilog_given = false;

  // Names and texts.
  std::string name;
  std::vector<std::string> expression_words;
  std::string filter;
  std::string column;
  std::string file;
  std::string format;
  std::string columns;

  // multilog create.
  std::string schema;
  std::string storage = "memory";
  std::string directory;
  std::string retention_bytes = "0";
  std::string retention_age = "0";
  std::string bucket_duration = "0";
  std::string capacity = "0";
  std::string preallocate = "0";
  uint32_t block_records = 0;

  // index add, trigger add.
  uint64_t index_bucket = 0;
  std::string period = "1s";

  // Windows, paging, snapshots.
  std::string from;
  std::string to;
  uint32_t limit = 100;
  bool all = false;
  std::string page_token;
  uint64_t snapshot = 0;
  std::string snapshot_id;  // --snapshot-id (snapshot_command.h)
  bool with_offsets = false;
  bool offsets_only = false;

  // read.
  std::optional<uint64_t> offset;
  uint32_t count = 20;

  // append.
  bool timestamp_now = false;
  uint32_t batch = 0;

  // aggregate get.
  bool series = false;
  bool histograms = false;

  // alerts.
  bool follow = false;
  std::string after;  // alerts --follow --after CURSOR (alert_cursor_text.h)
  std::string since;
  std::string trigger;

  // top.
  std::string interval = "1s";
  std::optional<uint32_t> refreshes;
  uint32_t sample_limit = 200'000;
  std::string src_column = "src_ip";
  std::string dst_column = "dst_ip";
  std::string bytes_column = "frame_len";
  // snapshot prepare|commit (snapshot_command.h).
  std::vector<std::string> snapshot_multilogs;
  std::string snapshot_lease = "250ms";
  std::string snapshot_keep = "10m";

  // topk, groupby (issue 13, section 3).
  std::string by;  // key columns, comma-separated
  std::string sum;
  uint32_t k = 10;
  std::optional<double> min_value;
  std::vector<std::string> keys;
  std::vector<std::string> aggregates;
  std::string breakdown_bucket = "0";

  // agents (agents_command.h).
  std::string selector;
  bool allow_partial = false;  // fleet commands
};

// What every command gets: its name for messages, the parsed arguments,
// the agent or coordinator connection (made on first use) and output
// helpers.
class Session {
 public:
  // `args` must outlive the session; its timeout must parse (checked
  // before any command runs).
  Session(const CommandArgs& args, std::string command)
      : args_(args), command_(std::move(command)) {}

  const CommandArgs& args() const { return args_; }
  bool json() const { return args_.json; }
  const std::string& multilog() const { return args_.multilog; }
  AgentClient& client();
  CoordinatorClient& coordinator();

  // "loupectl: <command>: <message>" on stderr; returns `code`.
  int Fail(const std::string& message, int code = kExitFailed) const;
  // The call's status, described by AgentClient::Describe.
  int Fail(const grpc::Status& status, bool reached = false);
  int Usage(const std::string& message) const {
    return Fail(message, kExitUsage);
  }

  // Writes `text` to stdout; false when stdout is gone (a closed pipe).
  bool Print(std::string_view text) const;
  // Print, as an exit status.
  int Output(std::string_view text) const;
  int OutputJson(const JsonWriter& json) const;
  template <typename Message>
  int OutputProto(const Message& message) const {
    JsonWriter json;
    WriteProtoJson(json, message);
    return OutputJson(json);
  }

  // A time argument (ParseTime; `unset` when empty), or nullopt after
  // printing a usage error that names `option`.
  std::optional<uint64_t> Time(const std::string& option,
                               const std::string& text, uint64_t unset);

 private:
  const CommandArgs& args_;
  std::string command_;
  std::unique_ptr<AgentClient> client_;
  std::unique_ptr<CoordinatorClient> coordinator_;
};

// An expression given as several words, joined by spaces as the shell
// split them ("bytes", ">", "15" -> "bytes > 15").
std::string Joined(const std::vector<std::string>& words);

// multilog create|drop|list|show
int MultilogCreate(Session& s);
int MultilogDrop(Session& s);
int MultilogList(Session& s);
int MultilogShow(Session& s);

// The reads of filters and aggregates (their add, remove and list are
// coordinator/loupectl/control_command.h).
int FilterQuery(Session& s);
int AggregateGet(Session& s);

// Records.
int Append(Session& s);
int Read(Session& s);
int Query(Session& s);

// Alerts and operations.
int Alerts(Session& s);
int Stats(Session& s);
int Health(Session& s);
int Top(Session& s);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_LOUPECTL_COMMANDS_H_
