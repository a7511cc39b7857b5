// SPDX-License-Identifier: MIT
#include "bench_util.hpp"

#include "docker/client.hpp"
#include "domain/event.hpp"
#include "domain/ndjson.hpp"
#include "support/process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace core_interceptor::bench {

fs::path output_dir(int argc, char* argv[])
{
    fs::path dir;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--out")
            dir = argv[i + 1];
    if (dir.empty()) {
        const char* env = std::getenv("CORE_INTERCEPTOR_BENCH_DIR");
        dir = env && *env ? fs::path(env) : fs::path("bench");
    }
    fs::create_directories(dir);
    return fs::absolute(dir);
}

void table::print(const fs::path& dir, const std::string& name) const
{
    std::ostringstream s;
    s << "\n### " << title << "\n\n|";
    for (const auto& h : header)
        s << ' ' << h << " |";
    s << "\n|";
    for (std::size_t i = 0; i < header.size(); ++i)
        s << (i == 0 ? " :-- |" : " --: |");
    s << '\n';
    for (const auto& r : rows) {
        s << '|';
        for (const auto& c : r)
            s << ' ' << c << " |";
        s << '\n';
    }
    std::cout << s.str() << std::flush;
    std::ofstream(dir / (name + ".md"), std::ios::app) << s.str();
}

std::string fixed(double v, int digits)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

std::optional<fs::path> chart(const fs::path& dir,
                              const std::string& name,
                              const std::string& data,
                              const std::string& script)
{
    std::ofstream(dir / (name + ".dat")) << data;
    std::ofstream(dir / (name + ".gp")) << script;
    auto gnuplot = test_support::find_program("gnuplot");
    if (gnuplot.empty()) {
        std::cerr << "gnuplot not found (scripts/install-deps.sh installs gnuplot-nox): no chart "
                  << name << ".png\n";
        return std::nullopt;
    }
    auto png = dir / (name + ".png");
    std::string prog = "cd '" + dir.string() +
                       "'; set terminal png size 900,540 font ',11'; set output '" + png.string() +
                       "'; load '" + name + ".gp'";
    auto r = test_support::run({gnuplot.string(), "-e", prog}, std::chrono::seconds(60));
    if (!r.ok()) {
        std::cerr << "gnuplot failed for " << name << ": " << r.err << '\n';
        return std::nullopt;
    }
    return png;
}

namespace {

std::string proc_path(pid_t pid, pid_t tid, const char* file)
{
    std::string p = "/proc/" + std::to_string(pid);
    if (tid != 0)
        p += "/task/" + std::to_string(tid);
    return p + "/" + file;
}

std::optional<std::vector<std::string>> stat_fields(pid_t pid, pid_t tid)
{
    std::ifstream in(proc_path(pid, tid, "stat"));
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto rp = s.rfind(')');
    if (rp == std::string::npos)
        return std::nullopt;
    std::vector<std::string> f;
    std::istringstream rest(s.substr(rp + 2));
    for (std::string x; rest >> x;)
        f.push_back(x);
    return f;
}

}  // namespace

std::optional<long> status_field(pid_t pid, const std::string& field, pid_t tid)
{
    std::ifstream in(proc_path(pid, tid, "status"));
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(field + ":"))
            return std::stol(line.substr(field.size() + 1));
    return std::nullopt;
}

std::optional<std::uint64_t> cpu_ticks(pid_t pid, pid_t tid)
{
    auto f = stat_fields(pid, tid);
    // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
    if (!f || f->size() < 13)
        return std::nullopt;
    return std::stoull(f->at(11)) + std::stoull(f->at(12));
}

double ticks_to_seconds(std::uint64_t ticks)
{
    return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::map<pid_t, thread_sample> threads_of(pid_t pid)
{
    std::map<pid_t, thread_sample> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        pid_t tid = std::stoi(e.path().filename().string());
        thread_sample t;
        std::ifstream comm(e.path() / "comm");
        std::getline(comm, t.name);
        t.ticks = cpu_ticks(pid, tid).value_or(0);
        t.switches = static_cast<std::uint64_t>(
            status_field(pid, "voluntary_ctxt_switches", tid).value_or(0) +
            status_field(pid, "nonvoluntary_ctxt_switches", tid).value_or(0));
        out[tid] = t;
    }
    return out;
}

