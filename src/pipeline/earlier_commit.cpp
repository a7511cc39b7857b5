// SPDX-License-Identifier: MIT
#include "pipeline/earlier_commit.hpp"

#include <algorithm>

namespace core_interceptor::pipeline {

boost::asio::awaitable<result<bool>> remove_extra_commits(docker::api& docker,
                                                          std::string death_id,
                                                          std::string reference,
                                                          std::vector<log::field> fields)
{
    auto images = co_await docker.images_labelled(std::string(death_label) + "=" + death_id);
    if (!images)
        co_return images.error();
    bool kept = false;
    for (const auto& image : *images) {
        const auto& tags = image.repo_tags;
        if (!kept && std::find(tags.begin(), tags.end(), reference) != tags.end()) {
            kept = true;
            continue;
        }
        // A commit of this death that lost its tag to another commit, or a second copy.
        auto rm = co_await docker.remove_image(image.id);
        if (rm)
            log::info(fields) << "removed image " << image.id
                              << ", an earlier commit of this death";
        else if (rm.error().code != errc::not_found)
            log::warning(fields) << "cannot remove image " << image.id
                                 << ", an earlier commit of this death: " << rm.error().describe();
    }
    co_return kept;
}

boost::asio::awaitable<result<bool>> reuse_earlier_commit(docker::api& docker,
                                                          std::string death_id,
                                                          std::string reference,
                                                          std::vector<log::field> fields)
{
    auto kept = co_await remove_extra_commits(docker, death_id, reference, fields);
    if (kept && *kept)
        log::info(fields) << "an earlier try already committed this death as " << reference
                          << ": reusing it";
    co_return kept;
}

}  // namespace core_interceptor::pipeline
