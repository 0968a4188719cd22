// Small files replaced atomically and durably, the way a MANIFEST or a
// coordinator's state is kept: ReplaceFile writes the bytes to a temporary
// file beside `path`, fsyncs it, renames it over `path` and fsyncs the
// directory, so that after a crash `path` holds either the old bytes or
// the new ones, never a mix. ReadSmallFile reads a whole file, refusing
// one larger than a bound (a state file is never large; a huge one is not
// ours).
//
// Errors are Status with the path and errno's text; a failed ReplaceFile
// removes its temporary file and leaves `path` as it was. Thread-safe for
// different paths; two writers of one path must be serialized by the
// caller.
#ifndef LOUPE_MULTILOG_ATOMIC_FILE_H_
#define LOUPE_MULTILOG_ATOMIC_FILE_H_

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "multilog/status.h"

namespace loupe {

// `mode` is applied to a new file (before the umask).
Status ReplaceFile(const std::string& path, std::string_view bytes,
                   mode_t mode = 0640);

// fsyncs `directory` (after a create, rename or unlink in it).
Status SyncDirectory(const std::string& directory);

// kNotFound if `path` does not exist; kFailedPrecondition if it holds more
// than `max_bytes`.
Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes);

}  // namespace loupe

#endif  // LOUPE_MULTILOG_ATOMIC_FILE_H_
