#include "coordinator/program_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "agent/program_file.h"
#include "multilog/ascii.h"
#include "multilog/line_fields.h"

namespace loupe::coordinator {
namespace {

constexpr std::string_view kMagic = "loupe-coordinator program 1";
constexpr std::string_view kSuffix = ".program";
constexpr std::string_view kTempSuffix = ".tmp";
constexpr mode_t kDirectoryMode = 0750;
constexpr mode_t kFileMode = 0640;
// A stored program is at most the largest program file plus its header.
constexpr size_t kMaxFileBytes = (1 << 20) + 4096;

std::string Errno(int e) { return std::strerror(e); }

Status MakeDirectory(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return Status::InvalidArgument("state directory " + path +
                                     " exists and is not a directory");
    }
    return Status::Ok();
  }
  if (mkdir(path.c_str(), kDirectoryMode) != 0 && errno != EEXIST) {
    return Status::IoError("cannot create state directory " + path + ": " +
                           Errno(errno) +
                           "; create it (mode 0750) for the coordinator's "
                           "user, or set [coordinator] state_directory");
  }
  return Status::Ok();
}

Status FsyncDirectory(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("opening " + path + ": " + Errno(errno));
  const int rc = fsync(fd);
  const int e = errno;
  close(fd);
  if (rc != 0) return Status::IoError("fsync " + path + ": " + Errno(e));
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("reading " + path + ": " + Errno(errno));
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      close(fd);
      return Status::IoError("reading " + path + ": " + Errno(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxFileBytes) {
      close(fd);
      return Status::InvalidArgument(path + ": larger than a stored program " +
                                     "can be; is it one?");
    }
  }
  close(fd);
  return out;
}

// "key value\n" at *pos; advances past it.
bool TakeField(std::string_view bytes, size_t* pos, std::string_view key,
               std::string* value) {
  const size_t nl = bytes.find('\n', *pos);
  if (nl == std::string_view::npos) return false;
  std::string_view line = bytes.substr(*pos, nl - *pos);
  if (!line.starts_with(key) || line.size() < key.size() + 1 ||
      line[key.size()] != ' ') {
    return false;
  }
  *value = std::string(line.substr(key.size() + 1));
  *pos = nl + 1;
  return true;
}

}  // namespace

std::string EncodeDesiredProgram(const DesiredProgram& p) {
  std::string out(kMagic);
  out += "\nversion " + std::to_string(p.version) + "\nsource " + p.source +
         "\nupdated_ns " + std::to_string(p.updated_ns) + "\nbytes " +
         std::to_string(p.text.size()) + "\n";
  out += p.text;
  return out;
}

Result<DesiredProgram> DecodeDesiredProgram(const std::string& bytes,
                                            const std::string& name,
                                            const std::string& path) {
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument(
        path + ": " + what +
        "; not a stored program of this coordinator (move it away to start "
        "without it)");
  };
  if (!bytes.starts_with(std::string(kMagic) + "\n")) {
    return bad("does not start with \"" + std::string(kMagic) + "\"");
  }
  size_t pos = kMagic.size() + 1;
  DesiredProgram p;
  p.name = name;
  std::string version, updated, length;
  if (!TakeField(bytes, &pos, "version", &version) ||
      !ParseDecimal(version, &p.version) || p.version == 0) {
    return bad("line 2 is not \"version V\" with V >= 1");
  }
  if (!TakeField(bytes, &pos, "source", &p.source)) {
    return bad("line 3 is not \"source SOURCE\"");
  }
  if (!TakeField(bytes, &pos, "updated_ns", &updated) ||
      !ParseDecimal(updated, &p.updated_ns)) {
    return bad("line 4 is not \"updated_ns N\"");
  }
  uint64_t n = 0;
  if (!TakeField(bytes, &pos, "bytes", &length) || !ParseDecimal(length, &n)) {
    return bad("line 5 is not \"bytes B\"");
  }
  if (bytes.size() - pos != n) {
    return bad("holds " + std::to_string(bytes.size() - pos) +
               " bytes of program text, not the " + std::to_string(n) +
               " its header gives (a torn write?)");
  }
  p.text = bytes.substr(pos);
  return p;
}

