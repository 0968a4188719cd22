// loupe-gen: writes a synthetic capture of a hypervisor's mirror port (see
// dataplane/traffic_mix.h for the model) as a pcap file that DPDK's
// net_pcap device, tcpdump and Wireshark read; optionally a JSON file of
// the counts a correct pipeline must find in it.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/frame_builder.h"
#include "dataplane/pcap_writer.h"
#include "dataplane/traffic_mix.h"

namespace loupe::dataplane {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitIo = 1;

// "10.0.0.80:8080" or "[2001:db8::1]:443".
bool ParseTarget(const std::string& text, IpAddress* ip, uint16_t* port) {
  std::string host;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find("]:");
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) return false;  // IPv6: []
  }
  const std::optional<IpAddress> parsed = ParseIpAddress(host);
  if (!parsed || port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const unsigned long value = std::stoul(port_text);
  if (value == 0 || value > 65535) return false;
  *ip = *parsed;
  *port = static_cast<uint16_t>(value);
  return true;
}

// A number in [lo, hi] (lo excluded if open_low), or CLI11's one-line
// reason why not.
CLI::Validator NumberIn(double lo, double hi, bool open_low, const char* what) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        const bool number = !text.empty() && end == text.c_str() + text.size();
        if (number && (open_low ? v > lo : v >= lo) && v <= hi) return "";
        return "'" + text + "' is not " + what;
      },
      "");
}

std::string TargetText(const IpAddress& ip, uint16_t port) {
  const std::string host = FormatIpAddress(ip);
  return (IsIpv4Mapped(ip) ? host : "[" + host + "]") + ":" +
         std::to_string(port);
}

std::string Printf(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, value);
  return buf;
}

std::string Percent(uint64_t part, uint64_t whole) {
  return Printf("%.1f%%", whole == 0 ? 0.0 : 100.0 * part / whole);
}

