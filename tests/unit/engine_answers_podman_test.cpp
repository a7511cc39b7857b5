// SPDX-License-Identifier: MIT
// Answers of Podman 4.3.1's Docker-compatible service (Debian 12's podman, `podman system
// service` as tests/support/podman_service starts it), recorded with curl over its socket, and
// the Docker answers they are told apart from (Debian 12's dockerd 20.10.24; the containerd
// image store's /info in the shape Docker 24+ gives it). Long answers are excerpts: the fields
// the parsers read and their neighbours, verbatim.
#include "domain/engine_answers.hpp"
#include "domain/event.hpp"
#include "domain/filter.hpp"
#include "domain/image_name.hpp"
#include "domain/push_stream.hpp"
#include "domain/rfc3339.hpp"

#include <boost/json/parse.hpp>

#include <doctest/doctest.h>

using namespace core_interceptor;
using domain::engine_family;

namespace {

// GET /version of Podman 4.3.1 (whole).
constexpr const char* podman_version =
    R"json({"Platform":{"Name":"linux/amd64/debian-12"},"Components":[{"Name":"Podman Engine","Version":"4.3.1","Details":{"APIVersion":"4.3.1","Arch":"amd64","BuildTime":"1970-01-01T00:00:00Z","Experimental":"false","GitCommit":"","GoVersion":"go1.19.8","KernelVersion":"6.18.44-fc-v669","MinAPIVersion":"4.0.0","Os":"linux"}},{"Name":"Conmon","Version":"conmon version 2.1.6, commit: unknown","Details":{"Package":"conmon_2.1.6+ds1-1_amd64"}},{"Name":"OCI Runtime (runc)","Version":"runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4","Details":{"Package":"runc_1.1.5+ds1-1+deb12u1_amd64"}}],"Version":"4.3.1","ApiVersion":"1.41","MinAPIVersion":"1.24","GitCommit":"","GoVersion":"go1.19.8","Os":"linux","Arch":"amd64","KernelVersion":"6.18.44-fc-v669","BuildTime":"1970-01-01T00:00:00Z"})json";

// GET /version of dockerd 20.10.24 (whole).
constexpr const char* docker_version =
    R"json({"Platform":{"Name":""},"Components":[{"Name":"Engine","Version":"20.10.24+dfsg1","Details":{"ApiVersion":"1.41","Arch":"amd64","BuildTime":"2026-05-07T21:09:36.000000000+00:00","Experimental":"false","GitCommit":"5d6db84","GoVersion":"go1.19.8","KernelVersion":"6.18.44-fc-v669","MinAPIVersion":"1.12","Os":"linux"}},{"Name":"containerd","Version":"1.6.20~ds1","Details":{"GitCommit":"1.6.20~ds1-1+deb12u3"}},{"Name":"runc","Version":"1.1.5+ds1","Details":{"GitCommit":"1.1.5+ds1-1+deb12u1"}},{"Name":"docker-init","Version":"0.19.0","Details":{"GitCommit":""}}],"Version":"20.10.24+dfsg1","ApiVersion":"1.41","MinAPIVersion":"1.12","GitCommit":"5d6db84","GoVersion":"go1.19.8","Os":"linux","Arch":"amd64","KernelVersion":"6.18.44-fc-v669","BuildTime":"2026-05-07T21:09:36.000000000+00:00"})json";

// GET /v1.41/info, excerpts.
constexpr const char* podman_info =
    R"json({"ID":"83da5369-4d3b-4b68-aa62-af44fac393b3","Containers":2,"ContainersRunning":0,"ContainersPaused":0,"ContainersStopped":2,"Images":2,"Driver":"overlay","DriverStatus":[["Backing Filesystem","extfs"],["Supports d_type","true"],["Native Overlay Diff","true"],["Using metacopy","false"]],"Plugins":{"Volume":["local"],"Network":["bridge","macvlan","ipvlan"],"Authorization":null,"Log":["k8s-file","none","passthrough","journald"]},"CgroupDriver":"cgroupfs","OperatingSystem":"debian","OSVersion":"12","ServerVersion":"4.3.1","BuildahVersion":"1.28.2","CgroupVersion":"1","Rootless":false})json";
constexpr const char* docker_info =
    R"json({"ID":"X3SR:LHXW:QLIL:GQNA:PZ4C:XJTG:7LC7:QPUC:5OA3:YJIS:FKZT:CHUN","Containers":0,"ContainersRunning":0,"ContainersPaused":0,"ContainersStopped":0,"Images":0,"Driver":"overlay2","DriverStatus":[["Backing Filesystem","extfs"],["Supports d_type","true"],["Native Overlay Diff","true"],["userxattr","false"]],"Plugins":{"Volume":["local"],"Network":["bridge","host","ipvlan","macvlan","null","overlay"],"Authorization":null},"CgroupDriver":"cgroupfs","OperatingSystem":"Debian GNU/Linux 12 (bookworm)","ServerVersion":"20.10.24+dfsg1"})json";
// Docker Engine 28.5.2 with `--feature containerd-snapshotter=true` (the default of new Engine 29
// installs), recorded (fields kept: those read): the snapshotter as Driver, and the driver type
// that says the images live in containerd.
constexpr const char* docker_containerd_info =
    R"json({"Containers":0,"Images":0,"Driver":"overlayfs","DriverStatus":[["driver-type","io.containerd.snapshotter.v1"]],"ServerVersion":"28.5.2+dfsg4"})json";

// GET /v1.41/events?filters={"type":["container"],"event":["die","died","destroy","remove"]}:
// a crash with a core, then a clean exit and `docker rm` of a labelled container.
constexpr const char* podman_die =
    R"json({"status":"die","id":"fc31ab05812c8d58a677eefa543c434b04923aa444598fb29526813eb1a5ba80","from":"docker.io/library/testimg:1.0","Type":"container","Action":"die","Actor":{"ID":"fc31ab05812c8d58a677eefa543c434b04923aa444598fb29526813eb1a5ba80","Attributes":{"containerExitCode":"139","exitCode":"139","image":"docker.io/library/testimg:1.0","name":"c4","podId":""}},"scope":"local","time":1796021875,"timeNano":1796021875143852510})json";
constexpr const char* podman_labelled_die =
    R"json({"status":"die","id":"1ad8aa35adc8438507311c327b22fb0cc0c0f37456e5b56d4898f897a1fcae7f","from":"docker.io/library/testimg:1.0","Type":"container","Action":"die","Actor":{"ID":"1ad8aa35adc8438507311c327b22fb0cc0c0f37456e5b56d4898f897a1fcae7f","Attributes":{"containerExitCode":"3","exitCode":"3","image":"docker.io/library/testimg:1.0","name":"relaxed_fermat","podId":"","team":"core"}},"scope":"local","time":1796022932,"timeNano":1796022932730639508})json";
constexpr const char* podman_remove =
    R"json({"status":"remove","id":"8b906f5a4dbc4941d426a2658b3412b6665c753ce5a5ee826fab5422c569ba7b","from":"docker.io/library/testimg:1.0","Type":"container","Action":"remove","Actor":{"ID":"8b906f5a4dbc4941d426a2658b3412b6665c753ce5a5ee826fab5422c569ba7b","Attributes":{"containerExitCode":"0","image":"docker.io/library/testimg:1.0","name":"focused_lumiere","podId":""}},"scope":"local","time":1796022946,"timeNano":1796022946765964430})json";

// GET /v1.41/containers/c4/json after the crash, excerpt. FinishedAt is before StartedAt:
// Podman's own timing, not an error of ours.
constexpr const char* podman_inspect =
    R"json({"Id":"fc31ab05812c8d58a677eefa543c434b04923aa444598fb29526813eb1a5ba80","Created":"2026-11-30T06:57:54.94392635Z","Path":"sh","State":{"Status":"exited","Running":false,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":0,"ExitCode":139,"Error":"","StartedAt":"2026-11-30T06:57:55.114694542Z","FinishedAt":"2026-11-30T06:57:55.110878966Z","Health":{"Status":"","FailingStreak":0,"Log":null}},"Image":"sha256:f7c649bf9809ad85d86f6ff187d7f4c8008cb7832332c343fb081b3d21394452","Name":"/c4","Driver":"overlay","HostConfig":{"NetworkMode":"none","RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":false,"Ulimits":[{"Name":"RLIMIT_NOFILE","Hard":1024,"Soft":1024},{"Name":"RLIMIT_CORE","Hard":-1,"Soft":-1},{"Name":"RLIMIT_NPROC","Hard":4096,"Soft":4096}]},"Config":{"Hostname":"fc31ab05812c","Cmd":["sh","-c","sh -c \"kill -SEGV \\$\\$\"; exit $?"],"Image":"docker.io/library/testimg:1.0","WorkingDir":"/tmp","Labels":{},"StopSignal":"15"}})json";

