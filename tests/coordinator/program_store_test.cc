// The coordinator's desired state (coordinator/program_store.h): programs
// survive reopening, replace atomically, refuse damaged files clearly, and
// the state directory is created 0750 or refused with the reason.
#include "coordinator/program_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/temp_dir.h"

namespace loupe::coordinator {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;
using ::testing::HasSubstr;

std::unique_ptr<ProgramStore> Open(const std::string& dir) {
  Result<std::unique_ptr<ProgramStore>> s = ProgramStore::Open(dir);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(ProgramStoreTest, ProgramsSurviveReopening) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/state";
  {
    auto store = Open(dir);
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(store->List().empty());
    ASSERT_TRUE(store->Put({"web", 1, "web.toml", "[[multilog]]\n", 7}).ok());
    // Text of any bytes, newlines and NULs included, comes back exactly.
    const std::string odd("a\nbytes 3\n\0z", 12);
    ASSERT_TRUE(store->Put({"odd", 4, "", odd, 8}).ok());
    ASSERT_TRUE(
        store->Put({"web", 2, "web.toml", "[[multilog]]\n#2\n", 9}).ok());
  }
  struct stat st {};
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  auto store = Open(dir);
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(store->List().size(), 2u);
  std::optional<DesiredProgram> web = store->Find("web");
  ASSERT_TRUE(web.has_value());
  EXPECT_EQ(web->version, 2u);
  EXPECT_EQ(web->source, "web.toml");
  EXPECT_EQ(web->text, "[[multilog]]\n#2\n");
  EXPECT_EQ(web->updated_ns, 9u);
  EXPECT_EQ(store->Find("odd")->text, std::string("a\nbytes 3\n\0z", 12));
  ASSERT_TRUE(store->Erase("odd").ok());
  EXPECT_EQ(store->Erase("odd").code(), Status::Code::kNotFound);
  EXPECT_FALSE(fs::exists(dir + "/programs/odd.program"));
  EXPECT_EQ(Open(dir)->List().size(), 1u);
}

TEST(ProgramStoreTest, LeftoverTemporaryFilesAreIgnoredAndRemoved) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/state";
  ASSERT_TRUE(Open(dir)->Put({"web", 1, "", "x", 1}).ok());
  // A crash between write and rename leaves the old file and a temporary.
  std::ofstream(dir + "/programs/web.program.tmp") << "half";
  auto store = Open(dir);
  EXPECT_EQ(store->Find("web")->text, "x");
  EXPECT_FALSE(fs::exists(dir + "/programs/web.program.tmp"));
}

TEST(ProgramStoreTest, DamagedFilesAreRefusedWithThePath) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/state";
  ASSERT_TRUE(Open(dir)->Put({"web", 1, "", "0123456789", 1}).ok());
  const std::string path = dir + "/programs/web.program";
  std::string bytes = EncodeDesiredProgram({"web", 1, "", "0123456789", 1});
  std::ofstream(path, std::ios::trunc) << bytes.substr(0, bytes.size() - 3);
  Result<std::unique_ptr<ProgramStore>> s = ProgramStore::Open(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr(path + ": holds 7 bytes"));
  EXPECT_THAT(s.status().message(), HasSubstr("move it away"));
  std::ofstream(path, std::ios::trunc) << "something else\n";
  EXPECT_THAT(ProgramStore::Open(dir).status().message(),
              HasSubstr("does not start with"));
  std::ofstream(dir + "/programs/a.b.program") << bytes;
  fs::remove(path);
  EXPECT_THAT(ProgramStore::Open(dir).status().message(),
              HasSubstr("a.b.program: not a program name"));
}

TEST(ProgramStoreTest, AStateDirectoryThatCannotBeCreatedIsRefused) {
  TempDir tmp;
  const std::string file = tmp.path() + "/file";
  std::ofstream(file) << "x";
  Result<std::unique_ptr<ProgramStore>> s = ProgramStore::Open(file);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("is not a directory"));
  s = ProgramStore::Open(file + "/sub");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr("cannot create state directory " + file + "/sub"));
  EXPECT_FALSE(ProgramStore::Open("relative").ok());
  if (geteuid() != 0) {
    const std::string locked = tmp.path() + "/locked";
    ASSERT_EQ(mkdir(locked.c_str(), 0500), 0);
    s = ProgramStore::Open(locked + "/state");
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(s.status().message(), HasSubstr("Permission denied"));
  }
}

TEST(ProgramStoreTest, NamesThatAreNotIdentifiersAreRefused) {
  TempDir tmp;
  auto store = Open(tmp.path() + "/state");
  EXPECT_FALSE(store->Put({"../x", 1, "", "x", 1}).ok());
  EXPECT_FALSE(store->Put({"a.b", 1, "", "x", 1}).ok());
  EXPECT_FALSE(store->Put({"web", 1, "two\nlines", "x", 1}).ok());
  EXPECT_TRUE(store->List().empty());
}

}  // namespace
}  // namespace loupe::coordinator
