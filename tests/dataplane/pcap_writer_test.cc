#include "dataplane/pcap_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace loupe::dataplane {
namespace {

using ::testing::HasSubstr;

struct Packet {
  uint64_t timestamp_ns;
  uint32_t orig_len;
  std::vector<uint8_t> bytes;
};

struct Capture {
  uint32_t magic = 0;
  uint16_t major = 0;
  uint16_t minor = 0;
  uint32_t snaplen = 0;
  uint32_t linktype = 0;
  std::vector<Packet> packets;
};

template <typename T>
T Load(const std::vector<uint8_t>& data, size_t at) {
  T v;
  std::memcpy(&v, data.data() + at, sizeof(T));
  return v;
}

// A minimal reader of what the writer writes (native byte order).
bool ReadCapture(const std::string& path, Capture* out) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (data.size() < kPcapFileHeaderBytes) return false;
  out->magic = Load<uint32_t>(data, 0);
  out->major = Load<uint16_t>(data, 4);
  out->minor = Load<uint16_t>(data, 6);
  out->snaplen = Load<uint32_t>(data, 16);
  out->linktype = Load<uint32_t>(data, 20);
  size_t at = kPcapFileHeaderBytes;
  while (at < data.size()) {
    if (data.size() - at < kPcapRecordHeaderBytes) return false;
    Packet p;
    const uint32_t sec = Load<uint32_t>(data, at);
    const uint32_t nsec = Load<uint32_t>(data, at + 4);
    const uint32_t incl = Load<uint32_t>(data, at + 8);
    p.orig_len = Load<uint32_t>(data, at + 12);
    at += kPcapRecordHeaderBytes;
    if (nsec >= 1'000'000'000 || data.size() - at < incl) return false;
    p.timestamp_ns = uint64_t{sec} * 1'000'000'000 + nsec;
    p.bytes.assign(data.begin() + static_cast<ptrdiff_t>(at),
                   data.begin() + static_cast<ptrdiff_t>(at + incl));
    at += incl;
    out->packets.push_back(std::move(p));
  }
  return true;
}

class PcapWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pcap_writer_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
};

std::vector<uint8_t> Frame(size_t len, uint8_t seed) {
  std::vector<uint8_t> f(len);
  for (size_t i = 0; i < len; ++i) f[i] = static_cast<uint8_t>(seed + i);
  return f;
}

TEST_F(PcapWriterTest, WritesAFileThatReadsBack) {
  const std::string path = dir_ + "/a.pcap";
  Result<PcapWriter> writer = PcapWriter::Create(path);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  const std::vector<std::pair<uint64_t, std::vector<uint8_t>>> frames = {
      {1'700'000'000'123'456'789, Frame(60, 1)},
      {1'700'000'000'999'999'999, Frame(1514, 2)},
      {1'700'000'001'000'000'000, Frame(9000, 3)},
  };
  for (const auto& [ts, bytes] : frames) {
    ASSERT_TRUE(
        writer->Write(ts, bytes.data(), static_cast<uint32_t>(bytes.size()))
            .ok());
  }
  EXPECT_EQ(writer->packets(), 3u);
  EXPECT_EQ(writer->file_bytes(), 24u + 3 * 16 + 60 + 1514 + 9000);
  ASSERT_TRUE(writer->Close().ok());
  EXPECT_EQ(std::filesystem::file_size(path), writer->file_bytes());

  Capture c;
  ASSERT_TRUE(ReadCapture(path, &c));
  EXPECT_EQ(c.magic, kPcapMagicNanos);
  EXPECT_EQ(c.major, 2);
  EXPECT_EQ(c.minor, 4);
  EXPECT_EQ(c.snaplen, 65535u);
  EXPECT_EQ(c.linktype, 1u);
  ASSERT_EQ(c.packets.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(c.packets[i].timestamp_ns, frames[i].first);
    EXPECT_EQ(c.packets[i].orig_len, frames[i].second.size());
    EXPECT_EQ(c.packets[i].bytes, frames[i].second);
  }
}

