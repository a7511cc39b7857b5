// SPDX-License-Identifier: MIT
#include "domain/crash.hpp"

#include <boost/json.hpp>

#include <doctest/doctest.h>
#include <fstream>
#include <iterator>
#include <string>

using namespace core_interceptor;
using namespace core_interceptor::domain;
namespace json = boost::json;

namespace {

std::string big_endian(std::uint64_t v, std::size_t n)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[n - 1 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}

std::string hprof(std::string_view version, std::uint32_t id_size, std::uint64_t ms)
{
    std::string s = "JAVA PROFILE ";
    s += version;
    s += '\0';
    return s + big_endian(id_size, 4) + big_endian(ms, 8);
}

// A core cut after its notes (what the probe reads), from tests/data.
std::string data_file(const std::string& name)
{
    std::ifstream in(std::string(CORE_INTERCEPTOR_TEST_DATA) + "/" + name, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

crash_info full_crash()
{
    crash_info c;
    c.signal = 11;
    c.si_code = 1;
    c.fault_address = 0;
    c.pid = 7;
    c.uid = 0;
    c.command = "app";
    c.command_line = "app --serve";
    c.executable = "/usr/bin/app";
    c.threads = 12;
    c.frame = crash_frame{"/usr/lib/libfoo.so.1", 0x1a2b};
    c.signature = detail::crash_signature(c);
    return c;
}

}  // namespace

TEST_CASE("crash: signal names, Linux numbering")
{
    CHECK(signal_name(11) == "SIGSEGV");
    CHECK(signal_name(6) == "SIGABRT");
    CHECK(signal_name(7) == "SIGBUS");
    CHECK(signal_name(4) == "SIGILL");
    CHECK(signal_name(8) == "SIGFPE");
    CHECK(signal_name(31) == "SIGSYS");
    CHECK(signal_name(1) == "SIGHUP");
    CHECK(signal_name(0).empty());
    CHECK(signal_name(-11).empty());
    CHECK(signal_name(32).empty());
    CHECK(signal_name(64).empty());
}

TEST_CASE("crash: hprof header")
{
    auto h = read_hprof_header(hprof("1.0.2", 8, 1764448870123));
    REQUIRE(h);
    CHECK(h->format == "JAVA PROFILE 1.0.2");
    CHECK(h->id_size == 8u);
    CHECK(h->dumped_at_ms == 1764448870123);
    CHECK(json::serialize(to_json(*h)) ==
          R"({"format":"JAVA PROFILE 1.0.2","id_size":8,"dumped_at":"2025-11-29T20:41:10.123Z"})");

    h = read_hprof_header(hprof("1.0.1", 4, 0) + "more records");
    REQUIRE(h);
    CHECK(h->format == "JAVA PROFILE 1.0.1");
    CHECK(h->id_size == 4u);
    CHECK(h->dumped_at_ms == 0);

    SUBCASE("cut short: what is there")
    {
        const auto whole = hprof("1.0.2", 8, 1764448870123);
        h = read_hprof_header(whole.substr(0, 19 + 4));
        REQUIRE(h);
        CHECK(h->id_size == 8u);
        CHECK_FALSE(h->dumped_at_ms);
        h = read_hprof_header(whole.substr(0, 19 + 11));
        REQUIRE(h);
        CHECK_FALSE(h->dumped_at_ms);
        h = read_hprof_header(whole.substr(0, 19));
        REQUIRE(h);
        CHECK_FALSE(h->id_size);
        CHECK(json::serialize(to_json(*h)) == R"({"format":"JAVA PROFILE 1.0.2"})");
        CHECK_FALSE(read_hprof_header(whole.substr(0, 18)));
        CHECK_FALSE(read_hprof_header(whole.substr(0, 10)));
    }
    SUBCASE("not an hprof header")
    {
        CHECK_FALSE(read_hprof_header(""));
        CHECK_FALSE(read_hprof_header(hprof("1.1.0", 8, 0)));
        CHECK_FALSE(read_hprof_header(hprof("1.0.", 8, 0)));
        CHECK_FALSE(read_hprof_header(hprof("1.0.2x", 8, 0)));
        CHECK_FALSE(read_hprof_header("java profile 1.0.2" + std::string(13, '\0')));
        CHECK_FALSE(read_hprof_header("\x7f"
                                      "ELF"));
        CHECK_FALSE(read_hprof_header("JAVA PROFILE 1.0." + std::string(40, '1') + '\0'));
    }
    SUBCASE("values no JVM writes are left out")
    {
        h = read_hprof_header(hprof("1.0.2", 0x41414141, ~0ull));
        REQUIRE(h);
        CHECK_FALSE(h->id_size);
        CHECK_FALSE(h->dumped_at_ms);
        h = read_hprof_header(hprof("1.0.2", 8, 1ull << 44));  // the year 559444
        REQUIRE(h);
        CHECK_FALSE(h->dumped_at_ms);
    }
}

TEST_CASE("crash: the notification's crash object")
{
    const auto c = full_crash();
    const auto o = to_json(c);
    CHECK(o.at("signal") == 11);
    CHECK(o.at("signal_name") == "SIGSEGV");
    CHECK(o.at("si_code") == 1);
    CHECK(o.at("fault_address") == "0x0");
    CHECK(o.at("pid") == 7);
    CHECK(o.at("uid") == 0);
    CHECK(o.at("command") == "app");
    CHECK(o.at("command_line") == "app --serve");
    CHECK(o.at("executable") == "/usr/bin/app");
    CHECK(o.at("threads") == 12);
    CHECK(o.at("frame") == json::object{{"module", "/usr/lib/libfoo.so.1"}, {"offset", "0x1a2b"}});
    CHECK(o.at("signature").as_string() == c.signature);
    CHECK(o.size() == 12);
}

TEST_CASE("crash: unknown fields are left out of the crash object")
{
    CHECK(to_json(crash_info{}).empty());

    crash_info c;
    c.signal = 40;
    c.command = "java";
    const auto o = to_json(c);
    CHECK(json::serialize(o) == R"({"signal":40,"command":"java"})");
}

TEST_CASE("crash: the summary for the log line")
{
    auto c = full_crash();
    CHECK(summary(c) == "SIGSEGV in /usr/bin/app (libfoo.so.1+0x1a2b)");
    c.frame.reset();
    CHECK(summary(c) == "SIGSEGV in /usr/bin/app");
    c.executable.clear();
    CHECK(summary(c) == "SIGSEGV in app");
    c.command.clear();
    CHECK(summary(c) == "SIGSEGV");
    c.signal = 45;
    CHECK(summary(c) == "signal 45");
    c.signal.reset();
    CHECK(summary(c).empty());
    c.frame = crash_frame{"/lib/libc.so.6", 0x10};
    CHECK(summary(c) == "(libc.so.6+0x10)");
}

TEST_CASE("crash: a real core, a static program with three threads that faulted")
{
    // tests/data/core_static_threads_segv.c, built with gcc -O1 -static -pthread and run as
    // `./crasher a-arg "b arg"`; the core is cut after its notes.
    const auto core = data_file("core_static_threads_segv.notes");
    CHECK(core_notes_end(core.substr(0, 32), default_notes_cap) == 64);
    CHECK(core_notes_end(core, default_notes_cap) == core.size());
    auto r = read_core_notes(core);
    REQUIRE(r.has_value());
    const auto& c = *r;
    CHECK(c.complete);
    CHECK(c.signal == 11);
    CHECK(c.si_code == 1);  // SEGV_MAPERR
    CHECK(c.fault_address == 0x10u);
    CHECK(c.pid == 12860);
    CHECK(c.uid == 0);
    CHECK(c.command == "crasher");
    CHECK(c.command_line == "./crasher a-arg b arg");
    CHECK(c.executable == "/tmp/crashcore/crasher");
    CHECK(c.threads == 3);
    REQUIRE(c.frame);
    CHECK(c.frame->module == "/tmp/crashcore/crasher");
    CHECK(c.frame->offset == 0x1665u);  // crash(), at 0x401665 in the text mapping
    CHECK(summary(c) == "SIGSEGV in /tmp/crashcore/crasher (crasher+0x1665)");
}

TEST_CASE("crash: a real core, busybox sh killed with SIGSEGV")
{
    const auto core = data_file("core_busybox_kill_segv.notes");
    CHECK(core_notes_end(core, default_notes_cap) == core.size());
    auto r = read_core_notes(core);
    REQUIRE(r.has_value());
    const auto& c = *r;
    CHECK(c.complete);
    CHECK(c.signal == 11);
    CHECK(c.si_code == 0);  // SI_USER: sent by kill(), no fault address
    CHECK_FALSE(c.fault_address);
    CHECK(c.command == "busybox");
    CHECK(c.command_line == "busybox sh -c sleep 0.2 & kill -SEGV $$");
    CHECK(c.executable == "/usr/bin/busybox");
    CHECK(c.threads == 1);
    REQUIRE(c.frame);
    CHECK(c.frame->module == "/usr/bin/busybox");
    CHECK(c.frame->offset == 0x165a7u);
    CHECK(c.signature.size() == 16);
}

TEST_CASE("crash: text from the core is made valid UTF-8")
{
    CHECK(detail::utf8("app --serve") == "app --serve");
    CHECK(detail::utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xa5") ==
          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xa5");
    // pr_psargs keeps 80 bytes: a character cut there, stray and overlong bytes, surrogates.
    CHECK(detail::utf8("caf\xc3") == "caf\xef\xbf\xbd");
    CHECK(detail::utf8("\xff\x80") == "\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(detail::utf8("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(detail::utf8("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(detail::utf8("\xf4\x90\x80\x80").size() == 12);
    CHECK(detail::utf8(std::string("a\0b", 3)) == std::string("a\0b", 3));

    crash_info c;
    c.command_line = detail::utf8(std::string(79, 'x') + "\xc3");
    CHECK(json::serialize(to_json(c)) ==
          R"({"command_line":")" + std::string(79, 'x') + "\xef\xbf\xbd\"}");
}
