// SPDX-License-Identifier: MIT
#include "pipeline/volume_dumps.hpp"

#include "domain/short_id.hpp"
#include "pipeline/job.hpp"

#include <boost/asio/error.hpp>

#include <sys/statvfs.h>

#include <cstdint>

namespace asio = boost::asio;

namespace core_interceptor::pipeline {
namespace {

using domain::short_id;

/// The fields with DUMP_PATH set to `path` (replacing the job's own).
std::vector<log::field> with_path(std::vector<log::field> fields, const std::string& path)
{
    for (auto& f : fields)
        if (f.first == "DUMP_PATH") {
            f.second = path;
            return fields;
        }
    fields.emplace_back("DUMP_PATH", path);
    return fields;
}

bool fatal_to_job(const failure& f)
{
    return f.code == asio::error::operation_aborted || transient(f);
}

/// Bytes the dump spool may take now: the free space of its file system above the reserve
/// (0 when below it); unlimited when it cannot be told.
std::uint64_t spool_space(const config& cfg)
{
    if (cfg.dump_spool_dir.empty())
        return UINT64_MAX;
    struct statvfs st {};
    if (::statvfs(cfg.dump_spool_dir.c_str(), &st) != 0)
        return UINT64_MAX;  // the copy itself reports what is wrong with the directory
    const std::uint64_t avail = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    return avail > cfg.state_reserve ? avail - cfg.state_reserve : 0;
}

}  // namespace

asio::awaitable<result<std::vector<std::string>>> probe_dump_paths(docker::api& docker,
                                                                   std::string id,
                                                                   std::string name,
                                                                   const config& cfg,
                                                                   domain::dump_filter skip,
                                                                   std::vector<log::field> fields)
{
    std::vector<std::string> out;
    for (const auto& dir : cfg.dump_paths) {
        auto f = with_path(fields, dir);
        domain::volume_probe probe(dir, cfg.dump_patterns, skip);
        auto r = co_await docker.probe_archive(id, dir, probe, cfg.dump_path_probe_bytes);
        if (!r) {
            if (fatal_to_job(r.error()))
                co_return r.error();
            if (r.error().code == errc::not_found) {
                log::debug(f) << "container " << name << " has no " << dir;
                continue;
            }
            log::warning(f) << "cannot probe " << dir << " of container " << name << " ("
                            << short_id(id) << ") for dumps: " << r.error().describe();
            continue;
        }
        switch (probe.result()) {
        case domain::volume_probe::verdict::none:
            log::debug(f) << "no dump in " << dir << " of container " << name << " (" << *r
                          << " bytes read)";
            break;
        case domain::volume_probe::verdict::found:
            log::debug(f) << domain::to_string(probe.found().type) << " dump " << probe.found().path
                          << " (" << probe.found().size << " bytes) in container " << name << " ("
                          << *r << " bytes read)";
            out.push_back(dir);
            break;
        case domain::volume_probe::verdict::open:
            // Many files, or a large one that is not a new dump: the copy reads the whole
            // directory rather than miss a dump.
            log::debug(f) << "probe of " << dir << " in container " << name << " undecided after "
                          << *r << " bytes; the copy step scans it whole";
            out.push_back(dir);
            break;
        }
    }
    co_return out;
}

namespace {

/// A dry run's plan for the dumps of one directory: what would be copied while `budget` lasts,
/// logged and added to `out` (nothing is copied).
void plan_dry_run(std::vector<domain::archive_dump>& seen,
                  std::uint64_t& budget,
                  const std::string& name,
                  const std::vector<log::field>& fields,
                  std::vector<domain::archive_dump>& out)
{
    for (auto& d : seen) {
        auto df = with_path(fields, d.path);
        if (d.size <= budget) {
            budget -= d.size;
            d.copied_to = domain::copied_dump_path(d.path);
            log::info(df) << "dry run: would copy " << domain::to_string(d.type) << " dump "
                          << d.path << " (" << d.size << " bytes) of container " << name << " to "
                          << d.copied_to;
        } else {
            log::info(df) << "dry run: would report " << domain::to_string(d.type) << " dump "
                          << d.path << " (" << d.size << " bytes) of container " << name
                          << " without copying it: more than is left of --max-dump-size";
        }
        out.push_back(std::move(d));
    }
}

/// Logs what became of one dump of a copy (`copied`: whether the directory's copy succeeded;
/// a failed copy was logged once for the whole directory).
void log_copy(const domain::archive_dump& d,
              bool copied,
              const std::string& id,
              const std::string& name,
              const config& cfg,
              const std::vector<log::field>& fields)
{
    auto df = with_path(fields, d.path);
    if (!d.copied_to.empty())
        log::info(df) << "copied " << domain::to_string(d.type) << " dump " << d.path << " ("
                      << d.size << " bytes) of container " << name << " to " << d.copied_to;
    else if (copied && d.reason.find("--max-dump-size") != std::string::npos)
        log::warning(df) << domain::to_string(d.type) << " dump " << d.path << " of container "
                         << name << " (" << short_id(id) << ") is " << d.size
                         << " bytes, more than is left of --max-dump-size (" << cfg.max_dump_size
                         << " bytes per container): reported, not copied into the image";
    else if (copied)
        log::warning(df) << domain::to_string(d.type) << " dump " << d.path << " of container "
                         << name << " (" << short_id(id) << ", " << d.size
                         << " bytes) is reported, not copied into "
                         << "the image: " << d.reason;
}

}  // namespace

asio::awaitable<result<std::vector<domain::archive_dump>>>
copy_dump_paths(docker::api& docker,
                std::string id,
                std::string name,
                std::vector<std::string> dirs,
                const config& cfg,
                domain::dump_filter skip,
                std::vector<log::field> fields)
{
    std::vector<domain::archive_dump> out;
    std::uint64_t budget = cfg.max_dump_size;
    std::uint64_t archive_budget = cfg.max_dump_size;  // headers and padding counted too
    std::size_t skipped = 0;
    for (const auto& dir : dirs) {
        auto f = with_path(fields, dir);
        // A dry run keeps nothing (no PUT): it only lists the dumps and says where they would go.
        domain::dump_extractor extract(dir, cfg.dump_patterns, cfg.dry_run ? 0 : budget, skip);
        extract.set_max_dumps(cfg.max_volume_dumps > out.size() ? cfg.max_volume_dumps - out.size()
                                                                : 0);
        extract.set_notes_cap(cfg.max_notes_size);
        if (!cfg.dry_run) {
            extract.set_archive_budget(archive_budget);
            extract.set_space(spool_space(cfg));
        }
        auto r = co_await docker.copy_archive(id, dir, extract);
        skipped += extract.skipped();
        auto seen = extract.dumps();
        if (r && cfg.dry_run) {
            plan_dry_run(seen, budget, name, fields, out);
            continue;
        }
        if (!r) {
            if (fatal_to_job(r.error()))
                co_return r.error();
            if (r.error().code != errc::not_found)
                log::error(f) << "cannot copy the dumps of " << dir << " into container " << name
                              << " (" << short_id(id) << "): " << r.error().describe()
                              << "; they stay where they are and are reported as not copied";
            for (auto& d : seen) {
                if (!d.copied_to.empty())
                    d.reason = "copy failed: " + r.error().describe();
                d.copied_to.clear();
            }
        } else {
            budget = extract.budget_left();
            archive_budget = extract.archive_budget_left();
        }
        for (auto& d : seen) {
            log_copy(d, bool(r), id, name, cfg, fields);
            out.push_back(std::move(d));
        }
    }
    if (skipped > 0)
        log::warning(fields)
            << "container " << name << " (" << short_id(id) << ") left " << skipped
            << " more dump(s) in its --dump-path directories than --max-volume-dumps ("
            << cfg.max_volume_dumps << "): only the first " << cfg.max_volume_dumps
            << " are reported; the others stay where they are";
    co_return out;
}

}  // namespace core_interceptor::pipeline
