// SPDX-License-Identifier: MIT
// The parts of config::parse, shared by its files: how an option is refused, the value
// parsers, the files read, the environment and the configuration file.
#pragma once

#include "config/app_config.hpp"

#include <boost/program_options.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace core_interceptor::config::detail {

/// A configuration error: names the option and what is wrong with it.
struct bad_option {
    std::string option;
    std::string why;
};

/// An environment variable of our prefix that names no option.
struct bad_variable {
    std::string name;
    std::string why;
};

/// The one shape of a refused value: "invalid value 'TEXT' (WHY)". Only for values that may
/// be printed; a value that may be a secret is refused without it.
inline bad_option
invalid(const std::string& option, const std::string& text, const std::string& why)
{
    return bad_option{option, "invalid value '" + text + "' (" + why + ")"};
}

template <class T> T integer(const std::string& option, const std::string& text, T min, T max)
{
    T v{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v < min || v > max)
        throw invalid(option,
                      text,
                      "expected an integer from " + std::to_string(min) + " to " +
                          std::to_string(max));
    return v;
}

/// "2G", "64M", "1048576": bytes, or bad_option naming `option`.
std::uint64_t byte_size(const std::string& option, const std::string& text);

/// "90", "30s", "10m", "2h", "1d" -> seconds.
std::chrono::seconds duration(const std::string& option, const std::string& text);

/// "127.0.0.1:9464", "[::1]:9464": an IP literal and a port from 1 to 65535.
metrics::config listen_address(const std::string& option, const std::string& text);

/// "NAME: VALUE" -> {NAME, VALUE}. A malformed header names the option (and `where`, a line of
/// a file), never the text: it may be a token ("Authorization Bearer …").
std::pair<std::string, std::string>
header(const std::string& option, const std::string& h, const std::string& where);

/// This machine's host name, "localhost" when it has none.
std::string machine_hostname();

/// Reads a file that may hold secrets (--config, --registry-auth, --rest-header-file): a
/// regular file owned by root or the daemon's user, readable by no other user than its owner
/// and group, writable by its owner only.
std::string read_private_file(const std::string& option, const std::string& path);

/// `--rest-header-file`: one "NAME: VALUE" a line; blank lines and '#' comments skipped.
std::vector<std::pair<std::string, std::string>> header_file(const std::string& path);

/// `--rest-ca-file`, `--rest-client-cert`, `--rest-client-key` checked and stored in `r`.
void rest_tls_files(const boost::program_options::variables_map& vm, sinks::rest_config& r);

/// CORE_INTERCEPTOR_<OPTION> variables of `envp` as options of `options`.
boost::program_options::parsed_options
environment_options(const boost::program_options::options_description& options,
                    const char* const* envp);

/// Stores the `--config` file after the command line: values already there are kept.
void store_config_file(const std::string& file,
                       const boost::program_options::options_description& options,
                       boost::program_options::variables_map& vm);

/// One line for an error of Boost.Program_options, never the value given.
std::string describe(const boost::program_options::error_with_option_name& e);

/// The app_config of the stored options, every value validated.
app_config build(const boost::program_options::variables_map& vm);

}  // namespace core_interceptor::config::detail
