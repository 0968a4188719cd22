// InstalledProgramText: the program-format TOML text (agent/program_file.h)
// of a program as an agent lists it (ListPrograms' ProgramInfo.objects),
// so that the coordinator can put an agent back to the version it had --
// the statements it had, whatever file they came from -- when an apply
// elsewhere failed. One [[multilog]] section per multilog, in the order
// listed; each section's statements in the order listed (apply order).
//
// A pure function; thread-safe.
#ifndef LOUPE_COORDINATOR_INSTALLED_PROGRAM_TEXT_H_
#define LOUPE_COORDINATOR_INSTALLED_PROGRAM_TEXT_H_

#include <string>

#include "agent/proto/loupe.pb.h"

namespace loupe::coordinator {

std::string InstalledProgramText(const v1::ProgramInfo& program);

}  // namespace loupe::coordinator

#endif  // LOUPE_COORDINATOR_INSTALLED_PROGRAM_TEXT_H_
