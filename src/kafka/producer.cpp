// SPDX-License-Identifier: MIT
#include "kafka/producer.hpp"

#include "kafka/conf.hpp"
#include "kafka/errors.hpp"
#include "log/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <librdkafka/rdkafka.h>

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <memory>

namespace asio = boost::asio;

namespace core_interceptor::kafka {
namespace {

/// Where a delivery report lands: owned jointly by the waiting coroutine and the message
/// (its opaque), so a cancelled wait never leaves librdkafka a dangling pointer.
struct delivery {
    explicit delivery(asio::any_io_executor ex) : done(ex, 1) {}
    asio::experimental::channel<void(error_code, std::string)> done;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*)
{
    auto* owner = static_cast<std::shared_ptr<delivery>*>(msg->_private);
    if (!owner)
        return;
    if (msg->err)
        (*owner)->done.try_send(make_error_code(permanent_error(msg->err) ? errc::delivery_refused
                                                                          : errc::delivery_failed),
                                std::string(rd_kafka_err2name(msg->err)) + ": " +
                                    rd_kafka_err2str(msg->err));
    else
        (*owner)->done.try_send(error_code{}, std::string{});
    delete owner;
}

void on_error(rd_kafka_t*, int err, const char* reason, void*)
{
    log::warning({{"KAFKA_ERROR", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))}})
        << "kafka: " << reason;
}

void on_log(const rd_kafka_t*, int level, const char* fac, const char* buf)
{
    // syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug.
    auto l = level <= 3   ? log::level::error
             : level == 4 ? log::level::warning
             : level <= 6 ? log::level::info
                          : log::level::debug;
    log::record(l, {}, std::source_location::current()) << "kafka " << fac << ": " << buf;
}

}  // namespace

producer::producer(asio::any_io_executor ex,
                   const std::vector<std::pair<std::string, std::string>>& properties,
                   std::chrono::milliseconds idle_close)
    : properties_(properties), idle_close_(idle_close), wake_read_(ex), idle_timer_(ex)
{
    // Every property is checked now (a bad one is a configuration error); the handle itself
    // waits for the first notification.
    rd_kafka_conf_destroy(make_conf());
}

rd_kafka_conf_s* producer::make_conf() const
{
    // librdkafka's logs are served on the main queue, so on our loop (see on_log).
    rd_kafka_conf_t* conf = detail::make_conf(properties_);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    return conf;
}

producer::~producer()
{
    close();
    stop();
}

void producer::start()
{
    char err[512];
    rd_kafka_conf_t* conf = make_conf();
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk_) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("cannot create Kafka producer: ") + err);
    }
    rd_kafka_set_log_queue(rk_, nullptr);  // logs to the main queue
    ++generation_;

    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        rd_kafka_destroy(rk_);
        rk_ = nullptr;
        throw std::runtime_error("cannot create the Kafka wake-up pipe");
    }
    wake_read_.assign(fds[0]);
    wake_write_ = fds[1];
    main_queue_ = rd_kafka_queue_get_main(rk_);
    rd_kafka_queue_io_event_enable(main_queue_, wake_write_, "1", 1);
    // Events queued before the pipe was attached raise no wake-up: serve them now.
    rd_kafka_poll(rk_, 0);
    if (!closed_)
        arm();
}

void producer::stop()
{
    if (!rk_)
        return;
    error_code ignored;  // our own descriptor: nothing to report
    wake_read_.cancel(ignored);
    if (main_queue_) {
        rd_kafka_queue_io_event_enable(main_queue_, -1, nullptr, 0);
        rd_kafka_queue_destroy(main_queue_);
        main_queue_ = nullptr;
    }
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
    wake_read_.close(ignored);
    if (wake_write_ >= 0)
        ::close(wake_write_);
    wake_write_ = -1;
    // librdkafka's buffers were freed by its own threads, into their malloc arenas: give
    // the memory back to the system, so an idle daemon stays small.
    ::malloc_trim(0);
}

void producer::arm_idle_close()
{
    if (closed_ || !rk_)
        return;
    idle_timer_.expires_after(idle_close_);
    idle_timer_.async_wait([this](error_code ec) {
        if (ec || closed_ || !rk_ || outstanding_ > 0)
            return;  // cancelled by a produce() or by close(); the last delivery re-arms it
        if (rd_kafka_outq_len(rk_) > 0) {
            arm_idle_close();  // something librdkafka still holds (not ours to lose)
            return;
        }
        log::debug() << "kafka: idle for " << idle_close_.count()
                     << " ms, closing the producer until the next notification";
        stop();
    });
}

void producer::arm()
{
    wake_read_.async_wait(asio::posix::descriptor_base::wait_read,
                          [this, gen = generation_](error_code ec) {
                              if (ec || closed_ || gen != generation_)
                                  return;  // operation_aborted after close() or stop(), or a
                                           // wake-up of an earlier handle
                              char drain[256];
                              while (::read(wake_read_.native_handle(), drain, sizeof drain) > 0) {
                              }
                              rd_kafka_poll(rk_, 0);
                              arm();
                          });
}

asio::awaitable<result<void>>
producer::produce(std::string_view topic, std::string_view key, std::string_view value)
{
    if (closed_)
        co_return failure(
            make_error_code(errc::delivery_failed), 0, "the Kafka producer is shut down");
    if (!rk_) {
        try {
            start();
            log::debug() << "kafka: producer started for a notification";
        } catch (const std::exception& e) {
            co_return failure(make_error_code(errc::delivery_failed), 0, e.what());
        }
    }
    // Keeps the handle alive until the delivery report (or a cancelled wait) is in.
    struct in_flight {
        producer& self;
        explicit in_flight(producer& p) : self(p)
        {
            ++self.outstanding_;
            self.idle_timer_.cancel();
        }
        ~in_flight()
        {
            if (--self.outstanding_ == 0)
                self.arm_idle_close();
        }
    } guard{*this};
    auto d = std::make_shared<delivery>(co_await asio::this_coro::executor);
    auto* owner = new std::shared_ptr<delivery>(d);
    rd_kafka_resp_err_t err =
        rd_kafka_producev(rk_,
                          RD_KAFKA_V_TOPIC(std::string(topic).c_str()),
                          RD_KAFKA_V_KEY(key.data(), key.size()),
                          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_OPAQUE(owner),
                          RD_KAFKA_V_END);
    if (err) {
        delete owner;
        co_return failure(
            make_error_code(permanent_error(err) ? errc::delivery_refused : errc::delivery_failed),
            0,
            std::string(rd_kafka_err2name(err)) + ": " + rd_kafka_err2str(err));
    }
    auto [ec, reason] = co_await d->done.async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec)
        co_return failure(ec, 0, std::move(reason));
    co_return result<void>{};
}

std::size_t producer::flush(std::chrono::milliseconds timeout)
{
    if (!rk_)
        return 0;
    rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
    return static_cast<std::size_t>(rd_kafka_outq_len(rk_));
}

void producer::close()
{
    if (closed_)
        return;
    closed_ = true;
    error_code ignored;  // closing our own descriptor: nothing to report
    wake_read_.cancel(ignored);
    idle_timer_.cancel();
}

}  // namespace core_interceptor::kafka
