#include "multilog/internal/file_block_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "multilog/atomic_file.h"
#include "multilog/crc32c.h"
#include "multilog/internal/prefault.h"
#include "multilog/storage_format.h"

namespace loupe::internal {
namespace fmt = storage_format;
namespace {

std::string Join(const std::string& dir, std::string_view name) {
  std::string p = dir;
  if (!p.empty() && p.back() != '/') p += '/';
  p += name;
  return p;
}

Status WriteAll(int fd, const void* data, size_t n, const std::string& path) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("cannot write " + path, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

std::string ManifestBody(const Schema& schema, uint32_t block_records) {
  std::string body(fmt::kManifestMagicLine);
  body += "\nrecord_size " + std::to_string(schema.record_size());
  body += "\nblock_records " + std::to_string(block_records);
  body += "\nschema " + schema.Serialize() + "\n";
  return body;
}

void EncodeU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t DecodeU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

Result<TailCommit> DecodeSlot(const uint8_t* slot) {
  uint32_t stored = static_cast<uint32_t>(
      DecodeU64(slot + fmt::kCommitPayloadBytes) & 0xffffffffu);
  if (DecodeU64(slot) != fmt::kCommitMagic ||
      Crc32c(slot, fmt::kCommitPayloadBytes) != stored) {
    return Status::Corruption("bad commit slot");
  }
  TailCommit c;
  c.sequence = DecodeU64(slot + 8);
  c.head = DecodeU64(slot + 16);
  c.tail = DecodeU64(slot + 24);
  return c;
}

}  // namespace

bool FileBlockStore::Exists(const std::string& directory) {
  struct stat st;
  return stat(Join(directory, fmt::kManifestName).c_str(), &st) == 0;
}

FileBlockStore::FileBlockStore(std::string directory, uint64_t block_bytes,
                               int tail_fd, uint64_t next_sequence)
    : directory_(std::move(directory)),
      block_bytes_(block_bytes),
      tail_fd_(tail_fd),
      next_sequence_(next_sequence) {}

FileBlockStore::~FileBlockStore() { close(tail_fd_); }

Result<std::unique_ptr<FileBlockStore>> FileBlockStore::Create(
    const std::string& directory, const Schema& schema,
    uint32_t block_records) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) {
    return Status::FromErrno(
        "cannot create data log directory '" + directory + "'", ec.value());
  }
  // TAIL first: a directory with a MANIFEST always has a TAIL.
  const std::string tail_path = Join(directory, fmt::kTailName);
  int tail_fd =
      open(tail_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (tail_fd < 0) {
    return Status::FromErrno(
        "cannot create '" + tail_path + "' (is the directory writable?)",
        errno);
  }
  std::unique_ptr<FileBlockStore> store(new FileBlockStore(
      directory, uint64_t{block_records} * schema.record_size(), tail_fd, 0));
  uint8_t zeros[fmt::kTailFileBytes] = {};
  Status s = WriteAll(tail_fd, zeros, sizeof(zeros), tail_path);
  if (s.ok()) s = store->CommitTail(0, 0);
  if (!s.ok()) return s;

  const std::string body = ManifestBody(schema, block_records);
  char crc_line[32];
  std::snprintf(crc_line, sizeof(crc_line), "crc32c %08" PRIx32 "\n",
                Crc32c(body.data(), body.size()));
  // MANIFEST.tmp, then renamed: a crash leaves no half a MANIFEST.
  static_assert(fmt::kManifestTmpName == "MANIFEST.tmp");
  LOUPE_RETURN_IF_ERROR(
      ReplaceFile(Join(directory, fmt::kManifestName), body + crc_line, 0644));
  return store;
}

Result<std::unique_ptr<FileBlockStore>> FileBlockStore::Open(
    const std::string& directory, const Schema& schema,
    uint32_t block_records) {
  const std::string manifest = Join(directory, fmt::kManifestName);
  FILE* f = std::fopen(manifest.c_str(), "rb");
  if (f == nullptr) return Status::FromErrno("cannot open " + manifest, errno);
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);

  const size_t crc_at = text.rfind("crc32c ");
  uint32_t stored = 0;
  if (crc_at == std::string::npos ||
      std::sscanf(text.c_str() + crc_at, "crc32c %8" SCNx32, &stored) != 1 ||
      Crc32c(text.data(), crc_at) != stored ||
      text.compare(0, fmt::kManifestMagicLine.size(),
                   fmt::kManifestMagicLine) != 0) {
    return Status::Corruption(
        manifest +
        " is corrupt (bad magic or checksum); the log in this directory "
        "cannot be opened: restore it from a snapshot or move the directory "
        "aside to start a new log");
  }
  const std::string expected = ManifestBody(schema, block_records);
  if (text.compare(0, crc_at, expected) != 0) {
    auto field = [&](std::string_view line_start) {
      size_t at = text.find(line_start);
      if (at == std::string::npos || at >= crc_at) return std::string("?");
      at += line_start.size();
      return text.substr(at, text.find('\n', at) - at);
    };
    return Status::FailedPrecondition(
        "the log in '" + directory + "' has schema '" + field("\nschema ") +
        "' and block_records " + field("\nblock_records ") +
        ", but was opened with schema '" + schema.Serialize() +
        "' and block_records " + std::to_string(block_records) +
        "; open it with its own schema or use another directory");
  }
  const std::string tail_path = Join(directory, fmt::kTailName);
  int tail_fd = open(tail_path.c_str(), O_RDWR | O_CLOEXEC);
  if (tail_fd < 0) {
    return Status::FromErrno("cannot open '" + tail_path + "'", errno);
  }
  std::unique_ptr<FileBlockStore> store(new FileBlockStore(
      directory, uint64_t{block_records} * schema.record_size(), tail_fd, 0));
  Result<TailCommit> c = store->ReadTail();
  if (!c.ok()) return c.status();
  store->next_sequence_ = c->sequence + 1;
  return store;
}

