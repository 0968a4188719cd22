// loupectl: the operator's command-line client of loupe-agent (and, for
// `agents` and, with --coordinator, `program`, of loupe-coordinator). One
// subcommand per RPC of agent/proto/loupe.proto (a few RPCs share one:
// `append` picks Append, AppendBatch or AppendStream by size; `alerts` is
// GetAlerts, or SubscribeAlerts with --follow; `aggregate get` is
// GetAggregate, or GetAggregateSeries with --series), plus `top`, a live
// view. Human tables by default, --json for scripts.
//
// Exit status: 0 success, 1 the agent (or coordinator) refused or could
// not be reached, 2 bad usage. Errors are one line on stderr:
//   loupectl: filter add: INVALID_ARGUMENT: filter 1:12: expected ...
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coordinator/loupectl/agents_command.h"
#include "coordinator/loupectl/breakdown_command.h"
#include "coordinator/loupectl/control_command.h"
#include "coordinator/loupectl/fleet_alerts_command.h"
#include "coordinator/loupectl/fleet_command.h"
#include "coordinator/loupectl/fleet_program_command.h"
#include "coordinator/loupectl/interrupt.h"
#include "coordinator/loupectl/loupectl_commands.h"
#include "coordinator/loupectl/program_command.h"
#include "coordinator/loupectl/snapshot_command.h"
#include "coordinator/loupectl/units.h"

#ifndef LOUPE_VERSION
#define LOUPE_VERSION "unknown"
#endif

