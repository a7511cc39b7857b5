// SPDX-License-Identifier: MIT
#include "domain/push_stream.hpp"

#include "domain/json_member.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace core_interceptor::domain {
namespace json = boost::json;

namespace {

// "<algorithm>:<hex>", e.g. "sha256:" + 64 hex digits.
bool plausible_digest(std::string_view d) noexcept
{
    auto colon = d.find(':');
    if (colon == std::string_view::npos || colon == 0 || d.size() - colon - 1 < 32)
        return false;
    auto algo = d.substr(0, colon);
    auto hex = d.substr(colon + 1);
    return std::all_of(algo.begin(),
                       algo.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }) &&
           std::all_of(hex.begin(), hex.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

// The digest of "<tag>: digest: sha256:… size: N", the only digest the containerd image store
// reports (SPEC §4a). With no tag known, any tag is accepted.
std::string digest_of_status(std::string_view status, std::string_view tag)
{
    constexpr std::string_view marker = ": digest: ";
    auto at = status.find(marker);
    if (at == std::string_view::npos)
        return {};
    if (!tag.empty() && status.substr(0, at) != tag)
        return {};
    auto rest = status.substr(at + marker.size());
    auto digest = rest.substr(0, rest.find(' '));
    return plausible_digest(digest) ? std::string(digest) : std::string();
}

}  // namespace

std::string distribution_digest(std::string_view body)
{
    boost::system::error_code ec;
    json::value doc = json::parse(body, ec);
    const json::object* obj = ec ? nullptr : doc.if_object();
    const json::value* descriptor = obj ? obj->if_contains("Descriptor") : nullptr;
    const json::string* s = descriptor && descriptor->is_object()
                                ? string_member_if(descriptor->get_object(), "digest")
                                : nullptr;
    return s && plausible_digest(*s) ? std::string(*s) : std::string();
}

push_stream_parser::push_stream_parser(std::string tag) : tag_(std::move(tag)) {}

void push_stream_parser::on_line(std::string_view line)
{
    boost::system::error_code ec;
    json::value doc = json::parse(line, ec);
    const json::object* obj = ec ? nullptr : doc.if_object();
    if (obj == nullptr) {
        ++malformed_;
        return;
    }

    const auto* error = obj->if_contains("error");
    const auto* detail = obj->if_contains("errorDetail");
    if (error != nullptr || detail != nullptr) {
        if (!failed_) {
            const json::string* message = nullptr;
            if (detail != nullptr && detail->is_object()) {
                if (const auto* m = detail->get_object().if_contains("message"))
                    message = m->if_string();
            }
            if ((message == nullptr || message->empty()) && error != nullptr)
                message = error->if_string();
            error_ = (message != nullptr && !message->empty()) ? std::string(*message)
                                                               : std::string("push failed");
        }
        failed_ = true;
        return;
    }

    // aux.Digest is authoritative; the status line only fills in when aux never comes.
    if (const auto* aux = obj->if_contains("aux"); aux != nullptr && aux->is_object()) {
        if (const auto* d = aux->get_object().if_contains("Digest")) {
            if (const auto* s = d->if_string(); s != nullptr && plausible_digest(*s)) {
                digest_ = std::string(*s);
                return;
            }
        }
    }
    if (const auto* status = obj->if_contains("status"); status != nullptr && digest_.empty()) {
        if (const auto* s = status->if_string())
            digest_ = digest_of_status(*s, tag_);
    }
}

}  // namespace core_interceptor::domain
