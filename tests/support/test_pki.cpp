// SPDX-License-Identifier: MIT
#include "support/test_pki.hpp"

#include "support/missing_part.hpp"
#include "support/process.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <vector>

namespace core_interceptor::test_support {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Our own configuration, so that the distribution's openssl.cnf adds no extension of its own.
constexpr const char* openssl_config = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = core_interceptor test
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
)";

void openssl(std::vector<std::string> args)
{
    args.insert(args.begin(), "openssl");
    auto r = run(args, 60s);
    if (!r.ok())
        throw std::runtime_error("openssl " + args[1] + " failed (" + r.status.describe() +
                                 "): " + r.err);
}

/// A new P-256 key and a request (or, with `self_signed`, a CA certificate) for `subject`.
void new_key(const fs::path& cnf,
             const fs::path& key,
             const fs::path& out,
             const std::string& subject,
             bool self_signed)
{
    std::vector<std::string> a{"req",
                               "-new",
                               "-config",
                               cnf.string(),
                               "-newkey",
                               "ec",
                               "-pkeyopt",
                               "ec_paramgen_curve:P-256",
                               "-nodes",
                               "-keyout",
                               key.string(),
                               "-out",
                               out.string(),
                               "-subj",
                               subject};
    if (self_signed)
        a.insert(a.end(), {"-x509", "-days", "2", "-extensions", "ca_ext"});
    openssl(a);
    if (::chmod(key.c_str(), 0600) != 0)
        throw std::runtime_error("cannot chmod " + key.string());
}

/// Signs `csr` with the CA into `cert`, with the extensions of section `ext`.
void sign(const fs::path& cnf,
          const fs::path& dir,
          const fs::path& csr,
          const fs::path& cert,
          const std::string& ext,
          const std::string& serial)
{
    openssl({"x509",
             "-req",
             "-in",
             csr.string(),
             "-CA",
             (dir / "ca.pem").string(),
             "-CAkey",
             (dir / "ca.key").string(),
             "-set_serial",
             serial,
             "-days",
             "2",
             "-sha256",
             "-extfile",
             cnf.string(),
             "-extensions",
             ext,
             "-out",
             cert.string()});
}

}  // namespace

test_pki::test_pki(const fs::path& dir)
{
    if (::access("/usr/bin/openssl", X_OK) != 0 && ::access("/usr/local/bin/openssl", X_OK) != 0)
        throw missing_part("the openssl command is not installed (Debian package openssl)");
    const auto cnf = dir / "pki.cnf";
    std::ofstream(cnf) << openssl_config;

    ca_cert = dir / "ca.pem";
    new_key(cnf, dir / "ca.key", ca_cert, "/CN=core_interceptor test CA", true);
    other_ca_cert = dir / "other-ca.pem";
    new_key(cnf, dir / "other-ca.key", other_ca_cert, "/CN=core_interceptor other CA", true);

    server_cert = dir / "server.pem";
    server_key = dir / "server.key";
    new_key(cnf, server_key, dir / "server.csr", "/CN=127.0.0.1", false);
    sign(cnf, dir, dir / "server.csr", server_cert, "server_ext", "2");

    client_cert = dir / "client.pem";
    client_key = dir / "client.key";
    new_key(cnf, client_key, dir / "client.csr", "/CN=core_interceptor test client", false);
    sign(cnf, dir, dir / "client.csr", client_cert, "client_ext", "3");
}

}  // namespace core_interceptor::test_support