engine_reply engine_call(const fs::path& socket,
                         const std::string& method,
                         const std::string& target,
                         const std::string& body)
{
    asio::io_context io;
    asio::local::stream_protocol::socket s(io);
    s.connect(asio::local::stream_protocol::endpoint(socket.string()));
    beast::http::request<beast::http::string_body> req(
        beast::http::string_to_verb(method), target, 11);
    req.set(beast::http::field::host, "docker");
    if (!body.empty())
        req.set(beast::http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    beast::http::write(s, req);
    beast::flat_buffer buf;
    beast::http::response_parser<beast::http::string_body> p;
    p.body_limit(64 * 1024 * 1024);
    beast::http::read(s, buf, p);
    boost::system::error_code ignored;  // the Engine may already have closed its side
    s.shutdown(asio::socket_base::shutdown_both, ignored);
    return {p.get().result_int(), p.get().body()};
}

namespace {

/// Runs f(i) for i in [0, n) on `parallel` threads.
template <class F> void parallel_for(std::size_t n, unsigned parallel, F f)
{
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> ts;
    for (unsigned t = 0; t < std::max(1u, parallel); ++t)
        ts.emplace_back([&] {
            for (std::size_t i; (i = next++) < n;)
                f(i);
        });
    for (auto& t : ts)
        t.join();
}

}  // namespace

gate::gate(fs::path dir) : dir_(std::move(dir))
{
    fs::create_directories(dir_);
    fs::remove(dir_ / "go");
}

std::string gate::bind() const
{
    return dir_.string() + ":/gate:ro";
}

bool gate::release(const fs::path& socket,
                   const std::vector<std::string>& ids,
                   std::chrono::milliseconds timeout) const
{
    std::ofstream(dir_ / "go") << "go\n";
    const bool done = wait_all_exited(socket, ids, timeout);
    fs::remove(dir_ / "go");  // closed again for the next wave
    if (!done) {
        // Say which ones hang, and what their processes are doing, to tell a stuck core dump
        // from a container that never saw the gate open.
        std::set<std::string> wanted(ids.begin(), ids.end());
        const auto list = json::parse(engine_call(socket, "GET", "/containers/json").body);
        for (const auto& c : list.as_array()) {
            std::string id(c.as_object().at("Id").as_string());
            if (!wanted.count(id))
                continue;
            auto top = engine_call(
                socket, "GET", "/containers/" + id + "/top?ps_args=-o%20pid,stat,wchan,args");
            std::cerr << "still running: " << id.substr(0, 12) << " " << top.body << '\n';
        }
    }
    return done;
}

std::string death_script(const container_spec& sp)
{
    if (sp.crash)
        return "sh -c 'kill -SEGV $$'; exit 139";
    const bool odd = sp.variant % 2 != 0;
    switch (sp.kind) {
    case death::hprof:
        // The HPROF header (name, NUL, 4-byte identifier size, 8-byte time) and a few bytes of
        // records, as a JVM with -XX:+HeapDumpOnOutOfMemoryError leaves before it exits.
        return std::string("printf 'JAVA PROFILE 1.0.2\\000\\000\\000\\000\\010"
                           "\\000\\000\\001\\223\\000\\000\\000\\000' > /tmp/java_pid1.hprof; "
                           "head -c 4096 /dev/zero >> /tmp/java_pid1.hprof; exit ") +
               (odd ? "3" : "1");
    case death::decoy:
        return odd ? "echo 'not a core' > /tmp/app.core; exit 1"
                   : "echo 'core temperature 41C' > /tmp/core.txt; exit 0";
    case death::clean: break;
    }
    return "echo done > /tmp/app.log; exit 0";
}

std::vector<std::string> create_containers(const fs::path& socket,
                                           const std::vector<container_spec>& specs,
                                           unsigned parallel,
                                           const gate* g)
{
    std::vector<std::string> ids(specs.size());
    std::vector<std::string> errors(specs.size());
    parallel_for(specs.size(), parallel, [&](std::size_t i) {
        const auto& sp = specs[i];
        json::object labels;
        for (const auto& [k, v] : sp.labels)
            labels[k] = v;
        json::array cmd;
        cmd.emplace_back("sh");
        cmd.emplace_back("-c");
        std::string script = death_script(sp);
        if (g)
            script = "until [ -e /gate/go ]; do sleep 1; done; " + script;
        cmd.emplace_back(script);
        json::object host{{"NetworkMode", "none"}};
        if (g) {
            json::array binds;
            binds.emplace_back(g->bind());
            host["Binds"] = std::move(binds);
        }
        if (sp.crash) {
            json::object core{{"Name", "core"}, {"Soft", -1}, {"Hard", -1}};
            json::array ulimits;
            ulimits.emplace_back(std::move(core));
            host["Ulimits"] = std::move(ulimits);
        }
        json::object o{{"Image", "testimg:1.0"},
                       {"Cmd", cmd},
                       {"WorkingDir", "/tmp"},
                       {"Labels", labels},
                       {"HostConfig", host}};
        try {
            auto r = engine_call(
                socket, "POST", "/containers/create?name=" + sp.name, json::serialize(o));
            if (r.status != 201)
                errors[i] = sp.name + ": " + std::to_string(r.status) + " " + r.body;
            else
                ids[i] = std::string(json::parse(r.body).as_object().at("Id").as_string());
        } catch (const std::exception& e) {
            errors[i] = sp.name + ": " + e.what();
        }
    });
    for (const auto& e : errors)
        if (!e.empty())
            throw std::runtime_error("cannot create container " + e);
    return ids;
}

void start_containers(const fs::path& socket,
                      const std::vector<std::string>& ids,
                      unsigned parallel)
{
    std::vector<std::string> errors(ids.size());
    parallel_for(ids.size(), parallel, [&](std::size_t i) {
        try {
            auto r = engine_call(socket, "POST", "/containers/" + ids[i] + "/start");
            if (r.status != 204 && r.status != 304)
                errors[i] = ids[i].substr(0, 12) + ": " + std::to_string(r.status) + " " + r.body;
        } catch (const std::exception& e) {
            errors[i] = ids[i].substr(0, 12) + ": " + e.what();
        }
    });
    for (const auto& e : errors)
        if (!e.empty())
            throw std::runtime_error("cannot start container " + e);
}

bool wait_all_exited(const fs::path& socket,
                     const std::vector<std::string>& ids,
                     std::chrono::milliseconds timeout)
{
    std::set<std::string> wanted(ids.begin(), ids.end());
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        auto r = engine_call(socket, "GET", "/containers/json");
        bool any = false;
        const auto list = json::parse(r.body);  // named: a temporary would die before the loop body
        for (const auto& c : list.as_array())
            if (wanted.count(std::string(c.as_object().at("Id").as_string())))
                any = true;
        if (!any)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
}

std::int64_t finished_at_nano(const fs::path& socket, const std::string& id)
{
    auto r = engine_call(socket, "GET", "/containers/" + id + "/json");
    if (r.status != 200)
        return 0;
    auto info = docker::parse_inspect(r.body);
    return info ? info->finished_nano : 0;
}

void remove_containers(const fs::path& socket,
                       const std::vector<std::string>& ids,
                       unsigned parallel)
{
    parallel_for(ids.size(), parallel, [&](std::size_t i) {
        try {
            engine_call(socket, "DELETE", "/containers/" + ids[i] + "?force=1");
        } catch (const std::exception&) {
            // Clean-up only: a container left behind goes with the private dockerd.
        }
    });
}

struct die_recorder::impl {
    int fd = -1;
    int stop_pipe[2] = {-1, -1};
    mutable std::mutex mu;
    std::map<std::string, std::int64_t> times;
    std::thread reader;

    void run(std::string pending)
    {
        domain::line_framer lines;
        lines.feed(pending);
        for (;;) {
            while (auto line = lines.next()) {
                auto ev = domain::parse_event_line(*line);
                if (ev && ev->kind == domain::event_kind::die) {
                    std::lock_guard lock(mu);
                    times.emplace(ev->event.id, ev->event.time_nano);
                }
            }
            pollfd p[2] = {{fd, POLLIN, 0}, {stop_pipe[0], POLLIN, 0}};
            if (::poll(p, 2, -1) < 0 && errno != EINTR)
                return;
            if (p[1].revents)
                return;
            char buf[8192];
            const auto n = ::read(fd, buf, sizeof buf);
            if (n <= 0)
                return;
            lines.feed(std::string_view(buf, static_cast<std::size_t>(n)));
        }
    }
};

die_recorder::die_recorder(const fs::path& socket) : impl_(std::make_unique<impl>())
{
    auto& m = *impl_;
    m.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket.c_str());
    if (m.fd < 0 || ::connect(m.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("die_recorder: cannot connect to " + socket.string());
    // HTTP/1.0: the body comes unchunked, one event a line, until the connection closes.
    const std::string filters = R"({"type":["container"],"event":["die"]})";
    const std::string req =
        "GET /events?filters=" + boost::urls::encode(filters, boost::urls::unreserved_chars) +
        " HTTP/1.0\r\nHost: docker\r\n\r\n";
    if (::write(m.fd, req.data(), req.size()) != static_cast<ssize_t>(req.size()))
        throw std::runtime_error("die_recorder: cannot send the request");
    std::string got;
    std::size_t end;
    while ((end = got.find("\r\n\r\n")) == std::string::npos) {
        char buf[4096];
        const auto n = ::read(m.fd, buf, sizeof buf);
        if (n <= 0)
            throw std::runtime_error("die_recorder: no answer from the Engine");
        got.append(buf, static_cast<std::size_t>(n));
    }
    if (got.find(" 200 ") == std::string::npos || got.find(" 200 ") > got.find("\r\n"))
        throw std::runtime_error("die_recorder: " + got.substr(0, got.find("\r\n")));
    if (::pipe2(m.stop_pipe, O_CLOEXEC) != 0)
        throw std::runtime_error("die_recorder: pipe");
    m.reader = std::thread([&m, rest = got.substr(end + 4)] { m.run(rest); });
}

die_recorder::~die_recorder()
{
    auto& m = *impl_;
    if (m.reader.joinable()) {
        (void)!::write(m.stop_pipe[1], "x", 1);
        m.reader.join();
    }
    for (int fd : {m.fd, m.stop_pipe[0], m.stop_pipe[1]})
        if (fd >= 0)
            ::close(fd);
}

std::map<std::string, std::int64_t> die_recorder::times() const
{
    std::lock_guard lock(impl_->mu);
    return impl_->times;
}

double quantile(std::vector<double> v, double q)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const double pos = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(pos);
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

std::int64_t now_nano()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace core_interceptor::bench
