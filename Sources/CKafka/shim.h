#ifndef EVENTBUS_CKAFKA_SHIM_H
#define EVENTBUS_CKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#endif
