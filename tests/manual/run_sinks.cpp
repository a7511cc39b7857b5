// SPDX-License-Identifier: MIT
// Starts the test sinks (librdkafka's mock cluster with topic "cores", an HTTP server) on
// 127.0.0.1, prints where they listen, then every notification as it arrives, until SIGTERM or
// SIGINT. Point a live daemon at them:
//   core_interceptor --kafka-brokers "$KAFKA_BROKERS" --rest-url "$REST_URL" ...
#include "support/http_sink.hpp"
#include "support/mock_kafka.hpp"

#include <signal.h>

#include <ctime>
#include <iostream>

namespace ts = core_interceptor::test_support;

int main()
{
    // Blocked before any thread starts, so only sigtimedwait below takes them.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    try {
        ts::mock_kafka kafka("cores");
        ts::http_sink rest;
        std::cout << "KAFKA_BROKERS=" << kafka.bootstraps() << '\n'
                  << "REST_URL=" << rest.url() << std::endl;

        std::size_t kafka_seen = 0, rest_seen = 0;
        const timespec tick{0, 200'000'000};
        for (;;) {
            const int sig = sigtimedwait(&stop, nullptr, &tick);
            const auto messages = kafka.messages();
            for (; kafka_seen < messages.size(); ++kafka_seen) {
                const auto& m = messages[kafka_seen];
                std::cout << "kafka key=" << m.key << " value=" << m.value << '\n';
            }
            const auto requests = rest.requests();
            for (; rest_seen < requests.size(); ++rest_seen) {
                const auto& r = requests[rest_seen];
                std::cout << "rest " << r.method << ' ' << r.target << " -> " << r.status << ' '
                          << r.body << '\n';
            }
            std::cout.flush();
            if (sig == SIGTERM || sig == SIGINT)
                break;
        }
    } catch (const std::exception& e) {
        std::cerr << "run_sinks: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