// GET /v1.41/images/json, the first image.
constexpr const char* podman_images =
    R"json([{"Id":"sha256:f7c649bf9809ad85d86f6ff187d7f4c8008cb7832332c343fb081b3d21394452","ParentId":"","RepoTags":["docker.io/library/testimg:1.0"],"RepoDigests":["docker.io/library/testimg@sha256:558e5814cfee12ad59809d7c92c06fd309127ca7edc930462afabad4c667ba6d"],"Created":1796021847,"Size":1997895,"SharedSize":0,"VirtualSize":1997895,"Labels":null,"Containers":2,"Names":["docker.io/library/testimg:1.0"],"Digest":"sha256:558e5814cfee12ad59809d7c92c06fd309127ca7edc930462afabad4c667ba6d","History":["docker.io/library/testimg:1.0"]}])json";

}  // namespace

TEST_CASE("Podman answers: /version names the Podman Engine; dockerd's names none")
{
    auto p = domain::parse_engine_version(podman_version);
    REQUIRE(p.has_value());
    CHECK(p->family == engine_family::podman);
    CHECK(p->name() == "Podman Engine");
    CHECK(p->version == "4.3.1");
    CHECK(p->api == domain::api_version{1, 41});
    REQUIRE(p->min_api);
    CHECK(*p->min_api == domain::api_version{1, 24});

    auto d = domain::parse_engine_version(docker_version);
    REQUIRE(d.has_value());
    CHECK(d->family == engine_family::docker);
    CHECK(d->name() == "Docker Engine");
    CHECK(d->version == "20.10.24+dfsg1");
}

