// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>

namespace core_interceptor::test_support {

/// Certificates made for one test with the `openssl` command (P-256 keys, valid two days): a
/// private CA, a server certificate it signs for 127.0.0.1 (an IP address SAN), a client
/// certificate it signs, and a second CA that signs none of them. Keys are mode 0600.
/// Throws missing_part when `openssl` is not installed, std::runtime_error when it fails.
struct test_pki {
    explicit test_pki(const std::filesystem::path& dir);

    std::filesystem::path ca_cert;
    std::filesystem::path server_cert;
    std::filesystem::path server_key;
    std::filesystem::path client_cert;
    std::filesystem::path client_key;
    std::filesystem::path other_ca_cert;
};

}  // namespace core_interceptor::test_support
