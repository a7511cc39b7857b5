// SPDX-License-Identifier: MIT
// Answers of Docker Engine 28.5 (API 1.51; Debian's docker.io 28.5.2 with containerd 2.1),
// recorded from a private dockerd with the overlay2 store and with the containerd image store
// (`--feature containerd-snapshotter=true`), fed to the parsers of domain/. Fields no parser
// reads are left out of the longer answers. What differs from Engine 20.10: the containerd
// store's push stream has no Preparing/Pushing lines and no `aux` line (the digest is only in
// the status line), its image ID is the manifest's digest, `Config.Labels` is `{}` rather than
// absent, and the minimum API version may be raised (DOCKER_MIN_API_VERSION) to 1.44.
#include "domain/api_version.hpp"
#include "domain/engine_answers.hpp"
#include "domain/event.hpp"
#include "domain/push_stream.hpp"
#include "domain/rfc3339.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace core_interceptor;

namespace {

const std::string version_answer =
    R"({"Platform":{"Name":""},"Components":[{"Name":"Engine","Version":"28.5.2+dfsg4",)"
    R"("Details":{"ApiVersion":"1.51","Arch":"amd64","BuildTime":"2026-09-15T11:02:57.000000000+00:00",)"
    R"("Experimental":"false","GitCommit":"3ef3c07c883be49a2e8097bcf6d2952fce1d70eb",)"
    R"("GoVersion":"go1.27.1","KernelVersion":"6.18.44-fc-v669","MinAPIVersion":"1.24","Os":"linux"}},)"
    R"({"Name":"containerd","Version":"2.1.9+unknown","Details":{"GitCommit":""}},)"
    R"({"Name":"runc","Version":"1.1.5+ds1","Details":{"GitCommit":"1.1.5+ds1-1+deb12u1"}},)"
    R"({"Name":"docker-init","Version":"0.19.0","Details":{"GitCommit":""}}],)"
    R"("Version":"28.5.2+dfsg4","ApiVersion":"1.51","MinAPIVersion":"1.24",)"
    R"("GitCommit":"3ef3c07c883be49a2e8097bcf6d2952fce1d70eb","GoVersion":"go1.27.1","Os":"linux",)"
    R"("Arch":"amd64","KernelVersion":"6.18.44-fc-v669","BuildTime":"2026-09-15T11:02:57.000000000+00:00"})";

const std::string die_line =
    R"({"status":"die","id":"403fede18f10572bb8f3371477e9f732c1f992c5493603d9650755a319366c80",)"
    R"("from":"testimg:1.0","Type":"container","Action":"die","Actor":{"ID":)"
    R"("403fede18f10572bb8f3371477e9f732c1f992c5493603d9650755a319366c80","Attributes":)"
    R"({"execDuration":"0","exitCode":"139","image":"testimg:1.0","name":"crash"}},)"
    R"("scope":"local","time":1796022297,"timeNano":1796022297320896148})";

const std::string digest_containerd =
    "sha256:d56152e4363a9696cfcbacfacc8e6456a90029ea42a4bd1d7d449e732e6c95db";
const std::string digest_overlay2 =
    "sha256:d3c88b32f652fc20bd4f41c2c3a8e9f591c6326b7927e16eaea1fa3ad75c134f";

}  // namespace

TEST_CASE("docker 28: GET /version gives API 1.51 and negotiation stays at ours")
{
    auto v = domain::parse_engine_version(version_answer);
    REQUIRE(v.has_value());
    CHECK(v->version == "28.5.2+dfsg4");
    CHECK(v->api == domain::api_version{1, 51});
    REQUIRE(v->min_api);
    CHECK(*v->min_api == domain::api_version{1, 24});
    CHECK(domain::negotiate(domain::our_api_version, v->api, v->min_api) ==
          domain::our_api_version);
}