TEST_CASE("Podman answers: /info gives the image store: overlay, overlay2, or containerd")
{
    CHECK(domain::parse_image_store(podman_info).value() == "overlay");
    CHECK(domain::parse_image_store(docker_info).value() == "overlay2");
    CHECK(domain::parse_image_store(docker_containerd_info).value() == "containerd");
    CHECK_FALSE(domain::parse_image_store(R"json({"Containers":0})json").has_value());
    CHECK_FALSE(domain::parse_image_store("[]").has_value());
}

TEST_CASE("Podman answers: die and remove events; the image is named in its familiar form")
{
    auto die = domain::parse_event_line(podman_die);
    REQUIRE(die.has_value());
    CHECK(die->kind == domain::event_kind::die);
    CHECK(die->event.id == "fc31ab05812c8d58a677eefa543c434b04923aa444598fb29526813eb1a5ba80");
    CHECK(die->event.name == "c4");
    CHECK(die->event.time_nano == 1796021875143852510);
    CHECK(domain::image_name(die->event.image) == "testimg_1.0");

    auto labelled = domain::parse_event_line(podman_labelled_die);
    REQUIRE(labelled.has_value());
    const auto& attrs = labelled->event.attributes;
    CHECK(std::find(attrs.begin(),
                    attrs.end(),
                    std::pair<std::string, std::string>{"team", "core"}) != attrs.end());

    // Podman's destroy: "remove", asked for by the filter as well.
    auto removed = domain::parse_event_line(podman_remove);
    REQUIRE(removed.has_value());
    CHECK(removed->kind == domain::event_kind::destroy);
    const auto filter = boost::json::parse(domain::die_filter());
    const auto& events = filter.at("event").as_array();
    CHECK(std::find(events.begin(), events.end(), boost::json::value("remove")) != events.end());
    CHECK(std::find(events.begin(), events.end(), boost::json::value("died")) != events.end());
}

