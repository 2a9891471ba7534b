#ifndef EVENTBUS_CKAFKA_SHIM_H
#define EVENTBUS_CKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>

/// Starts loading the cache line holding `address` for a read (a hint: it never faults, whatever
/// the address). Swift has no prefetch of its own; the consumer uses it to have a message's bytes
/// arrive while the thread that will copy them is still busy with the message before.
static inline void eventbus_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
#endif
