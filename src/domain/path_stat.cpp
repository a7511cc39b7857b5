// SPDX-License-Identifier: MIT
#include "domain/path_stat.hpp"

#include "domain/registry_auth.hpp"

#include <boost/json.hpp>

namespace core_interceptor::domain {
namespace json = boost::json;

namespace {

// Go's os.FileMode type bits.
constexpr std::uint32_t mode_dir = 1u << 31;
constexpr std::uint32_t mode_symlink = 1u << 27;
constexpr std::uint32_t mode_device = 1u << 26;
constexpr std::uint32_t mode_named_pipe = 1u << 25;
constexpr std::uint32_t mode_socket = 1u << 24;
constexpr std::uint32_t mode_char_device = 1u << 21;
constexpr std::uint32_t mode_irregular = 1u << 19;
constexpr std::uint32_t mode_type = mode_dir | mode_symlink | mode_named_pipe | mode_socket |
                                    mode_device | mode_char_device | mode_irregular;

// The real header is a few hundred bytes; a long path name stays far below this.
constexpr std::size_t max_header = 64 * 1024;

failure malformed(std::string what)
{
    return failure(make_error_code(errc::malformed_response), 0, std::move(what));
}

bool read_string(const json::object& obj, std::string_view key, std::string& out)
{
    const auto* v = obj.if_contains(key);
    if (v == nullptr)
        return true;
    const auto* s = v->if_string();
    if (s == nullptr)
        return false;
    out = std::string(*s);
    return true;
}

template <class T> bool read_number(const json::object& obj, std::string_view key, T& out)
{
    const auto* v = obj.if_contains(key);
    if (v == nullptr)
        return true;
    if (!v->is_number())
        return false;
    boost::system::error_code ec;
    out = v->to_number<T>(ec);
    return !ec;
}

}  // namespace

bool path_stat::is_dir() const noexcept
{
    return (mode & mode_dir) != 0;
}

bool path_stat::is_symlink() const noexcept
{
    return (mode & mode_symlink) != 0;
}

bool path_stat::is_regular() const noexcept
{
    return (mode & mode_type) == 0;
}

result<path_stat> decode_path_stat(std::string_view header_value)
{
    if (header_value.size() > max_header)
        return failure(make_error_code(errc::limit_exceeded), 0, "path stat header too long");
    auto decoded = base64_decode(header_value);
    if (!decoded)
        return malformed("path stat: not base64");

    boost::system::error_code ec;
    json::value doc = json::parse(*decoded, ec);
    if (ec)
        return malformed("path stat: not JSON");
    const auto* obj = doc.if_object();
    if (obj == nullptr)
        return malformed("path stat: not a JSON object");

    path_stat st;
    if (!read_string(*obj, "name", st.name) || !read_number(*obj, "size", st.size) ||
        !read_number(*obj, "mode", st.mode) || !read_string(*obj, "mtime", st.mtime) ||
        !read_string(*obj, "linkTarget", st.link_target))
        return malformed("path stat: a field has the wrong type");
    return st;
}

}  // namespace core_interceptor::domain
