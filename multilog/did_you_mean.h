// "Did you mean ...?": the one rule every layer uses to suggest the name an
// operator probably meant (an unknown column, key, filter, multilog, type
// or keyword).
//
// The distance is the optimal string alignment distance (Levenshtein plus a
// swap of two neighbours as one edit: "tpc" is one edit from "tcp"),
// ignoring ASCII case. A candidate is a plausible typo of `query` when it is
// at most max(1, |query| / 3) edits away; among those the nearest wins, ties
// going to the longer common prefix (people mistype the end of a word more
// than its start, so "ip4" means ipv4 rather than i64), then to the first
// offered. Queries longer than kMaxSuggestQuery bytes get no suggestion, so a
// hostile 100 KB name costs nothing.
//
// Pure functions and a small value type; thread-safe for distinct objects.
#ifndef LOUPE_MULTILOG_DID_YOU_MEAN_H_
#define LOUPE_MULTILOG_DID_YOU_MEAN_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace loupe {

inline constexpr size_t kMaxSuggestQuery = 64;

// Optimal string alignment distance, ignoring ASCII case.
size_t EditDistance(std::string_view a, std::string_view b);

// Finds the candidate closest to one query; offer every candidate, then ask.
//   NearestName near(word);
//   for (const Column& c : columns) near.Offer(c.name);
//   if (near.found()) ... near.index(), near.name()
// name() views the offered string, which must outlive the question.
class NearestName {
 public:
  explicit NearestName(std::string_view query);

  void Offer(std::string_view candidate);

  bool found() const { return best_.has_value(); }
  // The position of the best candidate among the offers (0 = first).
  size_t index() const { return *best_; }
  std::string_view name() const { return best_name_; }

 private:
  std::string_view query_;
  size_t limit_;
  size_t offered_ = 0;
  std::optional<size_t> best_;
  std::string_view best_name_;
  size_t best_distance_ = 0;
  size_t best_prefix_ = 0;
};

// The closest of `candidates` (any range of things convertible to
// std::string_view), or "" when none is a plausible typo of `query`.
template <typename Range>
std::string Closest(std::string_view query, const Range& candidates) {
  NearestName near(query);
  for (const auto& c : candidates) near.Offer(std::string_view(c));
  return near.found() ? std::string(near.name()) : std::string();
}

// "; did you mean 'x'?" for the closest candidate, or "" when none is close.
template <typename Range>
std::string DidYouMean(std::string_view query, const Range& candidates) {
  const std::string near = Closest(query, candidates);
  return near.empty() ? std::string() : "; did you mean '" + near + "'?";
}

}  // namespace loupe

#endif  // LOUPE_MULTILOG_DID_YOU_MEAN_H_
