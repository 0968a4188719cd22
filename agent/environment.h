// The environment as configuration files use it: a lookup of variables
// (the process's, or a test's map) and the expansion of ${NAME},
// ${NAME:-default} and $$ in a string value.
//
//   ${NAME}           NAME's value; an error when NAME is unset
//   ${NAME:-default}  NAME's value, or `default` when NAME is unset or empty
//   $$                a literal '$'
//   $NAME             refused: it needs braces (a likely typo)
//   $ before anything else, or at the end: a literal '$'
//
// NAME is [A-Za-z_][A-Za-z0-9_]*; `default` is taken as written, up to the
// first '}', and may not itself hold a ${...} (refused, not half-expanded).
// Pure functions over the lookup given; thread-safe when the lookup is.
#ifndef LOUPE_AGENT_ENVIRONMENT_H_
#define LOUPE_AGENT_ENVIRONMENT_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "multilog/status.h"

namespace loupe::agent {

// Looks up an environment variable; nullopt when it is unset.
using EnvLookup =
    std::function<std::optional<std::string>(const std::string& name)>;

// getenv.
EnvLookup ProcessEnvironment();

// `text` with every reference expanded. The error reads well after
// "<key>: " and names the variable and how to fix it.
Result<std::string> ExpandEnvironment(std::string_view text,
                                      const EnvLookup& env);

}  // namespace loupe::agent

#endif  // LOUPE_AGENT_ENVIRONMENT_H_
