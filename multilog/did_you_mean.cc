#include "multilog/did_you_mean.h"

#include <algorithm>
#include <vector>

namespace loupe {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c; }

size_t CommonPrefix(std::string_view a, std::string_view b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && Lower(a[n]) == Lower(b[n])) ++n;
  return n;
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  const size_t width = b.size() + 1;
  std::vector<size_t> d((a.size() + 1) * width);
  auto at = [&](size_t i, size_t j) -> size_t& { return d[i * width + j]; };
  for (size_t i = 0; i <= a.size(); ++i) at(i, 0) = i;
  for (size_t j = 0; j <= b.size(); ++j) at(0, j) = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same = Lower(a[i - 1]) == Lower(b[j - 1]);
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1,
                           at(i - 1, j - 1) + (same ? 0 : 1)});
      if (i > 1 && j > 1 && Lower(a[i - 1]) == Lower(b[j - 2]) &&
          Lower(a[i - 2]) == Lower(b[j - 1])) {
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(a.size(), b.size());
}

NearestName::NearestName(std::string_view query)
    : query_(query), limit_(std::max<size_t>(1, query.size() / 3)) {}

void NearestName::Offer(std::string_view candidate) {
  const size_t index = offered_++;
  if (query_.empty() || query_.size() > kMaxSuggestQuery) return;
  // A candidate more than `limit_` longer or shorter cannot be close.
  const size_t gap = candidate.size() > query_.size()
                         ? candidate.size() - query_.size()
                         : query_.size() - candidate.size();
  if (gap > limit_) return;
  const size_t distance = EditDistance(query_, candidate);
  if (distance > limit_) return;
  const size_t prefix = CommonPrefix(query_, candidate);
  if (best_ && (distance > best_distance_ ||
                (distance == best_distance_ && prefix <= best_prefix_))) {
    return;
  }
  best_ = index;
  best_name_ = candidate;
  best_distance_ = distance;
  best_prefix_ = prefix;
}

}  // namespace loupe