std::string Utc(uint64_t ns) {
  const std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

uint64_t Count(const std::map<uint8_t, uint64_t>& m, uint8_t key) {
  const auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

std::vector<std::pair<IpAddress, uint64_t>> TopDestinations(const MixSummary& s,
                                                            size_t n) {
  std::vector<std::pair<IpAddress, uint64_t>> top(s.per_dst_ip.begin(),
                                                  s.per_dst_ip.end());
  const size_t k = std::min(n, top.size());
  std::partial_sort(top.begin(), top.begin() + static_cast<ptrdiff_t>(k),
                    top.end(), [](const auto& a, const auto& b) {
                      return a.second != b.second ? a.second > b.second
                                                  : a.first < b.first;
                    });
  top.resize(k);
  return top;
}

template <typename Map, typename KeyText>
void AppendJsonMap(std::string* out, const char* name, const Map& map,
                   KeyText key_text) {
  *out += ",\n  \"";
  *out += name;
  *out += "\": {";
  bool first = true;
  for (const auto& [key, count] : map) {
    *out += first ? "" : ", ";
    first = false;
    *out += "\"" + key_text(key) + "\": " + std::to_string(count);
  }
  *out += "}";
}

std::string SummaryJson(const MixOptions& o, const MixSummary& s) {
  std::string j = "{\n";
  const auto field = [&j](const char* name, uint64_t v, bool last = false) {
    j += "  \"";
    j += name;
    j += "\": " + std::to_string(v) + (last ? "" : ",\n");
  };
  field("seed", o.seed);
  field("hosts", o.hosts);
  j += "  \"rate_pps\": " + Printf("%.17g", o.rate_pps) + ",\n";
  field("packets", s.packets);
  field("bytes", s.bytes);
  field("malformed", s.malformed);
  field("records", s.records);
  field("ipv4", s.ipv4);
  field("ipv6", s.ipv6);
  field("non_ip", s.non_ip);
  field("vxlan", s.vxlan);
  field("fragments", s.fragments);
  field("first_timestamp_ns", s.first_timestamp_ns);
  field("last_timestamp_ns", s.last_timestamp_ns);
  if (o.burst) {
    j += "  \"burst\": {\"target\": \"" + TargetText(o.burst_ip, o.burst_port) +
         "\", \"factor\": " + Printf("%.17g", o.burst_factor) +
         ", \"start_ns\": " + std::to_string(s.burst_start_ns) +
         ", \"end_ns\": " + std::to_string(s.burst_end_ns) +
         ", \"packets\": " + std::to_string(s.burst_packets) +
         ", \"to_target\": " + std::to_string(s.burst_to_target) + "}";
  } else {
    j += "  \"burst\": null";
  }
  const auto number = [](auto key) { return std::to_string(key); };
  AppendJsonMap(&j, "per_proto", s.per_proto, number);
  AppendJsonMap(&j, "per_dst_port", s.per_dst_port, number);
  AppendJsonMap(&j, "per_dst_ip", s.per_dst_ip,
                [](const IpAddress& ip) { return FormatIpAddress(ip); });
  AppendJsonMap(&j, "per_ether_type", s.per_ether_type, number);
  AppendJsonMap(&j, "per_vni", s.per_vni, number);
  AppendJsonMap(&j, "per_vlan", s.per_vlan, number);
  j += "\n}\n";
  return j;
}

using File = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

// Writes and closes a file opened before the capture was generated (so
// that a bad --summary path fails before the work, not after).
Status WriteAndClose(File file, const std::string& path,
                     const std::string& text) {
  const bool written =
      std::fwrite(text.data(), 1, text.size(), file.get()) == text.size();
  const int write_errno = errno;
  if (std::fclose(file.release()) != 0 || !written) {
    return Status::FromErrno("writing " + path, written ? errno : write_errno);
  }
  return Status::Ok();
}

std::string Paragraph(const MixOptions& o, const MixSummary& s,
                      const std::string& out, double seconds) {
  std::string p = "loupe-gen: wrote " + std::to_string(s.packets) +
                  " packets (" + Printf("%.1f MB", s.bytes / 1e6) + ") to " +
                  out + " in " + Printf("%.2f s", seconds) + " (" +
                  Printf("%.0f packets/s", s.packets / seconds) + ", " +
                  Printf("%.0f MB/s", s.bytes / 1e6 / seconds) + ").";
  const double span =
      static_cast<double>(s.last_timestamp_ns - s.first_timestamp_ns) / 1e9;
  p += " Capture time " + Printf("%.4g s", span) + " from " +
       Utc(s.first_timestamp_ns) + ", " + std::to_string(o.hosts) +
       " hosts, base rate " + Printf("%.0f packets/s", o.rate_pps) + ".";
  if (o.burst) {
    p += " Burst to " + TargetText(o.burst_ip, o.burst_port) + " from " +
         Printf("%.3f s", (s.burst_start_ns - o.start_ns) / 1e9) + " to " +
         Printf("%.3f s", (s.burst_end_ns - o.start_ns) / 1e9) + " at " +
         Printf("%g", o.burst_factor) +
         "x the base rate: " + std::to_string(s.burst_packets) +
         " extra packets, " + std::to_string(s.burst_to_target) +
         " of them to the target.";
  }
  const uint64_t tcp = Count(s.per_proto, kIpProtoTcp);
  const uint64_t udp = Count(s.per_proto, kIpProtoUdp);
  const uint64_t icmp =
      Count(s.per_proto, kIpProtoIcmp) + Count(s.per_proto, kIpProtoIcmpv6);
  p += " Records: TCP " + Percent(tcp, s.records) + ", UDP " +
       Percent(udp, s.records) + ", ICMP " + Percent(icmp, s.records) +
       ", non-IP " + Percent(s.non_ip, s.records) + "; IPv6 " +
       Percent(s.ipv6, s.records) + ", VXLAN " + Percent(s.vxlan, s.records) +
       ", fragments " + Percent(s.fragments, s.records) + "; " +
       std::to_string(s.malformed) + " malformed frames.";
  p += " Top destinations:";
  bool first = true;
  for (const auto& [ip, count] : TopDestinations(s, 5)) {
    p += (first ? " " : ", ") + FormatIpAddress(ip) + " (" +
         Percent(count, s.records) + ")";
    first = false;
  }
  p += ".";
  return p;
}

int Main(int argc, char** argv) {
  CLI::App app(
      "Writes a synthetic capture of a hypervisor's mirror port: VM hosts on "
      "10.0.0.0/16 and 2001:db8:2a:1::/64 serving 443, 80, 8080, 22, 5432, "
      "6379, 9092/tcp, DNS and NTP, with TCP/UDP/ICMP about 85/13/2, some "
      "VXLAN, VLANs and ARP, optionally a flash-crowd burst and malformed "
      "frames. The same options and seed give the same file.",
      "loupe-gen");
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("loupe-gen: error: ") + e.what() +
           " (run with --help for usage)\n";
  });

  const CLI::Validator kFraction =
      NumberIn(0, 1, false, "a fraction between 0 and 1");
  MixOptions opt;
  std::string out;
  std::string summary_path;
  std::string target = "10.0.0.80:8080";
  app.add_option("-o,--out", out, "pcap file to write (nanosecond timestamps)")
      ->required();
  app.add_option("-n,--packets", opt.packets,
                 "frames to write, burst and malformed ones included")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  app.add_option("--rate", opt.rate_pps,
                 "base packet rate of the capture's timestamps, packets/s")
      ->check(NumberIn(0, 1e12, true, "a positive number"))
      ->capture_default_str();
  app.add_option("--hosts", opt.hosts, "number of VM hosts")
      ->check(CLI::Range(uint32_t{8}, kMixMaxHosts))
      ->capture_default_str();
  app.add_option("--seed", opt.seed, "random seed")->capture_default_str();
  app.add_option("--ipv6", opt.ipv6_fraction, "fraction of IPv6 traffic")
      ->check(kFraction)
      ->capture_default_str();
  app.add_option("--vxlan", opt.vxlan_fraction,
                 "fraction of tenant overlay (VXLAN) traffic")
      ->check(kFraction)
      ->capture_default_str();
  app.add_option("--malformed", opt.malformed_fraction,
                 "fraction of frames damaged so that a parser must reject "
                 "them (cut inside a header, bad IHL or IP version)")
      ->check(kFraction)
      ->capture_default_str();
  auto* burst_start =
      app.add_option("--burst-start", opt.burst_start,
                     "burst from this fraction of the capture's duration; "
                     "any --burst-* option turns the burst on")
          ->check(kFraction)
          ->capture_default_str();
  auto* burst_end = app.add_option("--burst-end", opt.burst_end,
                                   "burst until this fraction of the duration")
                        ->check(kFraction)
                        ->capture_default_str();
  auto* burst_factor =
      app.add_option("--burst-factor", opt.burst_factor,
                     "rate of the burst's extra traffic, in multiples of "
                     "--rate")
          ->check(NumberIn(0, 1000, true, "a number above 0 and at most 1000"))
          ->capture_default_str();
  auto* burst_target =
      app.add_option("--burst-target", target,
                     "IP:PORT (or [IPv6]:PORT) the flash crowd connects to "
                     "over TCP")
          ->check(CLI::Validator(
              [](std::string& s) -> std::string {
                IpAddress ip;
                uint16_t port;
                return ParseTarget(s, &ip, &port)
                           ? ""
                           : "'" + s + "' is not IP:PORT or [IPv6]:PORT";
              },
              "IP:PORT"))
          ->capture_default_str();
  app.add_option("--summary", summary_path,
                 "also write the generated counts (per protocol, destination "
                 "port and address, ...) to this JSON file");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  opt.burst = burst_start->count() + burst_end->count() +
                  burst_factor->count() + burst_target->count() >
              0;
  if (!ParseTarget(target, &opt.burst_ip, &opt.burst_port)) return kExitUsage;
  if (opt.burst && opt.burst_start >= opt.burst_end) {
    std::fprintf(stderr,
                 "loupe-gen: error: --burst-start %g must be below "
                 "--burst-end %g\n",
                 opt.burst_start, opt.burst_end);
    return kExitUsage;
  }
  Result<TrafficMix> mix = TrafficMix::Create(opt);
  if (!mix.ok()) {
    std::fprintf(stderr, "loupe-gen: error: %s\n",
                 mix.status().message().c_str());
    return kExitUsage;
  }
  File summary_file(nullptr, &std::fclose);
  if (!summary_path.empty()) {
    summary_file.reset(std::fopen(summary_path.c_str(), "w"));
    if (summary_file == nullptr) {
      std::fprintf(stderr, "loupe-gen: error: creating %s: %s\n",
                   summary_path.c_str(), std::strerror(errno));
      return kExitIo;
    }
  }
  Result<PcapWriter> writer = PcapWriter::Create(out);
  if (!writer.ok()) {
    std::fprintf(stderr, "loupe-gen: error: %s\n",
                 writer.status().message().c_str());
    return kExitIo;
  }

  const auto start = std::chrono::steady_clock::now();
  std::vector<uint8_t> frame(kMixMaxFrameBytes);
  MixFrame info;
  while (mix->Next(frame.data(), frame.size(), &info)) {
    Status status = writer->Write(info.timestamp_ns, frame.data(), info.length);
    if (!status.ok()) {
      std::fprintf(stderr, "loupe-gen: error: %s\n", status.message().c_str());
      return kExitIo;
    }
  }
  if (Status status = writer->Close(); !status.ok()) {
    std::fprintf(stderr, "loupe-gen: error: %s\n", status.message().c_str());
    return kExitIo;
  }
  const double seconds = std::max(
      1e-9,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count());

  if (summary_file != nullptr) {
    if (Status status = WriteAndClose(std::move(summary_file), summary_path,
                                      SummaryJson(opt, mix->summary()));
        !status.ok()) {
      std::fprintf(stderr, "loupe-gen: error: %s\n", status.message().c_str());
      return kExitIo;
    }
  }
  std::printf("%s\n", Paragraph(opt, mix->summary(), out, seconds).c_str());
  return 0;
}

}  // namespace
}  // namespace loupe::dataplane

int main(int argc, char** argv) { return loupe::dataplane::Main(argc, argv); }
