// SPDX-License-Identifier: MIT
#include "domain/volume_dump.hpp"

#include "domain/tar.hpp"

#include <algorithm>
#include <cstdio>

namespace core_interceptor::domain {
namespace {

using tar::block;
using tar::padding_of;

void put_octal(char* field, std::size_t width, std::uint64_t value)
{
    // width - 1 digits and a NUL, as Go's archive/tar writes them.
    std::snprintf(field,
                  width,
                  "%0*llo",
                  static_cast<int>(width - 1),
                  static_cast<unsigned long long>(value));
}

std::string pax_record(std::string_view key, std::string_view value)
{
    // "<len> key=value\n", where len counts its own digits.
    std::size_t body = 1 + key.size() + 1 + value.size() + 1;
    std::size_t len = body + 1;
    while (std::to_string(len).size() + body != len)
        len = std::to_string(len).size() + body;
    return std::to_string(len) + " " + std::string(key) + "=" + std::string(value) + "\n";
}

std::string ustar_block(
    std::string_view name, std::uint64_t size, std::uint32_t mode, std::int64_t mtime, char type)
{
    std::string h(block, '\0');
    std::copy_n(name.begin(), std::min<std::size_t>(name.size(), 100), h.begin());
    put_octal(&h[100], 8, mode & 07777);
    put_octal(&h[108], 8, 0);
    put_octal(&h[116], 8, 0);
    put_octal(&h[124], 12, std::min<std::uint64_t>(size, 077777777777));
    put_octal(
        &h[136], 12, static_cast<std::uint64_t>(std::clamp<std::int64_t>(mtime, 0, 077777777777)));
    h[156] = type;
    std::copy_n("ustar\0"
                "00",
                8,
                h.begin() + 257);
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < block; ++i)
        sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
    std::snprintf(&h[148], 8, "%06llo", static_cast<unsigned long long>(sum));
    h[155] = ' ';
    return h;
}

}  // namespace

std::string
tar_file_header(std::string_view name, std::uint64_t size, std::uint32_t mode, std::int64_t mtime)
{
    std::string out;
    std::string records;
    if (name.size() > 100)
        records += pax_record("path", name);
    if (size > 077777777777)
        records += pax_record("size", std::to_string(size));
    if (!records.empty()) {
        out += ustar_block("PaxHeaders/dump", records.size(), 0644, mtime, 'x');
        out += records;
        out.append(padding_of(records.size()), '\0');
    }
    out += ustar_block(name, size, mode, mtime, '0');
    return out;
}

}  // namespace core_interceptor::domain
