#include "multilog/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace loupe {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Code = Status::Code;

TEST(StatusTest, DefaultIsOk) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), Code::kOk);
  EXPECT_EQ(status.message(), "");
  EXPECT_EQ(status.ToString(), "OK");
  EXPECT_EQ(status, Status::Ok());
}

TEST(StatusTest, FactoriesSetCodeAndMessage) {
  struct Case {
    Status status;
    Code code;
  };
  const std::vector<Case> cases = {
      {Status::InvalidArgument("m"), Code::kInvalidArgument},
      {Status::NotFound("m"), Code::kNotFound},
      {Status::AlreadyExists("m"), Code::kAlreadyExists},
      {Status::FailedPrecondition("m"), Code::kFailedPrecondition},
      {Status::ResourceExhausted("m"), Code::kResourceExhausted},
      {Status::OutOfRange("m"), Code::kOutOfRange},
      {Status::Expired("m"), Code::kExpired},
      {Status::Corruption("m"), Code::kCorruption},
      {Status::IoError("m"), Code::kIoError},
      {Status::Unavailable("m"), Code::kUnavailable},
      {Status::Internal("m"), Code::kInternal},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(c.status.ok()) << c.status.ToString();
    EXPECT_EQ(c.status.code(), c.code) << c.status.ToString();
    EXPECT_EQ(c.status.message(), "m");
  }
}

TEST(StatusTest, CodeNamesAreDistinct) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(Code::kInternal); ++i) {
    std::string name(Status::CodeName(static_cast<Code>(i)));
    EXPECT_NE(name, "unknown") << "code " << i;
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
  }
  EXPECT_EQ(Status::CodeName(Code::kOk), "OK");
  EXPECT_EQ(Status::CodeName(Code::kInvalidArgument), "invalid argument");
  EXPECT_EQ(Status::CodeName(Code::kIoError), "I/O error");
}

TEST(StatusTest, ToStringIsCodeNameAndMessage) {
  EXPECT_EQ(
      Status::InvalidArgument("schema: column 2 has an empty name").ToString(),
      "invalid argument: schema: column 2 has an empty name");
  EXPECT_EQ(Status::NotFound("no multilog 'flows'").ToString(),
            "not found: no multilog 'flows'");
  EXPECT_EQ(Status::Expired("offset 12 retired").ToString(),
            "expired: offset 12 retired");
}

TEST(StatusTest, EqualityComparesCodeAndMessage) {
  EXPECT_EQ(Status::NotFound("a"), Status::NotFound("a"));
  EXPECT_NE(Status::NotFound("a"), Status::NotFound("b"));
  EXPECT_NE(Status::NotFound("a"), Status::Internal("a"));
  EXPECT_NE(Status::NotFound(""), Status::Ok());
}

TEST(StatusTest, AnnotatePrefixesContextAndKeepsCode) {
  Status base = Status::Corruption("bad checksum at 4096");
  Status annotated = base.Annotate("opening /var/loupe/flows");
  EXPECT_EQ(annotated.code(), Code::kCorruption);
  EXPECT_EQ(annotated.message(),
            "opening /var/loupe/flows: bad checksum at 4096");
  // The original is unchanged.
  EXPECT_EQ(base.message(), "bad checksum at 4096");
  // Annotations nest outermost first.
  EXPECT_EQ(annotated.Annotate("agent").message(),
            "agent: opening /var/loupe/flows: bad checksum at 4096");
}

TEST(StatusTest, AnnotateOkStaysOk) {
  Status annotated = Status::Ok().Annotate("opening /var/loupe");
  EXPECT_TRUE(annotated.ok());
  EXPECT_EQ(annotated.message(), "");
  EXPECT_EQ(annotated.ToString(), "OK");
}

TEST(StatusTest, FromErrnoMapsCodes) {
  struct Case {
    int err;
    Code code;
  };
  const Case cases[] = {
      {ENOSPC, Code::kResourceExhausted},
      {EDQUOT, Code::kResourceExhausted},
      {ENOMEM, Code::kResourceExhausted},
      {EFBIG, Code::kResourceExhausted},
      {ENOENT, Code::kNotFound},
      {EACCES, Code::kIoError},
      {EIO, Code::kIoError},
      {EBADF, Code::kIoError},
  };
  for (const Case& c : cases) {
    Status status = Status::FromErrno("write", c.err);
    EXPECT_EQ(status.code(), c.code) << "errno " << c.err;
  }
}

TEST(StatusTest, FromErrnoMessageNamesWhatAndStrerror) {
  Status status = Status::FromErrno("writing /var/loupe/data.0", ENOSPC);
  EXPECT_EQ(status.message(),
            std::string("writing /var/loupe/data.0: ") + std::strerror(ENOSPC));
  EXPECT_THAT(status.ToString(), StartsWith("resource exhausted: writing"));
}

TEST(ResultTest, HoldsValue) {
  Result<int> result(42);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.status().ok());
  EXPECT_EQ(result.value(), 42);
  EXPECT_EQ(*result, 42);
  result.value() = 7;
  EXPECT_EQ(*result, 7);
}

TEST(ResultTest, ArrowReachesMembers) {
  Result<std::string> result(std::string("flows"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->size(), 5u);
}

TEST(ResultTest, MovesOutMoveOnlyValue) {
  Result<std::unique_ptr<int>> result(std::make_unique<int>(5));
  ASSERT_TRUE(result.ok());
  std::unique_ptr<int> owned = std::move(result).value();
  ASSERT_NE(owned, nullptr);
  EXPECT_EQ(*owned, 5);
}

TEST(ResultTest, HoldsError) {
  Result<int> result(Status::NotFound("no multilog 'flows'"));
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status(), Status::NotFound("no multilog 'flows'"));
}

TEST(ResultTest, FromOkStatusIsInternalError) {
  Result<int> result(Status::Ok());
  EXPECT_FALSE(result.ok());
  EXPECT_FALSE(result.status().ok());
  EXPECT_EQ(result.status().code(), Code::kInternal);
  EXPECT_THAT(result.status().message(), HasSubstr("OK"));
}

Status FailsAt(int step, int* reached) {
  for (int i = 0; i < 3; ++i) {
    LOUPE_RETURN_IF_ERROR(i == step ? Status::Unavailable("step")
                                    : Status::Ok());
    *reached = i + 1;
  }
  return Status::Ok();
}

TEST(ReturnIfErrorTest, ReturnsEarlyOnlyOnError) {
  int reached = 0;
  EXPECT_TRUE(FailsAt(-1, &reached).ok());
  EXPECT_EQ(reached, 3);

  reached = 0;
  Status status = FailsAt(1, &reached);
  EXPECT_EQ(status, Status::Unavailable("step"));
  EXPECT_EQ(reached, 1);
}

}  // namespace
}  // namespace loupe