TEST_CASE("docker 28: with DOCKER_MIN_API_VERSION=1.44 the minimum is read and negotiation "
          "succeeds at ours")
{
    // Only MinAPIVersion differs from the answer without the variable.
    std::string answer = version_answer;
    const std::string top = R"("ApiVersion":"1.51","MinAPIVersion":"1.24")";
    answer.replace(answer.find(top), top.size(), R"("ApiVersion":"1.51","MinAPIVersion":"1.44")");
    auto v = domain::parse_engine_version(answer);
    REQUIRE(v.has_value());
    REQUIRE(v->min_api);
    CHECK(*v->min_api == domain::api_version{1, 44});
    const auto used = domain::negotiate(domain::our_api_version, v->api, v->min_api);
    CHECK(used >= domain::api_version{1, 44});
    CHECK(used == domain::our_api_version);
}

TEST_CASE("docker 28: the error for a client below the minimum API version is its message")
{
    const std::string body =
        R"({"message":"client version 1.41 is too old. Minimum supported API version is 1.44, )"
        R"(please upgrade your client to a newer version"})"
        "\n";
    CHECK(domain::daemon_message(body) ==
          "client version 1.41 is too old. Minimum supported API version is 1.44, please "
          "upgrade your client to a newer version");
}

TEST_CASE("docker 28: a die event (the same with both image stores)")
{
    auto e = domain::parse_event_line(die_line);
    REQUIRE(e.has_value());
    CHECK(e->kind == domain::event_kind::die);
    CHECK(e->event.id == "403fede18f10572bb8f3371477e9f732c1f992c5493603d9650755a319366c80");
    CHECK(e->event.name == "crash");
    CHECK(e->event.image == "testimg:1.0");
    CHECK(e->event.time_nano == 1796022297320896148);
    bool exit_code = false;
    for (const auto& [k, v] : e->event.attributes)
        exit_code = exit_code || (k == "exitCode" && v == "139");
    CHECK(exit_code);
}

TEST_CASE("docker 28: GET /containers/{id}/json of a crashed container (containerd store)")
{
    auto info = domain::parse_inspect(
        R"({"Id":"403fede18f10572bb8f3371477e9f732c1f992c5493603d9650755a319366c80",)"
        R"("Created":"2026-11-30T07:04:57.018333336Z","Path":"sh","Args":["-c","sh -c \"kill -SEGV \\$\\$\"; exit $?"],)"
        R"("State":{"Status":"exited","Running":false,"Paused":false,"Restarting":false,)"
        R"("OOMKilled":false,"Dead":false,"Pid":0,"ExitCode":139,"Error":"",)"
        R"("StartedAt":"2026-11-30T07:04:57.145799458Z","FinishedAt":"2026-11-30T07:04:57.273773598Z"},)"
        R"("Image":"sha256:a8e11f21fe7b7b6ec1635aba0078fb1bc572c4e9ccafd5a750160a02e935ce44",)"
        R"("Name":"/crash","RestartCount":0,"Driver":"overlayfs","Platform":"linux",)"
        R"("HostConfig":{"NetworkMode":"none","AutoRemove":false,"Runtime":"runc",)"
        R"("Ulimits":[{"Name":"core","Hard":-1,"Soft":-1}]},)"
        R"("GraphDriver":{"Data":null,"Name":"overlayfs"},"Mounts":[],)"
        R"("Config":{"Hostname":"403fede18f10","Env":null,)"
        R"("Cmd":["sh","-c","sh -c \"kill -SEGV \\$\\$\"; exit $?"],"Image":"testimg:1.0",)"
        R"("Volumes":null,"WorkingDir":"/tmp","Entrypoint":null,"OnBuild":null,"Labels":{}}})");
    REQUIRE(info.has_value());
    CHECK(info->id == "403fede18f10572bb8f3371477e9f732c1f992c5493603d9650755a319366c80");
    CHECK(info->name == "crash");
    CHECK(info->image == "testimg:1.0");
    CHECK(info->image_id ==
          "sha256:a8e11f21fe7b7b6ec1635aba0078fb1bc572c4e9ccafd5a750160a02e935ce44");
    CHECK(info->exit_code == 139);
    CHECK(info->status == "exited");
    CHECK_FALSE(info->auto_remove);
    CHECK(info->labels.empty());
    CHECK(info->finished_nano == domain::parse_rfc3339_nano("2026-11-30T07:04:57.273773598Z"));
    CHECK(info->started_nano == domain::parse_rfc3339_nano("2026-11-30T07:04:57.145799458Z"));
}

