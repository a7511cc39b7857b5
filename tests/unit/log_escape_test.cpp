// SPDX-License-Identifier: MIT
// stderr log lines stay one line whatever a container chose for a path.
#include "log/log.hpp"

#include <doctest/doctest.h>

using namespace core_interceptor;

TEST_CASE("log: control characters in log text are escaped")
{
    CHECK(log::escape_control("/dumps/core") == "/dumps/core");
    CHECK(log::escape_control("/dumps/core\nerror: forged line") ==
          "/dumps/core\\nerror: forged line");
    CHECK(log::escape_control("a\rb\tc") == "a\\rb\\tc");
    CHECK(log::escape_control("\x1b[31mred\x7f") == "\\x1b[31mred\\x7f");
    CHECK(log::escape_control(std::string_view("nul\0end", 7)) == "nul\\x00end");
    CHECK(log::escape_control("caf\xc3\xa9 \\ ok") == "caf\xc3\xa9 \\ ok");  // UTF-8 and '\' kept
}
