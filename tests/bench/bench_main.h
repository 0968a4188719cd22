// The main() of the Google Benchmark binaries: parse the flags, prepare
// what must not be timed (a packet pool), register, run.
//
// Call once, from main.
#ifndef LOUPE_TESTS_BENCH_BENCH_MAIN_H_
#define LOUPE_TESTS_BENCH_BENCH_MAIN_H_

#include <benchmark/benchmark.h>

namespace loupe::bench {

inline int BenchmarkMain(int argc, char** argv, void (*prepare)(),
                         void (*register_all)()) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (prepare != nullptr) prepare();
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace loupe::bench

#endif  // LOUPE_TESTS_BENCH_BENCH_MAIN_H_
