#ifndef EVENTBUS_CNATS_SHIM_H
#define EVENTBUS_CNATS_SHIM_H
#include <nats/nats.h>

// nats.c's own message constructor: exported by libnats (3.x through today's main) but declared
// only in its internal msg.h. `buf` holds `hdrLen` bytes of encoded headers ("NATS/1.0\r\n...")
// followed by the payload; nats.c keeps the header bytes and sends them as they are, where
// natsMsgHeader_Set would strdup every name and value into a hash map and encode them again.
natsStatus natsMsg_create(natsMsg **newMsg, const char *subject, int subjLen, const char *reply,
                          int replyLen, const char *buf, int bufLen, int hdrLen);

// Frees a message at once (exported by libnats, declared in its internal msg.h). natsMsg_Destroy
// instead queues the message for nats.c's garbage-collector thread, waking it when it sleeps.
void natsMsg_free(void *object);
#endif