Result<TailCommit> FileBlockStore::ReadTail() const {
  uint8_t buf[fmt::kTailFileBytes] = {};
  ssize_t r = pread(tail_fd_, buf, sizeof(buf), 0);
  if (r < 0) {
    return Status::FromErrno("cannot read " + Join(directory_, fmt::kTailName),
                             errno);
  }
  Result<TailCommit> a = DecodeSlot(buf);
  Result<TailCommit> b = DecodeSlot(buf + fmt::kCommitSlotBytes);
  if (a.ok() && b.ok()) return a->sequence > b->sequence ? a : b;
  if (a.ok()) return a;
  if (b.ok()) return b;
  return Status::Corruption(
      Join(directory_, fmt::kTailName) +
      " is corrupt: both commit slots fail their checksum, so the committed "
      "end of the log is unknown; restore it from a snapshot or move the "
      "directory aside");
}

Status FileBlockStore::CommitTail(uint64_t head, uint64_t tail) {
  uint8_t slot[fmt::kCommitSlotBytes] = {};
  EncodeU64(slot, fmt::kCommitMagic);
  EncodeU64(slot + 8, next_sequence_);
  EncodeU64(slot + 16, head);
  EncodeU64(slot + 24, tail);
  EncodeU64(slot + fmt::kCommitPayloadBytes,
            Crc32c(slot, fmt::kCommitPayloadBytes));
  const off_t at = static_cast<off_t>((next_sequence_ % 2) * sizeof(slot));
  const std::string path = Join(directory_, fmt::kTailName);
  if (pwrite(tail_fd_, slot, sizeof(slot), at) !=
      static_cast<ssize_t>(sizeof(slot))) {
    return Status::FromErrno("cannot write commit record to " + path, errno);
  }
  if (fdatasync(tail_fd_) != 0) {
    return Status::FromErrno("cannot sync " + path, errno);
  }
  ++next_sequence_;
  return Status::Ok();
}

std::string FileBlockStore::BlockPath(uint64_t index) const {
  char name[64];
  std::snprintf(name, sizeof(name), "%.*s%016" PRIx64 "%.*s",
                static_cast<int>(fmt::kBlockPrefix.size()),
                fmt::kBlockPrefix.data(), index,
                static_cast<int>(fmt::kBlockSuffix.size()),
                fmt::kBlockSuffix.data());
  return Join(directory_, name);
}

Result<uint8_t*> FileBlockStore::MapFile(int fd, const std::string& path) {
  int rc = posix_fallocate(fd, 0, static_cast<off_t>(block_bytes_));
  if (rc != 0) {
    close(fd);
    return Status::FromErrno("cannot reserve " + std::to_string(block_bytes_) +
                                 " bytes for " + path + " (free space in '" +
                                 directory_ + "' or configure retention)",
                             rc);
  }
  void* p =
      mmap(nullptr, block_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);
  if (p == MAP_FAILED) return Status::FromErrno("cannot map " + path, err);
  mapped_bytes_.fetch_add(block_bytes_, std::memory_order_relaxed);
  return static_cast<uint8_t*>(p);
}

Result<uint8_t*> FileBlockStore::Allocate(uint64_t index) {
  const std::string path = BlockPath(index);
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("cannot create " + path, errno);
  Result<uint8_t*> p = MapFile(fd, path);
  if (!p.ok()) {
    unlink(path.c_str());
    return p;
  }
  PrefaultForWrite(*p, block_bytes_);
  blocks_allocated_.fetch_add(1, std::memory_order_relaxed);
  return p;
}

Result<uint8_t*> FileBlockStore::MapExisting(uint64_t index,
                                             uint64_t* file_bytes) {
  const std::string path = BlockPath(index);
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open " + path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return Status::FromErrno("cannot stat " + path, err);
  }
  *file_bytes = static_cast<uint64_t>(st.st_size);
  if (*file_bytes > block_bytes_) *file_bytes = block_bytes_;
  return MapFile(fd, path);
}

void FileBlockStore::RemoveBlocksBelow(uint64_t index) {
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(directory_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() !=
            fmt::kBlockPrefix.size() + 16 + fmt::kBlockSuffix.size() ||
        name.compare(0, fmt::kBlockPrefix.size(), fmt::kBlockPrefix) != 0) {
      continue;
    }
    uint64_t i =
        std::strtoull(name.c_str() + fmt::kBlockPrefix.size(), nullptr, 16);
    if (i < index) unlink(entry.path().c_str());
  }
}

void FileBlockStore::Release(uint64_t index, uint8_t* block) {
  Detach(index, block);
  unlink(BlockPath(index).c_str());
}

void FileBlockStore::Detach(uint64_t, uint8_t* block) {
  munmap(block, block_bytes_);
  mapped_bytes_.fetch_sub(block_bytes_, std::memory_order_relaxed);
}

Status FileBlockStore::Sync(uint8_t* block, uint64_t begin, uint64_t end) {
  if (end <= begin) return Status::Ok();
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t from = begin & ~(page - 1);
  if (msync(block + from, end - from, MS_SYNC) != 0) {
    return Status::FromErrno("cannot sync data in " + directory_, errno);
  }
  return Status::Ok();
}

}  // namespace loupe::internal