TEST_F(PcapWriterTest, FramesAboveTheSnapLengthAreCut) {
  const std::string path = dir_ + "/big.pcap";
  Result<PcapWriter> writer = PcapWriter::Create(path);
  ASSERT_TRUE(writer.ok());
  const std::vector<uint8_t> big = Frame(70'000, 9);
  ASSERT_TRUE(writer->Write(5, big.data(), 70'000).ok());
  ASSERT_TRUE(writer->Close().ok());
  Capture c;
  ASSERT_TRUE(ReadCapture(path, &c));
  ASSERT_EQ(c.packets.size(), 1u);
  EXPECT_EQ(c.packets[0].orig_len, 70'000u);
  EXPECT_EQ(c.packets[0].bytes.size(), kPcapSnapLen);
  EXPECT_TRUE(std::equal(c.packets[0].bytes.begin(), c.packets[0].bytes.end(),
                         big.begin()));
}

// Many more records than the buffer holds, of varying sizes.
TEST_F(PcapWriterTest, ManyPacketsCrossBufferBoundaries) {
  const std::string path = dir_ + "/many.pcap";
  Result<PcapWriter> writer = PcapWriter::Create(path);
  ASSERT_TRUE(writer.ok());
  constexpr int kPackets = 20'000;
  uint64_t bytes = kPcapFileHeaderBytes;
  for (int i = 0; i < kPackets; ++i) {
    const std::vector<uint8_t> f =
        Frame(60 + static_cast<size_t>(i * 37) % 1455, static_cast<uint8_t>(i));
    ASSERT_TRUE(writer
                    ->Write(uint64_t(i) * 1000, f.data(),
                            static_cast<uint32_t>(f.size()))
                    .ok());
    bytes += kPcapRecordHeaderBytes + f.size();
  }
  ASSERT_TRUE(writer->Close().ok());
  EXPECT_EQ(std::filesystem::file_size(path), bytes);
  Capture c;
  ASSERT_TRUE(ReadCapture(path, &c));
  ASSERT_EQ(c.packets.size(), size_t{kPackets});
  for (int i = 0; i < kPackets; i += 997) {
    EXPECT_EQ(c.packets[i].timestamp_ns, uint64_t(i) * 1000);
    EXPECT_EQ(c.packets[i].bytes, Frame(60 + static_cast<size_t>(i * 37) % 1455,
                                        static_cast<uint8_t>(i)));
  }
}

TEST_F(PcapWriterTest, MissingDirectoryNamesTheFileAndTheReason) {
  const std::string path = dir_ + "/no/such/dir/a.pcap";
  Result<PcapWriter> writer = PcapWriter::Create(path);
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(writer.status().message(),
            "creating pcap file " + path + ": No such file or directory");
}

TEST_F(PcapWriterTest, UnwritableDirectoryGivesAClearError) {
  const std::string ro = dir_ + "/read-only";
  ASSERT_EQ(mkdir(ro.c_str(), 0500), 0);
  std::string path = ro + "/a.pcap";
  Result<PcapWriter> writer = PcapWriter::Create(path);
  if (writer.ok()) {
    // Root ignores directory permissions; sysfs refuses new files to all.
    path = "/sys/loupe-pcap-writer-test.pcap";
    writer = PcapWriter::Create(path);
    if (writer.ok())
      GTEST_SKIP() << "found no directory this user cannot write";
  }
  EXPECT_THAT(
      writer.status().message(),
      testing::AnyOf("creating pcap file " + path + ": Permission denied",
                     "creating pcap file " + path + ": Read-only file system"));
}

TEST_F(PcapWriterTest, DirectoryAsFileGivesAClearError) {
  Result<PcapWriter> writer = PcapWriter::Create(dir_);
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().message(),
            "creating pcap file " + dir_ + ": Is a directory");
}

// /dev/full accepts the open and fails every write with ENOSPC.
TEST_F(PcapWriterTest, WriteErrorsAreReportedAndSticky) {
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  Result<PcapWriter> writer = PcapWriter::Create("/dev/full");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();  // buffered header
  const std::vector<uint8_t> f = Frame(1000, 0);
  Status status;
  for (int i = 0; i < 2000 && status.ok(); ++i) {
    status = writer->Write(0, f.data(), 1000);  // the buffer fills, flushes
  }
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), Status::Code::kResourceExhausted);
  EXPECT_THAT(status.message(),
              HasSubstr("writing pcap file /dev/full: No space left"));
  EXPECT_EQ(writer->Write(0, f.data(), 1000), status);
  EXPECT_EQ(writer->Close(), status);
}

TEST_F(PcapWriterTest, CloseFlushesOnceAndLaterWritesFail) {
  const std::string path = dir_ + "/c.pcap";
  Result<PcapWriter> writer = PcapWriter::Create(path);
  ASSERT_TRUE(writer.ok());
  const std::vector<uint8_t> f = Frame(64, 0);
  ASSERT_TRUE(writer->Write(1, f.data(), 64).ok());
  ASSERT_TRUE(writer->Flush().ok());
  EXPECT_EQ(std::filesystem::file_size(path), 24u + 16 + 64);
  ASSERT_TRUE(writer->Close().ok());
  EXPECT_TRUE(writer->Close().ok());
  const Status late = writer->Write(2, f.data(), 64);
  EXPECT_EQ(late.code(), Status::Code::kFailedPrecondition);
  EXPECT_THAT(late.message(), HasSubstr(path));
}

TEST_F(PcapWriterTest, MovedWriterKeepsWriting) {
  const std::string path = dir_ + "/m.pcap";
  Result<PcapWriter> created = PcapWriter::Create(path);
  ASSERT_TRUE(created.ok());
  PcapWriter writer = std::move(created).value();
  const std::vector<uint8_t> f = Frame(100, 5);
  ASSERT_TRUE(writer.Write(1, f.data(), 100).ok());
  PcapWriter other = std::move(writer);
  ASSERT_TRUE(other.Write(2, f.data(), 100).ok());
  EXPECT_EQ(other.packets(), 2u);
  EXPECT_EQ(other.path(), path);
  ASSERT_TRUE(other.Close().ok());
  Capture c;
  ASSERT_TRUE(ReadCapture(path, &c));
  EXPECT_EQ(c.packets.size(), 2u);
}

// The destructor flushes what was buffered.
TEST_F(PcapWriterTest, DestructorFlushes) {
  const std::string path = dir_ + "/d.pcap";
  {
    Result<PcapWriter> writer = PcapWriter::Create(path);
    ASSERT_TRUE(writer.ok());
    const std::vector<uint8_t> f = Frame(70, 1);
    ASSERT_TRUE(writer->Write(1, f.data(), 70).ok());
  }
  Capture c;
  ASSERT_TRUE(ReadCapture(path, &c));
  ASSERT_EQ(c.packets.size(), 1u);
  EXPECT_EQ(c.packets[0].bytes, Frame(70, 1));
}

}  // namespace
}  // namespace loupe::dataplane