Result<std::unique_ptr<ProgramStore>> ProgramStore::Open(
    const std::string& state_directory) {
  if (state_directory.empty() || state_directory[0] != '/') {
    return Status::InvalidArgument("state directory " +
                                   Quoted(state_directory) +
                                   " must be an absolute path");
  }
  if (Status s = MakeDirectory(state_directory); !s.ok()) return s;
  const std::string dir = state_directory + "/programs";
  if (Status s = MakeDirectory(dir); !s.ok()) return s;
  std::unique_ptr<ProgramStore> store(new ProgramStore(dir));
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    return Status::IoError("reading state directory " + dir + ": " +
                           Errno(errno));
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) names.emplace_back(e->d_name);
  closedir(d);
  for (const std::string& file : names) {
    if (file == "." || file == "..") continue;
    const std::string path = dir + "/" + file;
    if (file.ends_with(kTempSuffix)) {
      unlink(path.c_str());  // a write that did not reach its rename
      continue;
    }
    if (!file.ends_with(kSuffix)) continue;
    const std::string name = file.substr(0, file.size() - kSuffix.size());
    if (Status s = agent::CheckName(name); !s.ok()) {
      return Status::InvalidArgument(
          path + ": not a program name: " + s.message() + "; move it away");
    }
    Result<std::string> bytes = ReadFile(path);
    if (!bytes.ok()) return bytes.status();
    Result<DesiredProgram> p = DecodeDesiredProgram(*bytes, name, path);
    if (!p.ok()) return p.status();
    store->programs_.emplace(name, std::move(*p));
  }
  return store;
}

std::string ProgramStore::PathOf(const std::string& name) const {
  return directory_ + "/" + name + std::string(kSuffix);
}

std::vector<DesiredProgram> ProgramStore::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<DesiredProgram> out;
  for (const auto& [name, p] : programs_) out.push_back(p);
  return out;
}

std::optional<DesiredProgram> ProgramStore::Find(
    const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = programs_.find(name);
  if (it == programs_.end()) return std::nullopt;
  return it->second;
}

Status ProgramStore::Put(const DesiredProgram& program) {
  if (Status s = agent::CheckName(program.name); !s.ok()) {
    return s.Annotate("program name");
  }
  if (program.source.find('\n') != std::string::npos) {
    return Status::InvalidArgument("source must be one line");
  }
  const std::string bytes = EncodeDesiredProgram(program);
  const std::string path = PathOf(program.name);
  const std::string temp = path + std::string(kTempSuffix);
  std::lock_guard<std::mutex> lock(mu_);
  const int fd =
      open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode);
  if (fd < 0) return Status::IoError("creating " + temp + ": " + Errno(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      close(fd);
      unlink(temp.c_str());
      return Status::IoError("writing " + temp + ": " + Errno(e));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    const int e = errno;
    close(fd);
    unlink(temp.c_str());
    return Status::IoError("fsync " + temp + ": " + Errno(e));
  }
  close(fd);
  if (rename(temp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    unlink(temp.c_str());
    return Status::IoError("renaming " + temp + " to " + path + ": " +
                           Errno(e));
  }
  if (Status s = FsyncDirectory(directory_); !s.ok()) return s;
  programs_[program.name] = program;
  return Status::Ok();
}

Status ProgramStore::Erase(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = programs_.find(name);
  if (it == programs_.end()) {
    return Status::NotFound("no desired program named " + Quoted(name));
  }
  const std::string path = PathOf(name);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::IoError("removing " + path + ": " + Errno(errno));
  }
  if (Status s = FsyncDirectory(directory_); !s.ok()) return s;
  programs_.erase(it);
  return Status::Ok();
}

}  // namespace loupe::coordinator
