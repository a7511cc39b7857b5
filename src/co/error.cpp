// SPDX-License-Identifier: MIT
#include "co/error.hpp"

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

#include <ostream>

namespace core_interceptor {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "core_interceptor"; }

    std::string message(int ev) const override
    {
        switch (static_cast<errc>(ev)) {
        case errc::connect_timeout: return "connect timed out";
        case errc::request_timeout: return "request timed out";
        case errc::http_status: return "unexpected HTTP status";
        case errc::not_found: return "not found";
        case errc::conflict: return "conflict";
        case errc::malformed_response: return "malformed response";
        case errc::malformed_event: return "malformed event";
        case errc::limit_exceeded: return "size limit exceeded";
        case errc::push_failed: return "push failed";
        case errc::stream_truncated: return "stream ended early";
        case errc::bad_url: return "bad URL";
        case errc::delivery_failed: return "delivery failed";
        case errc::not_configured: return "not configured";
        case errc::local_io: return "local I/O error";
        case errc::delivery_refused: return "delivery refused for good";
        case errc::no_space: return "not enough free space";
        }
        return "unknown core_interceptor error";
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept
{
    static const category instance;
    return instance;
}

std::string failure::describe() const
{
    std::string out = code.message();
    if (status != 0)
        out += " (HTTP " + std::to_string(status) + ")";
    if (!message.empty()) {
        out += ": ";
        out += message;
    }
    return out;
}

std::ostream& operator<<(std::ostream& os, const failure& f)
{
    return os << f.describe();
}

void throw_exception_from_error(const failure& f, const boost::source_location& loc)
{
    boost::throw_exception(boost::system::system_error(f.code, f.describe()), loc);
}

}  // namespace core_interceptor
