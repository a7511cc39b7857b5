// SPDX-License-Identifier: MIT
#include "kafka/errors.hpp"

#include <librdkafka/rdkafka.h>

namespace core_interceptor::kafka {

bool permanent_error(int err) noexcept
{
    switch (static_cast<rd_kafka_resp_err_t>(err)) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:  // over the broker's or topic's message.max.bytes
    case RD_KAFKA_RESP_ERR_INVALID_MSG:         // CRC or format refused
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:  // a record the broker validates and refuses
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:  // needs an operator, not a retry
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:  // an invalid topic name
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR__INVALID_ARG: return true;
    default: return false;
    }
}

}  // namespace core_interceptor::kafka