namespace loupe::ctl {
namespace {

// --- the command line --------------------------------------------------------

using Handler = std::function<int(Session&)>;

// The handlers of `index add`, `filter remove`, `trigger list`, ...
Handler AddOf(ControlKind kind) {
  return [kind](Session& s) { return ControlAdd(s, kind); };
}
Handler RemoveOf(ControlKind kind) {
  return [kind](Session& s) { return ControlRemove(s, kind); };
}
Handler ListOf(ControlKind kind) {
  return [kind](Session& s) { return ControlList(s, kind); };
}

struct Cli {
  CLI::App app{
      "loupectl: the operator's client of loupe-agent, over its gRPC API.\n"
      "Manages multilogs and their indexes, filters, aggregates and "
      "triggers;\nappends, reads and queries records; shows alerts, counters "
      "and a live view;\nlists the agents of a loupe-coordinator (agents) "
      "and, with --coordinator,\napplies programs across them (program).",
      "loupectl"};
  CommandArgs args;
  ProgramArgs program;  // program apply|diff|remove|list
  Handler handler;
  std::string command;  // "filter add"
};

constexpr std::string_view kGlobalFooter =
    "Global options (--agent, --coordinator, --timeout, --json, -m/--multilog) "
    "may also be "
    "given after the subcommand; see loupectl --help.";

constexpr std::string_view kTimeForms =
    "TIME: now, -10s, now-5m, +1m, RFC 3339 (2026-11-22T04:56:35Z, "
    "2026-11-22 05:56:35.250+01:00; local time without an offset) or "
    "nanoseconds since the epoch. DURATION: 10s, 1m30s, 250ms, 1.5h (units "
    "ns us ms s m h d).";

// `text` wrapped at `width` columns, keeping its own line breaks.
std::string Wrap(std::string_view text, size_t width = 79) {
  std::string out;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    std::string_view paragraph = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view()
                                             : text.substr(newline + 1);
    // Leading blanks (an indented example) are kept.
    size_t indent = 0;
    while (indent < paragraph.size() && paragraph[indent] == ' ') ++indent;
    out.append(indent, ' ');
    paragraph.remove_prefix(indent);
    size_t column = indent;
    while (!paragraph.empty()) {
      const size_t space = paragraph.find(' ');
      const std::string_view word = paragraph.substr(0, space);
      paragraph = space == std::string_view::npos ? std::string_view()
                                                  : paragraph.substr(space + 1);
      if (column > indent && column + 1 + word.size() > width) {
        out += '\n';
        out.append(indent, ' ');
        column = indent;
      } else if (column > indent) {
        out += ' ';
        ++column;
      }
      out += word;
      column += word.size();
    }
    if (newline != std::string_view::npos || !text.empty()) out += '\n';
  }
  return out;
}

// A command group ("filter").
CLI::App* Group(CLI::App* parent, const std::string& name,
                const std::string& summary) {
  CLI::App* group = parent->add_subcommand(name, summary);
  group->require_subcommand(1);
  group->footer(Wrap(kGlobalFooter));
  return group;
}

// A command ("filter add"): `summary` is its line in its parent's help,
// `details` (if any) open its own help's footer.
CLI::App* Leaf(Cli& cli, CLI::App* parent, const std::string& name,
               const std::string& summary, Handler handler,
               const std::string& details = "") {
  CLI::App* leaf = parent->add_subcommand(name, summary);
  leaf->footer(Wrap(details.empty()
                        ? std::string(kGlobalFooter)
                        : details + "\n\n" + std::string(kGlobalFooter)));
  std::string path = name;
  for (CLI::App* p = parent; p != nullptr && p->get_parent() != nullptr;
       p = p->get_parent()) {
    path = p->get_name() + " " + path;
  }
  leaf->callback([&cli, path, handler = std::move(handler)] {
    cli.command = path;
    cli.handler = handler;
  });
  return leaf;
}

void AddNameArgument(CLI::App* app, std::string& name,
                     const std::string& what) {
  app->add_option("name", name, what)->type_name("NAME")->required();
}

// A kind's `remove` (of the object its add made: an index by its column,
// the others by name) and `list`, the same shape for all four kinds.
void RemoveAndList(Cli& cli, CLI::App* group, ControlKind kind,
                   const std::string& remove_summary,
                   const std::string& list_summary) {
  CLI::App* remove = Leaf(cli, group, "remove", remove_summary, RemoveOf(kind));
  if (kind == ControlKind::kIndex) {
    remove->add_option("column", cli.args.column, "The column")
        ->type_name("COLUMN")
        ->required();
  } else {
    AddNameArgument(remove, cli.args.name, "Its name");
  }
  Leaf(cli, group, "list", list_summary, ListOf(kind));
}

// --snapshot-id, and the `snapshot` group (snapshot_command.h).
void AddSnapshotIdOption(CLI::App* app, CommandArgs& a) {
  app->add_option("--snapshot-id", a.snapshot_id,
                  "Answer at a named snapshot (snapshot prepare/commit)")
      ->type_name("ID");
}

void AddSnapshotCommands(Cli& cli, CLI::App* parent) {
  CommandArgs& a = cli.args;
  CLI::App* group =
      Group(parent, "snapshot",
            "Leased snapshots: one read tail per multilog, under an id");
  CLI::App* prepare =
      Leaf(cli, group, "prepare",
           "Load each multilog's read tail and cap what queries see at it",
           SnapshotPrepare,
           "Until commit, abort or the end of the lease, requests without a "
           "snapshot read below the prepared tails; writers keep running. The "
           "same id with the same arguments answers the same.");
  AddNameArgument(prepare, a.name, "The snapshot's id");
  prepare
      ->add_option("--multilogs", a.snapshot_multilogs,
                   "Only these multilogs (default: every one)")
      ->type_name("NAME")
      ->delimiter(',');
  prepare
      ->add_option("--lease", a.snapshot_lease,
                   "Commit within this time (10ms to 10s)")
      ->type_name("DURATION")
      ->capture_default_str();
  CLI::App* commit =
      Leaf(cli, group, "commit", "Lift the cap and keep the tails under the id",
           SnapshotCommit);
  AddNameArgument(commit, a.name, "The snapshot's id");
  commit->add_option("--keep", a.snapshot_keep, "Keep it this long (to 1 day)")
      ->type_name("DURATION")
      ->capture_default_str();
  AddNameArgument(
      Leaf(cli, group, "abort",
           "Lift the cap of a prepared snapshot and forget it", SnapshotAbort),
      a.name, "The snapshot's id");
  AddNameArgument(
      Leaf(cli, group, "release", "Forget a snapshot", SnapshotRelease), a.name,
      "The snapshot's id");
  Leaf(cli, group, "list", "Open snapshots: state, tails, time left",
       SnapshotList);
}

// The `fleet` group (fleet_command.h): network-wide, over --coordinator.
void AddFleetCommands(Cli& cli, CLI::App* parent) {
  CommandArgs& a = cli.args;
  CLI::App* fleet = Group(
      parent, "fleet",
      "Across agents, through the coordinator (--coordinator): distributed "
      "atomic snapshots, merged answers and alerts");
  auto selector = [&a](CLI::App* leaf) {
    leaf->add_option("--selector,--hosts", a.selector,
                     "Only the agents this host selector picks (default: "
                     "all, or the snapshot's)")
        ->type_name("SELECTOR");
    leaf->add_flag("--allow-partial", a.allow_partial,
                   "Leave out agents that are down or fail, and say so, "
                   "instead of failing");
  };
  CLI::App* snapshot =
      Group(fleet, "snapshot",
            "Distributed atomic snapshots: one cut of every selected agent");
  CLI::App* create = Leaf(
      cli, snapshot, "create",
      "Prepare on every selected agent at once, then commit all (or abort "
      "all)",
      FleetSnapshotCreate,
      "Every agent must answer its prepare within 3/4 of --lease; if one "
      "does not, the snapshot is aborted everywhere (exit 1), unless "
      "--allow-partial commits the others and lists it. Anything appended "
      "through an agent's API and acknowledged before another append is "
      "cut consistently. Without ID one is made; ids are <coordinator>:ID.");
  create->add_option("id", a.name, "The snapshot's id (default: made up)")
      ->type_name("ID");
  selector(create);
  create
      ->add_option("--multilogs", a.snapshot_multilogs,
                   "Only these multilogs (default: every one)")
      ->type_name("NAME")
      ->delimiter(',');
  create
      ->add_option("--lease", a.snapshot_lease,
                   "Every agent's prepare must be committed within this "
                   "(10ms to 10s)")
      ->type_name("DURATION")
      ->capture_default_str();
  create->add_option("--keep", a.snapshot_keep, "Keep it this long (to 1 day)")
      ->type_name("DURATION")
      ->capture_default_str();
  Leaf(cli, snapshot, "list", "Open snapshots: hosts, settled time, expiry",
       FleetSnapshotList);
  AddNameArgument(Leaf(cli, snapshot, "get",
                       "One snapshot: each host's tails, clock offset, RTT",
                       FleetSnapshotGet),
                  a.name, "The snapshot's id");
  AddNameArgument(
      Leaf(cli, snapshot, "release", "Forget a snapshot here and on its agents",
           FleetSnapshotRelease),
      a.name, "The snapshot's id");

  auto window = [&a](CLI::App* leaf) {
    leaf->add_option("--from", a.from, "Start of the window, inclusive")
        ->type_name("TIME");
    leaf->add_option("--to", a.to, "End of the window, exclusive")
        ->type_name("TIME");
    leaf->add_option("--snapshot-id", a.snapshot_id,
                     "Answer at this fleet snapshot (fleet snapshot create)")
        ->type_name("ID");
  };
  CLI::App* aggregate = Leaf(
      cli, fleet, "aggregate",
      "An aggregate merged over the selected agents, with each host's value",
      FleetAggregate,
      "COUNT and SUM add, MIN and MAX are over the hosts with records, "
      "quantiles are merged from the hosts' histogram bins (the error bound "
      "of one host).");
  AddNameArgument(aggregate, a.name, "The aggregate's name");
  window(aggregate);
  selector(aggregate);
  CLI::App* topk = Leaf(
      cli, fleet, "topk",
      "The exact top k keys over the selected agents (three rounds, TPUT)",
      FleetTopK,
      "Without --snapshot-id the coordinator takes a snapshot for the query "
      "and releases it after, so that every round sees the same records.");
  window(topk);
  selector(topk);
  topk->add_option("--by", a.by, "Key columns, 1 to 4, comma-separated")
      ->type_name("COLUMNS")
      ->required();
  topk->add_option("--filter", a.filter,
                   "Only records a filter (by name) or an expression passes")
      ->type_name("FILTER");
  topk->add_option("--sum", a.sum,
                   "Rank by the sum of this numeric column (default: count "
                   "records)")
      ->type_name("COLUMN");
  topk->add_option("-k", a.k, "Keys to show, 1 to 10000")
      ->type_name("N")
      ->capture_default_str();
  CLI::App* groupby = Leaf(
      cli, fleet, "groupby",
      "Aggregates per key (and time bucket) merged over the selected agents",
      FleetGroupBy,
      "Rows of the same key add (COUNT, SUM) or take the smallest or largest "
      "(MIN, MAX) over the hosts; quantiles do not merge from per-host "
      "values (use fleet aggregate with a quantile aggregate).");
  window(groupby);
  selector(groupby);
  groupby->add_option("--by", a.by, "Key columns, 1 to 4, comma-separated")
      ->type_name("COLUMNS")
      ->required();
  groupby
      ->add_option("--filter", a.filter,
                   "Only records a filter (by name) or an expression passes")
      ->type_name("FILTER");
  groupby
      ->add_option("aggregates", a.aggregates,
                   "COUNT() SUM(c) MIN(c) MAX(c) (default COUNT())")
      ->type_name("AGGREGATE");
  groupby
      ->add_option("--bucket", a.breakdown_bucket,
                   "Also per time bucket of this width (0: none)")
      ->type_name("DURATION")
      ->capture_default_str();
  groupby
      ->add_option("--limit", a.limit, "Merged rows to show (at most 100000)")
      ->type_name("N")
      ->capture_default_str();
  CLI::App* query =
      Leaf(cli, fleet, "query",
           "Records matching an expression (or --filter NAME) on the selected "
           "agents, merged by timestamp",
           FleetQuery,
           "The records of every host are merged by their timestamps (each "
           "host's clock) under one --limit; the page token holds each host's "
           "position, and --all follows it to the end.");
  query->add_option("expression", a.expression_words,
                    "The expression (or --filter)");
  query->add_option("--filter", a.filter, "A filter's name instead")
      ->type_name("NAME");
  window(query);
  selector(query);
  query->add_option("--limit", a.limit, "Records per answer (at most 100000)")
      ->type_name("N")
      ->capture_default_str();
  query->add_option("--page-token", a.page_token, "Continue an answer")
      ->type_name("TOKEN");
  query->add_flag("--all", a.all, "Follow page tokens to the end");
  CLI::App* stats =
      Leaf(cli, fleet, "stats",
           "Every selected agent's counters, and their sums", FleetStats);
  selector(stats);

  // Alerts (issue 14, alert fan-in).
  CLI::App* alerts = Leaf(
      cli, fleet, "alerts",
      "The selected agents' alerts: stored ones merged oldest first, or "
      "live ones from the coordinator's fan-in (--follow)",
      FleetAlerts,
      "Without --follow, every selected agent is asked at once and the "
      "answers are merged by time under one --limit (each row names its "
      "agent). With --follow, the alerts the coordinator receives from the "
      "selected agents from now on, one line (or JSON line) each, until "
      "Ctrl-C; if loupectl reads too slowly the coordinator drops alerts "
      "for it and says how many. -m/--multilog and --trigger narrow both.\n" +
          std::string(kTimeForms));
  alerts
      ->add_option("--selector,--hosts", a.selector,
                   "Only the agents this host selector picks (default: all)")
      ->type_name("SELECTOR");
  CLI::Option* follow =
      alerts->add_flag("-f,--follow", a.follow,
                       "Stream live alerts (Coordinator.SubscribeAlerts)");
  alerts
      ->add_flag("--allow-partial", a.allow_partial,
                 "Leave out agents that are down or fail, and say so, "
                 "instead of failing")
      ->excludes(follow);
  alerts
      ->add_option("--since", a.since,
                   "Stored alerts at or after this time (default: every one)")
      ->type_name("TIME")
      ->excludes("--follow");
  alerts->add_option("--to", a.to, "Stored alerts before this time")
      ->type_name("TIME")
      ->excludes("--follow");
  alerts->add_option("--trigger", a.trigger, "Only this trigger's alerts")
      ->type_name("NAME");
  alerts
      ->add_option("--limit", a.limit,
                   "Alerts in the merged answer, over every agent (at most "
                   "100000)")
      ->type_name("N")
      ->capture_default_str()
      ->excludes("--follow");
}

void AddWindowOptions(CLI::App* app, CommandArgs& a) {
  app->add_option("--from", a.from,
                  "Start of the window, inclusive (default: the oldest "
                  "retained record)")
      ->type_name("TIME");
  app->add_option("--to", a.to,
                  "End of the window, exclusive (default: no "
                  "bound)")
      ->type_name("TIME");
  app->add_option("--snapshot", a.snapshot,
                  "Answer at this read tail (from an earlier answer) instead "
                  "of the current one")
      ->type_name("OFFSET");
  AddSnapshotIdOption(app, a);
}

void AddQueryOptions(CLI::App* app, CommandArgs& a) {
  AddWindowOptions(app, a);
  app->add_option("--limit", a.limit,
                  "Records per answer (the agent allows at most 1000000)")
      ->type_name("N")
      ->capture_default_str();
  app->add_flag("--all", a.all,
                "Follow page tokens until every matching record is shown");
  app->add_option("--page-token", a.page_token,
                  "Continue an earlier answer (same other arguments)")
      ->type_name("TOKEN");
  app->add_option("--columns", a.columns,
                  "Columns to show, comma-separated, or 'all' (default: "
                  "all; for the packet schema: time, addresses, ports, "
                  "protocol, length, TCP flags)")
      ->type_name("LIST");
  app->add_flag("--with-offsets", a.with_offsets,
                "Show each record's data-log offset");
  app->add_flag("--offsets-only", a.offsets_only,
                "Fetch and print only the offsets of matching records");
}

void BuildCli(Cli& cli) {
  CLI::App& app = cli.app;
  CommandArgs& a = cli.args;
  app.set_version_flag("--version", "loupectl " LOUPE_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(Wrap(
      "Examples:\n"
      "  loupectl health\n"
      "  loupectl filter add syn 'tcp_flags == 2'\n"
      "  loupectl query 'src_ip in 10.0.0.0/8 && dst_port == 443' --from "
      "-10s\n"
      "  loupectl alerts --follow\n"
      "  loupectl top\n"
      "  loupectl --coordinator 127.0.0.1:7700 agents --selector "
      "'host=hv[1-8],rack=r2'\n"
      "Every command has its own --help. Exit status: 0 success, 1 the agent "
      "(or coordinator) refused or could not be reached, 2 bad usage."));

  app.add_option("--agent", a.agent, "The agent's gRPC address")
      ->type_name("HOST:PORT")
      ->envname("LOUPE_AGENT")
      ->capture_default_str();
  app.add_option("--coordinator", a.coordinator,
                 "The coordinator's gRPC address, for `agents` and `fleet`; "
                 "when given (or LOUPE_COORDINATOR is set), `program` "
                 "commands go to the coordinator instead of --agent")
      ->type_name("HOST:PORT")
      ->envname("LOUPE_COORDINATOR")
      ->capture_default_str();
  app.add_option("--timeout", a.timeout,
                 "Deadline of each call (500ms, 5s, 1m); streams that run "
                 "until Ctrl-C have none")
      ->type_name("DURATION")
      ->capture_default_str();
  app.add_flag("--json", a.json,
               "JSON output: one document, or one per line for streams "
               "(alerts --follow, top)");
  app.add_option("-m,--multilog", a.multilog,
                 "The multilog to work on (alerts: every multilog unless "
                 "given)")
      ->type_name("NAME")
      ->envname("LOUPE_MULTILOG")
      ->capture_default_str();

  // multilog
  CLI::App* multilog =
      Group(&app, "multilog", "Create, drop, list and describe multilogs");
  CLI::App* create =
      Leaf(cli, multilog, "create", "Create a multilog fed by RPC appends",
           MultilogCreate,
           "SIZE: 4096, 64MiB, 1.5GiB, 2GB (KiB, MiB, GiB, TiB are powers "
           "of 1024; kB, MB, GB, TB powers of 1000; a bare k, M, G or T is "
           "refused as ambiguous). DURATION: 10s, 1m30s, 250ms.");
  AddNameArgument(create, a.name, "Its name: [A-Za-z_][A-Za-z0-9_.-]*");
  create
      ->add_option("--schema", a.schema,
                   "Columns, 'name:type, ...' (types bool u8 u16 u32 u64 i8 "
                   "i16 i32 i64 f32 f64 ipv4 ipv6 mac string(N)), or "
                   "'packet' for the packet schema")
      ->type_name("SCHEMA")
      ->required();
  create->add_option("--storage", a.storage, "Where records live")
      ->type_name("MODE")
      ->check(CLI::IsMember({"memory", "durable-relaxed", "durable"}))
      ->capture_default_str();
  create
      ->add_option("--directory", a.directory,
                   "Where a durable multilog keeps its files (an existing "
                   "one is reopened)")
      ->type_name("DIR");
  create
      ->add_option("--retention-bytes", a.retention_bytes,
                   "Keep at most this much, dropping the oldest (0: "
                   "unbounded)")
      ->type_name("SIZE")
      ->capture_default_str();
  create
      ->add_option("--retention-age", a.retention_age,
                   "Keep at most this long (0: unbounded)")
      ->type_name("DURATION")
      ->capture_default_str();
  create
      ->add_option("--bucket", a.bucket_duration,
                   "Time bucket of its filters and aggregates (0: 1ms)")
      ->type_name("DURATION")
      ->capture_default_str();
  create
      ->add_option("--capacity", a.capacity,
                   "Hard limit on retained bytes (0: none)")
      ->type_name("SIZE")
      ->capture_default_str();
  create
      ->add_option("--preallocate", a.preallocate,
                   "Memory kept pre-faulted ahead of writers (0: the "
                   "agent's default)")
      ->type_name("SIZE")
      ->capture_default_str();
  create
      ->add_option("--block-records", a.block_records,
                   "Records per block, a power of two in [1024, 2^24] (0: "
                   "default)")
      ->type_name("N")
      ->capture_default_str();
  AddNameArgument(
      Leaf(cli, multilog, "drop",
           "Drop a multilog and its data (not the dataplane's)", MultilogDrop),
      a.name, "Its name");
  Leaf(cli, multilog, "list", "List multilogs: records, storage, contents",
       MultilogList)
      ->add_option("name", a.name, "Only this one")
      ->type_name("NAME");
  AddNameArgument(
      Leaf(cli, multilog, "show",
           "Describe one multilog: schema, storage, retention, offsets",
           MultilogShow),
      a.name, "Its name");

  // index
  CLI::App* index =
      Group(&app, "index", "Add, remove and list indexes of the multilog");
  CLI::App* index_add =
      Leaf(cli, index, "add", "Index a column (covers records from now on)",
           AddOf(ControlKind::kIndex));
  index_add->add_option("column", a.column, "The column")
      ->type_name("COLUMN")
      ->required();
  index_add
      ->add_option("--bucket", a.index_bucket,
                   "Integer columns: key = value / bucket (0 or 1: exact "
                   "values)")
      ->type_name("N");
  RemoveAndList(cli, index, ControlKind::kIndex, "Remove a column's index",
                "List the indexes");

  // filter
  CLI::App* filter =
      Group(&app, "filter", "Add, remove, list and query named filters");
  CLI::App* filter_add = Leaf(
      cli, filter, "add", "Add a named filter (covers records from now on)",
      AddOf(ControlKind::kFilter),
      "EXPR examples: 'proto == tcp && dst_port == 443', 'src_ip in "
      "10.0.0.0/8', 'dst_port in {53, 853}', '!(tcp_flags == 0)'. The "
      "expression's words are joined by spaces; quote it for the shell.");
  AddNameArgument(filter_add, a.name, "Its name");
  filter_add->add_option("expression", a.expression_words, "The expression")
      ->type_name("EXPR")
      ->required();
  RemoveAndList(cli, filter, ControlKind::kFilter,
                "Remove a filter (not while an aggregate uses it)",
                "List the filters");
  CLI::App* filter_query =
      Leaf(cli, filter, "query", "The records a named filter matched",
           FilterQuery, std::string(kTimeForms));
  AddNameArgument(filter_query, a.name, "The filter");
  AddQueryOptions(filter_query, a);

  // aggregate
  CLI::App* aggregate =
      Group(&app, "aggregate", "Add, remove, list and read aggregates");
  CLI::App* aggregate_add = Leaf(
      cli, aggregate, "add", "Add an aggregate on a filter",
      AddOf(ControlKind::kAggregate),
      "AGGREGATE: COUNT(), SUM(f), MIN(f), MAX(f), HIST(f), P50(f), P99(f), "
      "QUANTILE(f, q), where f is a numeric column.");
  AddNameArgument(aggregate_add, a.name, "Its name");
  aggregate_add->add_option("filter", a.filter, "The filter it aggregates")
      ->type_name("FILTER")
      ->required();
  aggregate_add
      ->add_option("expression", a.expression_words,
                   "The aggregate, e.g. 'SUM(frame_len)'")
      ->type_name("AGGREGATE")
      ->required();
  RemoveAndList(cli, aggregate, ControlKind::kAggregate,
                "Remove an aggregate (not while a trigger uses it)",
                "List the aggregates");
  CLI::App* aggregate_get =
      Leaf(cli, aggregate, "get",
           "An aggregate's value over a window, or per time bucket (--series)",
           AggregateGet, std::string(kTimeForms));
  AddNameArgument(aggregate_get, a.name, "The aggregate");
  AddWindowOptions(aggregate_get, a);
  aggregate_get->add_flag("--series", a.series,
                          "One value per time bucket (GetAggregateSeries)");
  aggregate_get
      ->add_flag("--histograms", a.histograms,
                 "With --series, for HIST and quantile aggregates: each "
                 "bucket's histogram bins (a heatmap's cells)")
      ->needs("--series");

  // trigger
  CLI::App* trigger = Group(&app, "trigger",
                            "Add, remove and list triggers (alert conditions)");
  CLI::App* trigger_add = Leaf(
      cli, trigger, "add",
      "Add a trigger: an aggregate compared with a number, checked "
      "periodically",
      AddOf(ControlKind::kTrigger),
      "CONDITION: '<aggregate> <op> <number>' with op one of == != < <= > "
      ">=, e.g. 'syn_count > 1000'. Each period the aggregate's value over "
      "the last period is compared; a firing is an alert.");
  AddNameArgument(trigger_add, a.name, "Its name");
  trigger_add->add_option("condition", a.expression_words, "The condition")
      ->type_name("CONDITION")
      ->required();
  trigger_add
      ->add_option("--period", a.period,
                   "How often it is checked, 1ms to 1h, whole milliseconds")
      ->type_name("DURATION")
      ->capture_default_str();
  RemoveAndList(cli, trigger, ControlKind::kTrigger, "Remove a trigger",
                "List the triggers");

  // append, read, query
  CLI::App* append = Leaf(
      cli, &app, "append",
      "Append records from a file or stdin (raw, CSV or column=value lines)",
      Append,
      "Formats: raw: whole records in the multilog's binary layout "
      "(MultilogInfo.schema; numbers in host order, addresses in network "
      "order). csv: a header line of column names, then one row per record. "
      "kv: one record per line, column=value separated by blanks or commas. "
      "Blank lines and lines starting with # are skipped.\n"
      "Values are written as in expressions: 10.0.0.1, ::1, aa:bb:cc:dd:ee:ff, "
      "42, 0x1f, 1.5e3, tcp, true, 'quoted text' (a string column also takes "
      "bare text). The timestamp also takes now, -1s, RFC 3339 or ns. A "
      "column left out is zero; a timestamp left out is the time of reading.\n"
      "The whole input is checked before anything is sent. One record goes "
      "by Append, one batch by AppendBatch (all or nothing), more by "
      "AppendStream (stops at the first refused batch).");
  append->add_option("file", a.file, "The input (default or '-': stdin)")
      ->type_name("FILE");
  append
      ->add_option("--format", a.format,
                   "raw, csv or kv (default: csv for *.csv; raw for *.bin, "
                   "*.raw, *.rec; else kv)")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"raw", "csv", "kv"}));
  append->add_flag("--timestamp-now", a.timestamp_now,
                   "Records whose timestamp is 0 get the agent's clock");
  append
      ->add_option("--batch", a.batch,
                   "Records per batch (default: about 4 MiB, at most the "
                   "agent's max_batch_records)")
      ->type_name("N");

  CLI::App* read =
      Leaf(cli, &app, "read",
           "Read records by offset (default: the newest ones)", Read);
  read->add_option("--offset", a.offset,
                   "The first record's offset (default: the last --count "
                   "records)")
      ->type_name("OFFSET");
  read->add_option("--count", a.count, "Records to read (at most 65536)")
      ->type_name("N")
      ->capture_default_str();
  read->add_option("--snapshot", a.snapshot,
                   "Read below this read tail instead of the current one")
      ->type_name("OFFSET");
  AddSnapshotIdOption(read, a);
  read->add_option("--columns", a.columns,
                   "Columns to show, comma-separated, or 'all'")
      ->type_name("LIST");

  CLI::App* query = Leaf(
      cli, &app, "query",
      "Ad-hoc filter over a time window (uses indexes where it can)", Query,
      "Example: loupectl query 'dst_port == 53 && src_ip in 10.0.0.0/8' "
      "--from -10s\n" +
          std::string(kTimeForms));
  query
      ->add_option("expression", a.expression_words,
                   "The filter expression (its words are joined by spaces)")
      ->type_name("EXPR")
      ->required();
  AddQueryOptions(query, a);

  // alerts
  CLI::App* alerts =
      Leaf(cli, &app, "alerts",
           "Stored alerts, oldest first, or live ones as they fire (--follow)",
           Alerts,
           "Alerts of every multilog unless -m/--multilog is given. With "
           "--follow, one line (or JSON line) per alert until Ctrl-C.\n" +
               std::string(kTimeForms));
  alerts->add_flag("-f,--follow", a.follow,
                   "Stream alerts as they fire (SubscribeAlerts); with "
                   "--since, stored ones first");
  alerts
      ->add_option("--after", a.after,
                   "With --follow: resume after this cursor, "
                   "MULTILOG=INCARNATION:SEQUENCE[,...] (printed on exit)")
      ->type_name("CURSOR")
      ->needs("--follow");
  alerts
      ->add_option("--since", a.since,
                   "Alerts at or after this time (default: every stored "
                   "one; with --follow, only new ones)")
      ->type_name("TIME");
  alerts
      ->add_option("--to", a.to, "Alerts before this time (default: no bound)")
      ->type_name("TIME")
      ->excludes("--follow");
  alerts->add_option("--trigger", a.trigger, "Only this trigger's alerts")
      ->type_name("NAME");
  alerts
      ->add_option("--limit", a.limit,
                   "Alerts per answer (the agent allows at most 100000)")
      ->type_name("N")
      ->capture_default_str()
      ->excludes("--follow");
  alerts->add_flag("--all", a.all, "Follow page tokens to the end")
      ->excludes("--follow");
  alerts->add_option("--page-token", a.page_token, "Continue an earlier answer")
      ->type_name("TOKEN")
      ->excludes("--follow");

  AddSnapshotCommands(cli, &app);
  // program (issue 13, section 2; with --coordinator, issue 14:
  // coordinator/loupectl/fleet_program_command.h)
  CLI::App* program = Group(
      &app, "program",
      "Apply, diff, remove and list programs: named, versioned sets of "
      "indexes, filters, aggregates and triggers, installed all or nothing "
      "(with --coordinator: across the coordinator's agents)");
  program->footer(Wrap(
      "With --coordinator (or LOUPE_COORDINATOR), every program command "
      "goes to the coordinator: a [[multilog]] section may then hold `on = "
      "\"SELECTOR\"` (default: every agent); apply dry-runs on every "
      "selected agent first and changes nothing anywhere if one refuses or "
      "cannot be reached, then applies, rolling back the agents that applied "
      "if another fails; diff is that dry run; remove takes the program off "
      "every agent it went to; list shows the desired programs and each "
      "agent's installed version. The coordinator keeps the desired "
      "programs and brings agents that restart or diverge back to them.\n\n" +
      std::string(kGlobalFooter)));
  ProgramArgs& p = cli.program;
  for (const bool dry_run : {false, true}) {
    CLI::App* apply = Leaf(
        cli, program, dry_run ? "diff" : "apply",
        dry_run ? "Show what applying a program file would change, or every "
                  "problem (a dry run)"
                : "Install a program file all or nothing; a new version "
                  "applies only the difference",
        [&p, dry_run](Session& s) {
          return s.args().coordinator_given ? FleetProgramApply(s, p, dry_run)
                                            : ProgramApply(s, p, dry_run);
        },
        "FILE holds [[multilog]] sections (config/README.md). Unchanged "
        "statements keep their objects and data; --if-version makes the "
        "call fail unless that version (0: none) is installed (with "
        "--coordinator: is the coordinator's desired version). With "
        "--coordinator, each section may hold on = \"SELECTOR\" (such as "
        "\"rack=r2\"), and the answer lists every agent; exit 1 unless "
        "every agent applied it (apply) or would (diff). The coordinator "
        "gives each of its rounds of calls (list, dry run, apply, rollback) "
        "5 s: raise --timeout for a slow fleet.");
    apply->add_option("file", p.file, "The program file")
        ->type_name("FILE")
        ->required();
    apply->add_option("--name", p.name, "The program's name")
        ->type_name("NAME")
        ->required();
    apply->add_option("--version", p.version, "Its version (>= 1)")
        ->type_name("V")
        ->required();
    apply
        ->add_option("--if-version", p.if_version,
                     "Only if this version is installed now (0: none)")
        ->type_name("V");
  }
  CLI::App* program_remove =
      Leaf(cli, program, "remove", "Remove a program and every object it owns",
           [&p](Session& s) {
             return s.args().coordinator_given ? FleetProgramRemove(s, p)
                                               : ProgramRemove(s, p);
           });
  AddNameArgument(program_remove, p.name, "Its name");
  program_remove
      ->add_option("--if-version", p.if_version,
                   "Only if this version is installed now")
      ->type_name("V");
  CLI::App* program_list = Leaf(
      cli, program, "list",
      "List the installed programs (with --coordinator: the desired ones and "
      "each agent's installed version)",
      [&p](Session& s) {
        return s.args().coordinator_given ? FleetProgramList(s, p)
                                          : ProgramList(s, p);
      });
  program_list->add_option("name", p.name, "Only this one")->type_name("NAME");
  program_list
      ->add_option("--selector,--hosts", a.selector,
                   "With --coordinator: only these agents (default: all)")
      ->type_name("SELECTOR");

  // The coordinator (issue 14): coordinator/loupectl/agents_command.h and
  // fleet_command.h.
  AddFleetCommands(cli, &app);
  Leaf(cli, &app, "agents",
       "The coordinator's agents: state (UP, DOWN, UNKNOWN), last seen, "
       "misses, RTT, labels",
       Agents,
       "Asks --coordinator (not --agent). SELECTOR: key=value terms joined by "
       "commas, all of which must hold; host is the agent's name, other keys "
       "its labels; values may hold * and numeric ranges or lists: "
       "\"host=hv[1-8],rack=r2\", \"host=hv[01-16]\", \"host=hv[1,3,5-7]\", "
       "\"role=comp*\". An agent is DOWN after the coordinator's down_after "
       "missed health checks (3 by default, one a second).")
      ->add_option("--selector,--hosts", a.selector,
                   "Only the agents this host selector picks (default: all)")
      ->type_name("SELECTOR");
  Leaf(cli, &app, "stats",
       "The agent's counters: ports, drops by reason, writers, multilogs, "
       "RPCs",
       Stats);
  Leaf(cli, &app, "health",
       "Whether the agent serves, its version and uptime (exit 0 only when "
       "SERVING)",
       Health);

  CLI::App* top = Leaf(
      cli, &app, "top",
      "Live view: rates, drops, top talkers, filter rates, latest alerts", Top,
      "Shows records/s and bytes/s recorded (the dataplane's counters, or "
      "without a dataplane the multilog's), drops by reason (rates and "
      "totals), the top 10 source and destination addresses by bytes over "
      "the last second of data (ending at the newest record), each filter's "
      "records/s over that second, and the latest alerts. Rates are deltas "
      "between refreshes. Talkers are summed from at most --sample-limit "
      "records per refresh (marked sampled when capped).\n"
      "On a terminal it redraws in place until Ctrl-C; otherwise, or with "
      "--count, it prints --count refreshes (default 5) as text blocks, or "
      "JSON lines with --json, and exits 0.");
  top->add_option("--interval", a.interval, "Time between refreshes")
      ->type_name("DURATION")
      ->capture_default_str();
  top->add_option("--count", a.refreshes,
                  "Refreshes to print, then exit (default: until Ctrl-C on "
                  "a terminal, 5 otherwise)")
      ->type_name("N");
  top->add_option("--sample-limit", a.sample_limit,
                  "Records fetched per refresh for the talkers and for each "
                  "filter's count")
      ->type_name("N")
      ->capture_default_str();
  top->add_option("--src-column", a.src_column, "Source address column")
      ->type_name("COLUMN")
      ->capture_default_str();
  top->add_option("--dst-column", a.dst_column, "Destination address column")
      ->type_name("COLUMN")
      ->capture_default_str();
  top->add_option("--bytes-column", a.bytes_column,
                  "Numeric column summed as bytes (records are counted when "
                  "it does not exist)")
      ->type_name("COLUMN")
      ->capture_default_str();

  // Mergeable answers (issue 13, section 3): coordinator/loupectl/
  // breakdown_command.cc.
  auto breakdown_options = [&a](CLI::App* leaf) {
    AddWindowOptions(leaf, a);
    leaf->add_option("--by", a.by, "Key columns, 1 to 4, comma-separated")
        ->type_name("COLUMNS")
        ->required();
    leaf->add_option("--filter", a.filter,
                     "Only records a filter (by name) or an expression "
                     "passes")
        ->type_name("FILTER");
  };
  CLI::App* topk = Leaf(
      cli, &app, "topk", "The keys of most records (or largest sum), exact",
      TopK,
      "GetTopK over every record of the window (never sampled): the k keys "
      "of largest value, the k-th value and whether more keys pass "
      "--min-value. Example:\n"
      "  loupectl topk --by src_ip,dst_port --sum frame_len -k 5 --from "
      "-1m");
  breakdown_options(topk);
  topk->add_option("--sum", a.sum,
                   "Rank by the sum of this numeric column (default: count "
                   "records)")
      ->type_name("COLUMN");
  topk->add_option("-k", a.k, "Keys to show, 1 to 10000")
      ->type_name("N")
      ->capture_default_str();
  topk->add_option("--min-value", a.min_value,
                   "Only keys of at least this value")
      ->type_name("X");
  topk->add_option("--key", a.keys,
                   "Also show this key's exact value (values comma-separated, "
                   "as shown; repeatable)")
      ->type_name("VALUES");
  CLI::App* groupby = Leaf(
      cli, &app, "groupby", "Aggregates per key (and per time bucket), exact",
      GroupBy,
      "GetGroupBy over every record of the window: one row per key (and per "
      "--bucket) with each AGGREGATE (default COUNT()). Example:\n"
      "  loupectl groupby --by proto 'SUM(frame_len)' 'P99(frame_len)' "
      "--bucket 1s --from -10s");
  breakdown_options(groupby);
  groupby
      ->add_option("aggregates", a.aggregates,
                   "COUNT() SUM(c) MIN(c) MAX(c) P50(c) P99(c) "
                   "QUANTILE(c, q)")
      ->type_name("AGGREGATE");
  groupby
      ->add_option("--bucket", a.breakdown_bucket,
                   "Also per time bucket of this width (0: none)")
      ->type_name("DURATION")
      ->capture_default_str();
  groupby->add_option("--limit", a.limit, "Rows to show (at most 100000)")
      ->type_name("N")
      ->capture_default_str();
}

