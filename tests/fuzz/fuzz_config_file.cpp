// SPDX-License-Identifier: MIT
// The --config INI file: whatever it holds, every line is an entry, a skipped line or an error
// that names a line number and never quotes the file (which holds passwords and headers).
#include "domain/config_file.hpp"
#include "fuzz_input.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace core_interceptor::domain;

namespace {

constexpr std::string_view blanks = " \t\r\n";

bool trimmed(std::string_view s) noexcept
{
    return s.empty() || (blanks.find(s.front()) == std::string_view::npos &&
                         blanks.find(s.back()) == std::string_view::npos);
}

// "line N: expected NAME = VALUE" or "line N: no option name before '='", N in 1..lines.
void check_error(const std::string& message, std::size_t lines)
{
    FUZZ_CHECK(message.starts_with("line "));
    std::size_t i = 5, n = 0;
    while (i < message.size() && message[i] >= '0' && message[i] <= '9')
        n = n * 10 + static_cast<std::size_t>(message[i++] - '0');
    FUZZ_CHECK(n >= 1 && n <= lines);
    const std::string_view rest = std::string_view(message).substr(i);
    FUZZ_CHECK(rest == ": expected NAME = VALUE" || rest == ": no option name before '='");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::size_t lines = 1;
    for (char c : text)
        lines += c == '\n';

    auto parsed = parse_config_file(text);
    if (!parsed) {
        check_error(parsed.error().message, lines);
        return 0;
    }
    std::size_t last = 0;
    bool plain = true;
    std::string again;
    for (const auto& e : *parsed) {
        FUZZ_CHECK(!e.name.empty());
        FUZZ_CHECK(e.line > last);
        FUZZ_CHECK(e.line >= 1 && e.line <= lines);
        last = e.line;
        for (const auto* s : {&e.name, &e.value}) {
            FUZZ_CHECK(s->find_first_of("#\n") == std::string::npos);
        }
        FUZZ_CHECK(trimmed(e.value));
        if (printable_option_name(e.name))
            FUZZ_CHECK(e.name.find_first_of(" \t=[]") == std::string::npos);
        // A name from a section may hold '=' or start with '[' (a section line when the value
        // ends with ']'): only the others are written back.
        plain = plain && e.name.find('=') == std::string::npos && trimmed(e.name) &&
                e.name.front() != '[';
        again += e.name + " = " + e.value + "\n";
    }
    // Entries written back as plain lines read back as the same entries.
    if (plain) {
        auto reparsed = parse_config_file(again);
        FUZZ_CHECK(reparsed.has_value());
        FUZZ_CHECK(reparsed->size() == parsed->size());
        for (std::size_t i = 0; i < parsed->size(); ++i) {
            FUZZ_CHECK((*reparsed)[i].name == (*parsed)[i].name);
            FUZZ_CHECK((*reparsed)[i].value == (*parsed)[i].value);
            FUZZ_CHECK((*reparsed)[i].line == i + 1);
        }
    }
    return 0;
}
