#include "multilog/histogram_merge.h"

#include <string>

namespace loupe {

HistogramBins BinsOf(const Histogram& h) {
  HistogramBins out;
  h.ForEachBin(
      [&](int64_t bin, uint64_t count) { out.bins.emplace_back(bin, count); });
  out.count = h.count();
  out.sum = h.sum();
  out.min = h.min();
  out.max = h.max();
  out.integral = h.integral();
  return out;
}

Status HistogramMerger::Add(const HistogramBins& part) {
  if (part.layout != Histogram::kLayout) {
    return Status::InvalidArgument(
        "histogram layout " + std::to_string(part.layout) +
        " is not this build's layout " + std::to_string(Histogram::kLayout) +
        "; merge bins only from agents of the same layout");
  }
  uint64_t total = 0;
  for (const auto& [bin, count] : part.bins) {
    if (bin < -Histogram::kMaxBin || bin > Histogram::kMaxBin) {
      return Status::InvalidArgument("histogram bin " + std::to_string(bin) +
                                     " is outside layout " +
                                     std::to_string(part.layout));
    }
    if (count > UINT64_MAX - total) {
      return Status::InvalidArgument("histogram bin counts overflow");
    }
    total += count;
  }
  if (total != part.count) {
    return Status::InvalidArgument(
        "histogram bins hold " + std::to_string(total) +
        " values but the part says count " + std::to_string(part.count));
  }
  for (const auto& [bin, count] : part.bins) {
    (void)merged_.AddBinCount(bin, count);
  }
  if (part.count != 0) {
    merged_.AddTotals(part.count, part.sum, part.min, part.max, part.integral);
  }
  return Status::Ok();
}

}  // namespace loupe