TEST_CASE("docker 28: GET /images/json with the containerd store: IDs are manifest digests")
{
    auto images = domain::parse_image_list(
        R"([{"Containers":-1,"Created":1796022299,"Id":")" + digest_containerd +
        R"(","Labels":null,"ParentId":"sha256:a8e11f21fe7b7b6ec1635aba0078fb1bc572c4e9ccafd5a750160a02e935ce44",)"
        R"("RepoDigests":["127.0.0.1:44302/testimg_1.0@)" +
        digest_containerd +
        R"("],"RepoTags":["127.0.0.1:44302/testimg_1.0:403fede18f10"],"SharedSize":-1,"Size":3522914},)"
        R"({"Containers":-1,"Created":1796022296,)"
        R"("Id":"sha256:a8e11f21fe7b7b6ec1635aba0078fb1bc572c4e9ccafd5a750160a02e935ce44",)"
        R"("Labels":null,"ParentId":"","RepoDigests":["testimg@sha256:a8e11f21fe7b7b6ec1635aba0078fb1bc572c4e9ccafd5a750160a02e935ce44"],)"
        R"("RepoTags":["testimg:1.0"],"SharedSize":-1,"Size":3075593}])");
    REQUIRE(images.has_value());
    REQUIRE(images->size() == 2);
    CHECK((*images)[0].id == digest_containerd);
    REQUIRE((*images)[0].repo_tags.size() == 1);
    CHECK((*images)[0].repo_tags[0] == "127.0.0.1:44302/testimg_1.0:403fede18f10");
    CHECK((*images)[1].repo_tags.at(0) == "testimg:1.0");
}

TEST_CASE("docker 28: push stream with the overlay2 store (aux digest)")
{
    domain::push_stream_parser p("3ff1493b932f");
    for (
        const char* line : {
            R"({"status":"The push refers to repository [127.0.0.1:46851/testimg_1.0]"})",
            R"({"status":"Preparing","progressDetail":{},"id":"7214c509e0b9"})",
            R"({"status":"Preparing","progressDetail":{},"id":"e6b75343b6af"})",
            R"({"status":"Pushing","progressDetail":{"current":35840,"total":1982284},"progress":"[\u003e     ]  35.84kB/1.982MB","id":"e6b75343b6af"})",
            R"({"status":"Pushing","progressDetail":{"current":1996800,"total":1982284},"progress":"[=====\u003e]  1.997MB","id":"e6b75343b6af"})",
            R"({"status":"Pushed","progressDetail":{},"id":"e6b75343b6af"})",
            R"({"status":"Pushed","progressDetail":{},"id":"7214c509e0b9"})",
        })
        p.on_line(line);
    p.on_line(R"({"status":"3ff1493b932f: digest: )" + digest_overlay2 + R"( size: 737"})");
    p.on_line(R"({"progressDetail":{},"aux":{"Tag":"3ff1493b932f","Digest":")" + digest_overlay2 +
              R"(","Size":737}})");
    CHECK(p.succeeded());
    CHECK(p.digest() == digest_overlay2);
    CHECK(p.malformed_lines() == 0);
}

TEST_CASE("docker 28: push stream with the containerd store (no aux line, digest in the status)")
{
    domain::push_stream_parser p("403fede18f10");
    p.on_line(R"({"status":"The push refers to repository [127.0.0.1:44302/testimg_1.0]"})");
    p.on_line(R"({"status":"Pushed","progressDetail":{},"id":"843541effd4b"})");
    p.on_line(R"({"status":"Pushed","progressDetail":{},"id":"d1574f9170fc"})");
    CHECK_FALSE(p.succeeded());
    p.on_line(R"({"status":"403fede18f10: digest: )" + digest_containerd + R"( size: 746"})");
    CHECK(p.succeeded());
    CHECK(p.digest() == digest_containerd);
}