int Main(int argc, char** argv) {
  interrupt::Start();
  Cli cli;
  BuildCli(cli);
  try {
    cli.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports "A subcommand is required" for a misspelt command.
    const std::vector<std::string> extra = cli.app.remaining(true);
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
        !extra.empty()) {
      std::fprintf(stderr,
                   "loupectl: unknown command '%s'; see loupectl --help\n",
                   extra.front().c_str());
      return kExitUsage;
    }
    const int rc = cli.app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  CommandArgs& a = cli.args;
  a.multilog_given = cli.app.get_option("--multilog")->count() > 0 ||
                     std::getenv("LOUPE_MULTILOG") != nullptr;
  a.coordinator_given = cli.app.get_option("--coordinator")->count() > 0 ||
                        std::getenv("LOUPE_COORDINATOR") != nullptr;
  Session session(a, cli.command);
  if (Result<uint64_t> t = ParseDurationNs(a.timeout); !t.ok() || *t == 0) {
    return session.Usage("--timeout: " + (t.ok() ? std::string("must be > 0")
                                                 : t.status().message()));
  }
  if (!cli.handler) return session.Usage("no command given; see --help");
  return cli.handler(session);
}

}  // namespace
}  // namespace loupe::ctl

int main(int argc, char** argv) { return loupe::ctl::Main(argc, argv); }
