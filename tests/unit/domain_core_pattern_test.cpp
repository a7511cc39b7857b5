// SPDX-License-Identifier: MIT
#include "domain/core_pattern.hpp"

#include <doctest/doctest.h>

using core_interceptor::domain::core_pattern_warning;

TEST_CASE("core_pattern: a pipe is warned about, naming the setting")
{
    auto w = core_pattern_warning(
        "|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h\n");
    REQUIRE(w);
    CHECK(w->find("kernel.core_pattern") != std::string::npos);
    CHECK(w->find("systemd-coredump") != std::string::npos);
    CHECK(core_pattern_warning("|/usr/share/apport/apport -p%p"));
}

TEST_CASE("core_pattern: a file name is fine")
{
    CHECK_FALSE(core_pattern_warning("core\n"));
    CHECK_FALSE(core_pattern_warning("/tmp/cores/core.%e.%p"));
    CHECK_FALSE(core_pattern_warning(""));
}
