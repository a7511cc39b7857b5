// SPDX-License-Identifier: MIT
#include "log/log.hpp"

#include "build_config.hpp"
#include "log/json_line.hpp"

#include <boost/core/null_deleter.hpp>
#include <boost/log/attributes/value_extraction.hpp>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/basic_sink_backend.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/utility/manipulators/add_value.hpp>
#include <boost/shared_ptr.hpp>

#if CORE_INTERCEPTOR_HAVE_SYSTEMD
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#endif

#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace blog = boost::log;

namespace core_interceptor::log {
namespace {

// Attribute values carried by each record; the sinks read them back.
using fields_value = std::vector<field>;
BOOST_LOG_ATTRIBUTE_KEYWORD(severity_kw, "Severity", level)

std::atomic<level> min_console_level{level::info};
std::atomic<bool> journal_active{false};
std::vector<std::string>* captured = nullptr;

/// Appends `text` escaped by escape_control().
void append_escaped(std::string& out, std::string_view text)
{
    static constexpr char hex[] = "0123456789abcdef";
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7f) {
            out += c;
            continue;
        }
        out += '\\';
        if (c == '\n')
            out += 'n';
        else if (c == '\r')
            out += 'r';
        else if (c == '\t')
            out += 't';
        else {
            out += 'x';
            out += hex[u >> 4];
            out += hex[u & 0xf];
        }
    }
}

std::string format_line(const blog::record_view& rec)
{
    std::string line;
    auto sev = blog::extract<level>("Severity", rec);
    line += level_name(sev ? *sev : level::info);
    line += ": ";
    if (auto msg = blog::extract<std::string>("Message", rec))
        append_escaped(line, *msg);
    if (auto fields = blog::extract<fields_value>("Fields", rec)) {
        for (const auto& [k, v] : *fields) {
            line += ' ';
            line += k;
            line += '=';
            append_escaped(line, v);
        }
    }
    return line;
}

/// The journal's fields of a record, for a JSON line.
std::string format_json(const blog::record_view& rec)
{
    json_record r;
    auto sev = blog::extract<level>("Severity", rec);
    r.severity = sev ? *sev : level::info;
    auto msg = blog::extract<std::string>("Message", rec);
    if (msg)
        r.message = *msg;
    if (auto fields = blog::extract<fields_value>("Fields", rec))
        r.fields = *fields;
    auto file = blog::extract<std::string>("CodeFile", rec);
    if (file)
        r.code_file = *file;
    if (auto l = blog::extract<unsigned>("CodeLine", rec))
        r.code_line = *l;
    auto func = blog::extract<std::string>("CodeFunc", rec);
    if (func)
        r.code_func = *func;
    r.time = std::chrono::system_clock::now();  // a synchronous sink: the record's own time
    return format_json_line(r);
}

/// stderr, one line per record. Text: "<level>: <message> KEY=value …", no timestamp (the
/// terminal or a supervisor adds its own); JSON: format_json_line, with one.
class console_backend final
    : public blog::sinks::basic_formatted_sink_backend<char, blog::sinks::synchronized_feeding> {
public:
    explicit console_backend(format f) : format_(f) {}

    void consume(const blog::record_view& rec, const string_type&)
    {
        std::string line;
        if (format_ == format::json) {
            line = format_json(rec);
        } else {
            line = format_line(rec);
            line += '\n';
        }
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fflush(stderr);
    }

private:
    format format_;
};

#if CORE_INTERCEPTOR_HAVE_SYSTEMD
/// The systemd journal with structured fields (SPEC §6): MESSAGE, PRIORITY, CODE_FILE,
/// CODE_LINE, CODE_FUNC, SYSLOG_IDENTIFIER and the record's own fields (CONTAINER_ID=, …).
class journal_backend final
    : public blog::sinks::basic_sink_backend<blog::sinks::synchronized_feeding> {
public:
    void consume(const blog::record_view& rec)
    {
        std::vector<std::string> parts;
        auto sev = blog::extract<level>("Severity", rec);
        auto msg = blog::extract<std::string>("Message", rec);
        parts.push_back("MESSAGE=" + (msg ? *msg : std::string{}));
        parts.push_back("PRIORITY=" + std::to_string(syslog_priority(sev ? *sev : level::info)));
        parts.push_back("SYSLOG_IDENTIFIER=core_interceptor");
        if (auto f = blog::extract<std::string>("CodeFile", rec))
            parts.push_back("CODE_FILE=" + *f);
        if (auto l = blog::extract<unsigned>("CodeLine", rec))
            parts.push_back("CODE_LINE=" + std::to_string(*l));
        if (auto fn = blog::extract<std::string>("CodeFunc", rec))
            parts.push_back("CODE_FUNC=" + *fn);
        if (auto fields = blog::extract<fields_value>("Fields", rec))
            for (const auto& [k, v] : *fields)
                parts.push_back(k + "=" + v);
        std::vector<iovec> iov;
        iov.reserve(parts.size());
        for (auto& p : parts)
            iov.push_back({p.data(), p.size()});
        sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
    }
};
#endif