TEST_CASE("docker 28: push streams of a registry that is down, with each store")
{
    SUBCASE("overlay2")
    {
        domain::push_stream_parser p("3ff1493b932f");
        p.on_line(R"({"status":"The push refers to repository [127.0.0.1:46851/testimg_1.0]"})");
        p.on_line(
            R"({"errorDetail":{"message":"Get \"http://127.0.0.1:46851/v2/\": dial tcp 127.0.0.1:46851: connect: connection refused"},)"
            R"("error":"Get \"http://127.0.0.1:46851/v2/\": dial tcp 127.0.0.1:46851: connect: connection refused"})");
        CHECK(p.failed());
        CHECK_FALSE(p.succeeded());
        CHECK(p.error() ==
              "Get \"http://127.0.0.1:46851/v2/\": dial tcp 127.0.0.1:46851: connect: connection "
              "refused");
    }
    SUBCASE("containerd")
    {
        domain::push_stream_parser p("403fede18f10");
        p.on_line(R"({"status":"The push refers to repository [127.0.0.1:44302/testimg_1.0]"})");
        p.on_line(R"({"status":"Waiting","progressDetail":{},"id":"843541effd4b"})");
        p.on_line(R"({"status":"Waiting","progressDetail":{},"id":"d1574f9170fc"})");
        p.on_line(
            R"({"errorDetail":{"message":"failed to do request: Head \"https://127.0.0.1:44302/v2/testimg_1.0/blobs/sha256:d1574f9170fc568107c43ef2f584e2393a6d2a0b982a6b2459d267c448d3e30a\": dial tcp 127.0.0.1:44302: connect: connection refused"},)"
            R"("error":"failed to do request: Head \"https://127.0.0.1:44302/v2/testimg_1.0/blobs/sha256:d1574f9170fc568107c43ef2f584e2393a6d2a0b982a6b2459d267c448d3e30a\": dial tcp 127.0.0.1:44302: connect: connection refused"})");
        CHECK(p.failed());
        CHECK_FALSE(p.succeeded());
        CHECK(p.error().find("connection refused") != std::string::npos);
    }
}

TEST_CASE("docker 28: GET /distribution/{name}/json confirms the digest, OCI manifest and "
          "Platforms null included")
{
    CHECK(
        domain::distribution_digest(
            R"({"Descriptor":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
            R"("digest":")" +
            digest_overlay2 +
            R"(","size":737},"Platforms":[{"architecture":"amd64","os":"linux"}]})") ==
        digest_overlay2);
    CHECK(domain::distribution_digest(
              R"({"Descriptor":{"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
              R"("digest":")" +
              digest_containerd + R"(","size":746},"Platforms":null})") == digest_containerd);
}

TEST_CASE("docker 28: 404 bodies of a missing container and a missing image")
{
    CHECK(domain::daemon_message(R"({"message":"No such container: nosuchcontainer"})"
                                 "\n") == "No such container: nosuchcontainer");
    CHECK(domain::daemon_message(R"({"message":"No such image: nosuchimage:1"})"
                                 "\n") == "No such image: nosuchimage:1");
}

TEST_CASE("docker 28: a commit cut short by the Engine's restart is the Engine going away, not "
          "a refusal")
{
    // POST /commit while the private dockerd (containerd store) was stopped with SIGTERM.
    const std::string body =
        R"({"message":"failed to create image with name moby-dangling@sha256:51455b5975f9112f9a)"
        R"(399e17bc9500be402a55ed20dd944ddbaea403e5cd95b9 and target sha256:51455b5975f9112f9a39)"
        R"(9e17bc9500be402a55ed20dd944ddbaea403e5cd95b9: Canceled: grpc: the client connection )"
        R"(is closing: context canceled"})"
        "\n";
    const auto message = domain::daemon_message(body);
    CHECK(domain::engine_going_away(500, message));
    // The same words outside a server error, and server errors on a request's merits, are not.
    CHECK_FALSE(domain::engine_going_away(404, message));
    CHECK_FALSE(domain::engine_going_away(
        500,
        domain::daemon_message(
            R"({"message":"write /var/lib/docker/tmp: no space left on device"})")));
    CHECK_FALSE(domain::engine_going_away(
        500, domain::daemon_message(R"({"message":"No such container: 403fede18f10"})")));
    CHECK(domain::engine_going_away(
        503,
        "connection error: desc = \"transport: Error while dialing: dial unix "
        "/run/containerd/containerd.sock: connect: connection refused\""));
}
