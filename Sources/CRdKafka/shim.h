#ifndef ONLINECF_CRDKAFKA_SHIM_H
#define ONLINECF_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
/* The mock cluster (test.mock.num.brokers, rd_kafka_mock_topic_create): used by the tests. */
#include <librdkafka/rdkafka_mock.h>
#endif
