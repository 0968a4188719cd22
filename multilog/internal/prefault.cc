#include "multilog/internal/prefault.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace loupe::internal {
namespace {

constexpr uint64_t kHugePageBytes = 2ull << 20;

}  // namespace

void PrefaultForWrite(uint8_t* p, uint64_t bytes) {
#ifdef MADV_POPULATE_WRITE
  if (madvise(p, bytes, MADV_POPULATE_WRITE) == 0) return;
#endif
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  for (uint64_t i = 0; i < bytes; i += page) {
    // A write, so the page is faulted in writable; zero is what is there.
    reinterpret_cast<volatile uint8_t*>(p)[i] = 0;
  }
}

Result<uint8_t*> MapPrefaulted(uint64_t bytes) {
  // Blocks of 2 MiB or more are aligned to 2 MiB so they can be backed by
  // transparent huge pages: 512x fewer faults and TLB misses.
  const uint64_t align = bytes >= kHugePageBytes ? kHugePageBytes : 0;
  void* raw = mmap(nullptr, bytes + align, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) {
    return Status::FromErrno(
        "cannot map " + std::to_string(bytes) + " bytes for a data block",
        errno);
  }
  auto* p = static_cast<uint8_t*>(raw);
  if (align != 0) {
    uintptr_t addr = reinterpret_cast<uintptr_t>(p);
    uintptr_t aligned = (addr + align - 1) & ~(align - 1);
    if (aligned > addr) munmap(p, aligned - addr);
    uint64_t tail = (addr + bytes + align) - (aligned + bytes);
    if (tail > 0) munmap(reinterpret_cast<void*>(aligned + bytes), tail);
    p = reinterpret_cast<uint8_t*>(aligned);
    madvise(p, bytes, MADV_HUGEPAGE);  // advisory; failure is harmless
  }
  PrefaultForWrite(p, bytes);
  return p;
}

void Unmap(uint8_t* p, uint64_t bytes) { munmap(p, bytes); }

}  // namespace loupe::internal