bool journal_socket_exists()
{
    struct stat st {};
    return ::stat("/run/systemd/journal/socket", &st) == 0 && S_ISSOCK(st.st_mode);
}

/// Started by systemd with stderr connected to the journal ($JOURNAL_STREAM names stderr's
/// device and inode): records then go to the journal directly, once, with their fields.
bool stderr_is_journal()
{
    const char* env = std::getenv("JOURNAL_STREAM");
    if (!env || !*env)
        return false;
    struct stat st {};
    if (::fstat(STDERR_FILENO, &st) != 0)
        return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(env, "%llu:%llu", &dev, &ino) != 2)
        return false;
    return dev == static_cast<unsigned long long>(st.st_dev) &&
           ino == static_cast<unsigned long long>(st.st_ino);
}

blog::sources::severity_logger_mt<level>& logger()
{
    static blog::sources::severity_logger_mt<level> instance;
    return instance;
}

}  // namespace

std::string_view level_name(level l) noexcept
{
    switch (l) {
    case level::trace: return "trace";
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warning: return "warning";
    case level::error: return "error";
    }
    return "?";
}

int syslog_priority(level l) noexcept
{
    switch (l) {
    case level::trace:
    case level::debug: return 7;
    case level::info: return 6;
    case level::warning: return 4;
    case level::error: return 3;
    }
    return 6;
}

std::optional<format> parse_format(std::string_view text)
{
    if (text == "text")
        return format::text;
    if (text == "json")
        return format::json;
    return std::nullopt;
}

std::string escape_control(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    append_escaped(out, text);
    return out;
}

std::optional<level> parse_level(std::string_view text)
{
    for (level l : {level::trace, level::debug, level::info, level::warning, level::error})
        if (text == level_name(l))
            return l;
    if (text == "warn")
        return level::warning;
    return std::nullopt;
}

void init(const config& cfg)
{
    auto core = blog::core::get();
    core->remove_all_sinks();
    min_console_level = cfg.min_level;

#if CORE_INTERCEPTOR_HAVE_SYSTEMD
    const bool journal_ok = journal_socket_exists();
    if (journal_ok && stderr_is_journal()) {
        // Under systemd: everything to the journal with its fields, nothing twice via stderr.
        auto journal = boost::make_shared<blog::sinks::synchronous_sink<journal_backend>>();
        journal->set_filter(severity_kw >= cfg.min_level);
        core->add_sink(journal);
        journal_active = true;
        return;
    }
#endif
    auto console = boost::make_shared<blog::sinks::synchronous_sink<console_backend>>(
        boost::make_shared<console_backend>(cfg.output));
    console->set_filter(severity_kw >= cfg.min_level);
    core->add_sink(console);

#if CORE_INTERCEPTOR_HAVE_SYSTEMD
    // Errors reach the journal whatever else is configured (SPEC §6).
    if (cfg.journal_errors && journal_ok) {
        auto journal = boost::make_shared<blog::sinks::synchronous_sink<journal_backend>>();
        journal->set_filter(severity_kw >= level::error);
        core->add_sink(journal);
        journal_active = true;
    }
#endif
}

bool enabled(level l) noexcept
{
    return l >= min_console_level.load(std::memory_order_relaxed) ||
           (l == level::error && journal_active.load(std::memory_order_relaxed)) ||
           captured != nullptr;
}

record::record(level l, std::vector<field> fields, std::source_location loc)
    : level_(l), active_(enabled(l)), fields_(std::move(fields)), loc_(loc)
{
}

record::~record()
{
    if (!active_)
        return;
    std::string message = std::move(msg_).str();
    if (captured)
        captured->push_back(std::string(level_name(level_)) + " " + message);
    auto& lg = logger();
    if (auto rec = lg.open_record(blog::keywords::severity = level_)) {
        blog::record_ostream strm(rec);
        strm << blog::add_value("Fields", std::move(fields_))
             << blog::add_value("CodeFile", std::string(loc_.file_name()))
             << blog::add_value("CodeLine", static_cast<unsigned>(loc_.line()))
             << blog::add_value("CodeFunc", std::string(loc_.function_name())) << message;
        strm.flush();
        lg.push_record(std::move(rec));
    }
}

void capture(std::vector<std::string>* sink)
{
    captured = sink;
}

}  // namespace core_interceptor::log
