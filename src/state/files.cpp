// SPDX-License-Identifier: MIT
#include "state/files.hpp"

#include "log/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace core_interceptor::state {
namespace {

// A state file larger than this is not ours.
constexpr std::uintmax_t max_file_bytes = 16 * 1024 * 1024;

// Writes all of `content` to `fd`; 0 or errno.
int write_all(int fd, std::string_view content)
{
    const char* p = content.data();
    std::size_t left = content.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : ENOSPC;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    return 0;
}

}  // namespace

namespace detail {

std::string read_small_file(const fs::path& p, bool& ok)
{
    ok = false;
    std::error_code ec;
    auto size = fs::file_size(p, ec);
    if (ec || size > max_file_bytes)
        return {};
    std::ifstream in(p, std::ios::binary);
    if (!in)
        return {};
    std::ostringstream s;
    s << in.rdbuf();
    ok = true;
    return std::move(s).str();
}

void sync_dir(const fs::path& dir)
{
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

bool safe_component(std::string_view s)
{
    return !s.empty() && s.find('/') == std::string_view::npos && s != "." && s != "..";
}

void set_aside(const fs::path& p, std::string_view why)
{
    fs::path aside = p;
    aside += ".corrupt";
    std::error_code ec;
    fs::rename(p, aside, ec);
    log::error({{"STATE_FILE", p.string()}})
        << "state file " << p.string() << " is " << why << "; set aside as "
        << aside.filename().string() << " and starting without it";
}

bool exists(const fs::path& p) noexcept
{
    std::error_code ec;
    return fs::exists(p, ec);
}

std::string seq_name(std::uint64_t seq)
{
    char buf[24];
    std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(seq));
    return buf;
}

}  // namespace detail

error_code try_write_file(const fs::path& path,
                          std::string_view content,
                          std::string& what,
                          bool durable,
                          bool no_replace)
{
    auto fail = [&](int e, const char* step, const fs::path& p) {
        what = std::string(step) + " " + p.string();
        return error_code(e, boost::system::generic_category());
    };
    fs::path tmp = path;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(errno, "cannot create", tmp);
    if (int e = write_all(fd, content)) {
        ::close(fd);
        ::unlink(tmp.c_str());  // a partial temporary only takes the space that is missing
        return fail(e, "cannot write", tmp);
    }
    if (durable && ::fsync(fd) != 0) {
        int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return fail(e, "cannot sync", tmp);
    }
    ::close(fd);
    if (no_replace) {
        // link(2) never replaces: a name taken by another writer fails with EEXIST.
        if (::link(tmp.c_str(), path.c_str()) != 0) {
            int e = errno;
            ::unlink(tmp.c_str());
            return fail(e, "cannot create", path);
        }
        ::unlink(tmp.c_str());
    } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return fail(e, "cannot rename", tmp);
    }
    if (durable)
        detail::sync_dir(path.parent_path());
    return {};
}

error_code write_file_atomically(const fs::path& path, std::string_view content, bool durable)
{
    std::string what;
    return try_write_file(path, content, what, durable);
}

}  // namespace core_interceptor::state
