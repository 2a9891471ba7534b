// libFuzzer's driver entry point, from the clang runtime (libclang_rt.fuzzer) that `-sanitize=fuzzer`
// links. Declared here rather than included from <fuzzer/…>: the toolchain ships no header for it.
// Only scripts/fuzz.sh's build (-D EVENTBUS_LIBFUZZER) references it; nothing links it otherwise.
#ifndef EVENTBUS_CLIBFUZZER_SHIM_H
#define EVENTBUS_CLIBFUZZER_SHIM_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