TEST_CASE("Podman answers: container inspect and the image list")
{
    auto info = domain::parse_inspect(podman_inspect);
    REQUIRE(info.has_value());
    CHECK(info->name == "c4");
    CHECK(info->status == "exited");
    CHECK(info->exit_code == 139);
    CHECK(info->image == "docker.io/library/testimg:1.0");
    CHECK(domain::image_name(info->image, info->image_id) == "testimg_1.0");
    CHECK(info->finished_nano == domain::parse_rfc3339_nano("2026-11-30T06:57:55.110878966Z"));
    CHECK(info->labels.empty());

    auto images = domain::parse_image_list(podman_images);
    REQUIRE(images.has_value());
    REQUIRE(images->size() == 1);
    CHECK(images->front().repo_tags == std::vector<std::string>{"docker.io/library/testimg:1.0"});
}

TEST_CASE("Podman answers: a push stream without aux: the digest comes from the status line")
{
    domain::push_stream_parser ok("abc");
    ok.on_line(
        R"json({"status":"The push refers to repository [127.0.0.1:5917/testimg_1.0:abc]"})json");
    ok.on_line(
        R"json({"status":"abc: digest: sha256:3af343e6b1fb22d4a4a0e16ae8e860972988e82325fab5f590979db8decf81c7 size: 581"})json");
    CHECK(ok.succeeded());
    CHECK(ok.digest() == "sha256:3af343e6b1fb22d4a4a0e16ae8e860972988e82325fab5f590979db8decf81c7");

    // The registry stopped: Podman retries three times itself, then one error line.
    domain::push_stream_parser down("abc");
    down.on_line(
        R"json({"status":"The push refers to repository [127.0.0.1:5917/testimg_1.0:abc]"})json");
    down.on_line(
        R"json({"errorDetail":{"message":"trying to reuse blob sha256:ecda40d82e63a839a0740a8838317a033437fd1ce54778ccd86669f8433b1cdc at destination: pinging container registry 127.0.0.1:5917: Get \"http://127.0.0.1:5917/v2/\": dial tcp 127.0.0.1:5917: connect: connection refused"},"error":"trying to reuse blob sha256:ecda40d82e63a839a0740a8838317a033437fd1ce54778ccd86669f8433b1cdc at destination: pinging container registry 127.0.0.1:5917: Get \"http://127.0.0.1:5917/v2/\": dial tcp 127.0.0.1:5917: connect: connection refused"})json");
    CHECK(down.failed());
    CHECK_FALSE(down.succeeded());
    CHECK(down.error().find("connection refused") != std::string::npos);
}

TEST_CASE("Podman answers: error bodies carry a message, as Docker's do")
{
    CHECK(
        domain::daemon_message(
            R"json({"cause":"no such container","message":"no container with name or ID \"nope\" found: no such container","response":404})json") ==
        "no container with name or ID \"nope\" found: no such container");
    CHECK(
        domain::daemon_message(
            R"json({"cause":"image not known","message":"failed to find image nope:1: docker.io/library/nope:1: image not known","response":404})json") ==
        "failed to find image nope:1: docker.io/library/nope:1: image not known");
    // GET /distribution/{name}/json is not served: a plain-text 404.
    CHECK(domain::daemon_message("Not Found\n") == "Not Found");
}

TEST_CASE("Podman answers: the exited containers are asked for with states the Engine knows")
{
    // Podman 4.3 to {"status":["exited","dead"]}: HTTP 500.
    CHECK(
        domain::daemon_message(
            R"json({"cause":"invalid argument","message":"unknown container state: dead: invalid argument","response":500})json") ==
        "unknown container state: dead: invalid argument");
    const auto podman = boost::json::parse(domain::exited_filter(engine_family::podman));
    CHECK(podman == boost::json::parse(R"json({"status":["exited","stopped"]})json"));
    // dockerd 20.10 to "stopped": {"message":"Invalid filter 'status=stopped'"} (HTTP 400).
    const auto docker = boost::json::parse(domain::exited_filter(engine_family::docker));
    CHECK(docker == boost::json::parse(R"json({"status":["exited","dead"]})json"));
}

