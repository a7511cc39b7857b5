// SPDX-License-Identifier: MIT
// A try killed between its commit and the deletion after the push: the resumed try finds the
// image by the death's label, reuses it or removes it. And the Engine's answers that say so.
#include "docker/client.hpp"
#include "domain/push_stream.hpp"
#include "pipeline/earlier_commit.hpp"
#include "run_coro.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace core_interceptor;
namespace asio = boost::asio;

namespace {

/// An Engine holding a few images of one death; lists them by label and removes them.
class images_engine final : public docker::api {
public:
    std::map<std::string, docker::image_summary> images;  // by id
    std::vector<std::string> removed;
    std::string listed_label;

    asio::awaitable<result<docker::changes>>
    dump_candidates(std::string_view, const std::vector<std::string>&) override
    {
        co_return docker::changes{};
    }
    asio::awaitable<result<domain::path_stat>> stat_path(std::string_view,
                                                         std::string_view) override
    {
        co_return failure(errc::not_found);
    }
    asio::awaitable<result<docker::file_prefix>>
    read_prefix(std::string_view, std::string_view, std::size_t) override
    {
        co_return failure(errc::not_found);
    }
    asio::awaitable<result<domain::container_info>> inspect(std::string_view) override
    {
        co_return failure(errc::not_found);
    }
    asio::awaitable<result<std::string>> commit(const docker::commit_request&) override
    {
        co_return std::string("x");
    }
    asio::awaitable<result<std::string>>
    push(std::string_view, std::string_view, std::string_view) override
    {
        co_return std::string("sha256:0");
    }
    asio::awaitable<result<void>> remove_image(std::string_view ref) override
    {
        removed.emplace_back(ref);
        images.erase(std::string(ref));
        co_return result<void>{};
    }
    asio::awaitable<result<std::vector<docker::image_summary>>>
    images_labelled(std::string_view label) override
    {
        listed_label = label;
        std::vector<docker::image_summary> out;
        for (const auto& [id, s] : images)
            out.push_back(s);
        co_return out;
    }
};

const std::string death = "abc123-1700000000000000000";
const std::string reference = "127.0.0.1:5000/app_1:abc123abc123";

}  // namespace

TEST_CASE("earlier commit: the image tagged with the reference is reused, the others removed")
{
    images_engine engine;
    engine.images["sha256:untagged"] = {"sha256:untagged", {}};
    engine.images["sha256:tagged"] = {"sha256:tagged", {reference}};
    engine.images["sha256:other"] = {"sha256:other", {"127.0.0.1:5000/app_1:elsewhere"}};
    auto r = test::run_coro(pipeline::reuse_earlier_commit(engine, death, reference, {}));
    REQUIRE(r.has_value());
    CHECK(*r);
    CHECK(engine.listed_label == "core_interceptor.death=" + death);
    CHECK(engine.removed == std::vector<std::string>{"sha256:other", "sha256:untagged"});
    CHECK(engine.images.count("sha256:tagged") == 1);
}

TEST_CASE("earlier commit: none, or only untagged ones (removed): a new commit is needed")
{
    images_engine none;
    auto r = test::run_coro(pipeline::reuse_earlier_commit(none, death, reference, {}));
    REQUIRE(r.has_value());
    CHECK_FALSE(*r);
    CHECK(none.removed.empty());

    images_engine untagged;
    untagged.images["sha256:lost-its-tag"] = {"sha256:lost-its-tag", {}};
    auto u = test::run_coro(pipeline::reuse_earlier_commit(untagged, death, reference, {}));
    REQUIRE(u.has_value());
    CHECK_FALSE(*u);
    CHECK(untagged.removed == std::vector<std::string>{"sha256:lost-its-tag"});
}

TEST_CASE("docker images: the image list keeps ids and real tags")
{
    auto l = docker::parse_image_list(
        R"([{"Id":"sha256:a","RepoTags":["r/app:1","r/app:2"]},{"Id":"sha256:b","RepoTags":["<none>:<none>"]},)"
        R"({"Id":"sha256:c","RepoTags":null}])");
    REQUIRE(l.has_value());
    REQUIRE(l->size() == 3);
    CHECK((*l)[0].repo_tags == std::vector<std::string>{"r/app:1", "r/app:2"});
    CHECK((*l)[1].repo_tags.empty());
    CHECK((*l)[2].id == "sha256:c");
    CHECK_FALSE(docker::parse_image_list("{}").has_value());
    CHECK_FALSE(docker::parse_image_list(R"([{"RepoTags":[]}])").has_value());
}

TEST_CASE("push confirmation: the digest of GET /distribution/{name}/json")
{
    const std::string digest = "sha256:" + std::string(64, 'a');
    CHECK(domain::distribution_digest(R"({"Descriptor":{"mediaType":"m","digest":")" + digest +
                                      R"(","size":528},"Platforms":[]})") == digest);
    CHECK(domain::distribution_digest(R"({"Descriptor":{"digest":"sha256:short"}})").empty());
    CHECK(domain::distribution_digest(R"({"message":"manifest unknown"})").empty());
    CHECK(domain::distribution_digest("not json").empty());
    CHECK(domain::distribution_digest(R"({"Descriptor":{"digest":7}})").empty());
}

TEST_CASE("earlier commit: after the push, every image of the death but a kept one is removed")
{
    images_engine deleted;  // the reference was deleted after the push; a late commit is left
    deleted.images["sha256:late"] = {"sha256:late", {}};
    auto d = test::run_coro(pipeline::remove_extra_commits(deleted, death, reference, {}));
    REQUIRE(d.has_value());
    CHECK_FALSE(*d);
    CHECK(deleted.images.empty());

    images_engine kept;  // --keep-image or a pending push: the tagged one stays
    kept.images["sha256:tagged"] = {"sha256:tagged", {reference}};
    kept.images["sha256:late"] = {"sha256:late", {}};
    auto k = test::run_coro(pipeline::remove_extra_commits(kept, death, reference, {}));
    REQUIRE(k.has_value());
    CHECK(*k);
    CHECK(kept.removed == std::vector<std::string>{"sha256:late"});
}
