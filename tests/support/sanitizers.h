// Which sanitizer a test binary was built with, as constants, so that a
// stress test can scale itself down where every access costs ten times
// more. Covers GCC (__SANITIZE_*__) and Clang (__has_feature).
//
// Constants only; thread-safe.
#ifndef LOUPE_TESTS_SUPPORT_SANITIZERS_H_
#define LOUPE_TESTS_SUPPORT_SANITIZERS_H_

namespace loupe::test_support {

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kUnderThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kUnderThreadSanitizer = true;
#else
inline constexpr bool kUnderThreadSanitizer = false;
#endif
#else
inline constexpr bool kUnderThreadSanitizer = false;
#endif

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

}  // namespace loupe::test_support

#endif  // LOUPE_TESTS_SUPPORT_SANITIZERS_H_