TEST_CASE("Podman answers: an archive asked for right after a death is asked again later")
{
    // The dead process's mount namespace is gone (HTTP 500), or the file system was unmounted
    // under the copy (HTTP 200, the stat header, no byte of body).
    CHECK(domain::archive_answer_premature(
        500, "open /proc/1285/ns/mnt: no such file or directory", 0));
    CHECK(domain::archive_answer_premature(200, "", 0));
    CHECK_FALSE(domain::archive_answer_premature(200, "", 1536));
    CHECK_FALSE(domain::archive_answer_premature(
        404, "Could not find the file /tmp/core in container x", 0));
    CHECK_FALSE(domain::archive_answer_premature(500, "open /tmp/core: permission denied", 0));
}

TEST_CASE("Podman answers: commit labels also go as LABEL changes when both Engines read them "
          "alike")
{
    // Podman 4.3 ignores the body's Labels; `changes=LABEL core_interceptor.container="x y"
    // other=z` gave the label the value `"x y" other=z` (verbatim), where dockerd would parse it.
    const std::vector<std::pair<std::string, std::string>> labels{
        {"core_interceptor.death",
         "fc31ab05812c8d58a677eefa543c434b04923aa444598fb29526813eb1a5ba80-1796021875143852510"},
        {"core_interceptor.container.image", "docker.io/library/testimg:1.0"},
        {"core_interceptor.container.name", "my app"},
        {"core_interceptor.dumps", "/tmp/core \"quoted\""},
        {"", "x"},
    };
    CHECK(
        domain::commit_label_changes(labels) ==
        std::vector<std::string>{
            "LABEL core_interceptor.death="
            "fc31ab05812c8d58a677eefa543c434b04923aa444598fb29526813eb1a5ba80-1796021875143852510",
            "LABEL core_interceptor.container.image=docker.io/library/testimg:1.0"});
}

TEST_CASE("Podman answers: a death has one name, whether found by its event or by the catch-up")
{
    // The die event above was written about half a second after the FinishedAt of the same
    // death (recorded on another container: FinishedAt 07:28:34.498944747, "died" at
    // 07:28:34.974112083); the catch-up knows only FinishedAt.
    const std::string id = "2d6ebd372649b030b3c0ef38b89d5f30dff137a88f62037f4dd219877b4d998a";
    const auto finished = domain::parse_rfc3339_nano("2026-11-30T07:28:34.498944747Z");
    const auto event = domain::parse_rfc3339_nano("2026-11-30T07:28:34.974112083Z");
    CHECK(domain::death_id(id, finished, event) == domain::death_id(id, finished, finished));
    CHECK(domain::death_id(id, finished, event) == id + "-" + std::to_string(finished));
    // No FinishedAt from the Engine: the event's time.
    CHECK(domain::death_id(id, 0, event) == id + "-" + std::to_string(event));
}

TEST_CASE("Podman answers: --include-image globs match the image as the docker CLI names it")
{
    CHECK(domain::familiar_reference("docker.io/library/testimg:1.0") == "testimg:1.0");
    CHECK(domain::familiar_reference("docker.io/acme/app:2") == "acme/app:2");
    CHECK(domain::familiar_reference("testimg:1.0") == "testimg:1.0");
    CHECK(domain::familiar_reference("reg.example.com/library/app:1") ==
          "reg.example.com/library/app:1");
    CHECK(domain::familiar_reference("docker.io/library/") == "library/");

    auto die = domain::parse_event_line(podman_die);
    REQUIRE(die.has_value());
    domain::container_filter f;
    f.include_images = {"testimg:*"};
    CHECK(domain::accepts(f, die->event));
    f.include_images = {"docker.io/library/testimg:*"};
    CHECK(domain::accepts(f, die->event));
    f.include_images = {"otherimg:*"};
    CHECK_FALSE(domain::accepts(f, die->event));
}
