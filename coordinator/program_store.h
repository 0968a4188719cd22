// ProgramStore: the coordinator's desired programs, kept in its state
// directory so that they survive a restart -- one file per program,
// <state_directory>/programs/<name>.program, replaced atomically (a
// temporary file written and fsync'd, renamed over the old one, the
// directory fsync'd), so that after a crash a program is either its old or
// its new version, never a mix:
//
//   file    := magic "\n" "version " V "\n" "source " SOURCE "\n"
//              "updated_ns " N "\n" "bytes " B "\n" TEXT
//   magic   := "loupe-coordinator program 1"
//   V, N, B := decimal integers; V >= 1; B = the length of TEXT
//   SOURCE  := one line, the name the text had in messages
//   TEXT    := exactly B bytes: the program file as the operator sent it
//
// The name is the file's stem (agent::CheckName: no '.', no '/'). Open
// creates the directories (0750) when missing and refuses, with the path
// and the reason, a directory it cannot create or a file it cannot read;
// left-over temporary files (*.tmp, a write that did not finish) are
// removed.
//
// Thread-safe: one mutex guards the programs and serializes writes.
#ifndef LOUPE_COORDINATOR_PROGRAM_STORE_H_
#define LOUPE_COORDINATOR_PROGRAM_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "multilog/status.h"

namespace loupe::coordinator {

struct DesiredProgram {
  std::string name;
  uint64_t version = 0;
  std::string source;
  std::string text;
  uint64_t updated_ns = 0;  // wall clock
};

class ProgramStore {
 public:
  static Result<std::unique_ptr<ProgramStore>> Open(
      const std::string& state_directory);

  std::vector<DesiredProgram> List() const;  // by name
  std::optional<DesiredProgram> Find(const std::string& name) const;

  // Writes `program` atomically, then keeps it; on error nothing changed.
  Status Put(const DesiredProgram& program);
  // Removes `name`'s file (the directory fsync'd); kNotFound.
  Status Erase(const std::string& name);

  const std::string& directory() const { return directory_; }

 private:
  explicit ProgramStore(std::string directory)
      : directory_(std::move(directory)) {}
  std::string PathOf(const std::string& name) const;

  const std::string directory_;  // <state_directory>/programs
  mutable std::mutex mu_;
  std::map<std::string, DesiredProgram> programs_;  // mu_
};

// The file's bytes for `program`, and back ("<path>: <what is wrong>").
std::string EncodeDesiredProgram(const DesiredProgram& program);
Result<DesiredProgram> DecodeDesiredProgram(const std::string& bytes,
                                            const std::string& name,
                                            const std::string& path);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_PROGRAM_STORE_H_
