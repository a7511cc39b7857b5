// SPDX-License-Identifier: MIT
// Where options come from besides the command line: the environment and the --config file.
#include "config/detail.hpp"

#include "domain/config_file.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace po = boost::program_options;

namespace core_interceptor::config::detail {

/// CORE_INTERCEPTOR_ variables that are not options: the package's extra arguments of the
/// service (/etc/default/core_interceptor) and the project's own test and benchmark harness,
/// whose variables reach the daemons it starts.
constexpr std::array<std::string_view, 18> not_options{
    "OPTS",
    "BIN",
    "SOURCE_ROOT",
    "RUN_SINKS",
    "INSTALLED_CACHE",
    "REQUIRE_PARTS",
    "DEB",
    "DEB_JOBS",
    "KEEP_TEMP",
    "KAFKA_DEBUG",
    "HAVE_KAFKA",
    "HAVE_SYSTEMD",
    "EXPECTED_VERSION",
    "CHAOS_SEED",
    "BENCH_DIR",
    "BENCH_STATE",
    "MONITORING_DIR",
    "TEST_ENGINE",
};

/// CORE_INTERCEPTOR_<OPTION> variables as options: CORE_INTERCEPTOR_METRICS_ADDRESS is
/// --metrics-address. An empty value counts as unset; a repeatable option takes one value per
/// line. A variable of the prefix that names no option (nor one of `not_options`) is an error.
po::parsed_options environment_options(const po::options_description& options,
                                       const char* const* envp)
{
    constexpr std::string_view prefix = "CORE_INTERCEPTOR_";
    po::parsed_options parsed(&options);
    for (; envp && *envp; ++envp) {
        const std::string_view entry(*envp);
        const auto eq = entry.find('=');
        if (eq == std::string_view::npos || !entry.starts_with(prefix))
            continue;
        const std::string variable(entry.substr(0, eq));
        const std::string_view suffix = entry.substr(prefix.size(), eq - prefix.size());
        if (std::find(not_options.begin(), not_options.end(), suffix) != not_options.end())
            continue;
        std::string name;
        for (char c : suffix)
            name += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto* d = options.find_nothrow(name, false);
        bool upper = !suffix.empty();
        for (char c : suffix)
            upper = upper && (std::isupper(static_cast<unsigned char>(c)) ||
                              std::isdigit(static_cast<unsigned char>(c)) || c == '_');
        if (!d || !upper || name == "help" || name == "version")
            throw bad_variable{variable,
                               "names no option that the environment can set "
                               "(CORE_INTERCEPTOR_REGISTRY sets --registry, "
                               "CORE_INTERCEPTOR_METRICS_ADDRESS --metrics-address)"};
        const std::string_view value = entry.substr(eq + 1);
        if (value.empty())
            continue;
        std::size_t start = 0;
        while (start <= value.size()) {
            auto end = value.find('\n', start);
            if (end == std::string_view::npos)
                end = value.size();
            if (end > start) {
                po::option o;
                o.string_key = name;
                o.value.emplace_back(value.substr(start, end - start));
                parsed.options.push_back(std::move(o));
            }
            start = end + 1;
        }
    }
    return parsed;
}

/// Stores the `--config` file after the command line: values already there are kept, so the
/// command line wins. Errors name a line, never its text (the file holds secrets).
void store_config_file(const std::string& file,
                       const po::options_description& options,
                       po::variables_map& vm)
{
    auto entries = domain::parse_config_file(read_private_file("config", file));
    if (!entries)
        throw bad_option{"config", "'" + file + "' " + entries.error().message};
    po::parsed_options parsed(&options);
    for (auto& e : *entries) {
        if (!options.find_nothrow(e.name, false))
            throw bad_option{
                "config",
                "'" + file + "' line " + std::to_string(e.line) + ": unknown option" +
                    (domain::printable_option_name(e.name) ? " '" + e.name + "'" : "")};
        parsed.options.emplace_back(e.name, std::vector<std::string>{std::move(e.value)});
    }
    po::store(parsed, vm);
}

/// One line for an error of Boost.Program_options: the option's name and what is wrong, never
/// the value given (it may be a secret).
std::string describe(const po::error_with_option_name& e)
{
    std::string name = e.get_option_name();
    auto bare = std::string_view(name).substr(std::min(name.find_first_not_of('-'), name.size()));
    if (!domain::printable_option_name(bare))
        name = "option";
    if (dynamic_cast<const po::invalid_option_value*>(&e) ||
        dynamic_cast<const po::invalid_bool_value*>(&e))
        return name + ": invalid value";
    if (dynamic_cast<const po::unknown_option*>(&e))
        return name == "option" ? std::string("unknown option") : name + ": unknown option";
    if (dynamic_cast<const po::invalid_config_file_syntax*>(&e))
        return name + ": malformed line in the configuration file";
    return name + ": " + e.what();
}

}  // namespace core_interceptor::config::detail
