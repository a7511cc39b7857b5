// SPDX-License-Identifier: MIT
#pragma once

#include "co/error.hpp"
#include "docker/api.hpp"
#include "log/log.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace core_interceptor::pipeline {

/// The label every commit carries with the id of the death it holds (the notification's `id`):
/// a try killed after its commit leaves an image a resumed try can find.
inline constexpr std::string_view death_label = "core_interceptor.death";

/// Before a death is committed: the images an earlier try committed for it (by death_label).
/// One tagged `reference` is reused: the result is true and no commit is needed. Every other
/// (untagged, or tagged otherwise) is removed, so that no image of the daemon's is left behind
/// when a try was killed between its commit and the deletion after the push. Fails only when
/// the Engine cannot list images; a removal that fails is logged.
boost::asio::awaitable<result<bool>> reuse_earlier_commit(docker::api& docker,
                                                          std::string death_id,
                                                          std::string reference,
                                                          std::vector<log::field> fields);

/// After the push and the deletion: removes every image of the death but one still tagged
/// `reference` (kept with --keep-image, or waiting for its push). A commit of a killed try
/// that the Engine finished after the resumed try had looked took the tag from it, leaving
/// the resumed try's image untagged: that one goes too. True when one tagged `reference` is
/// left; fails only when the Engine cannot list images.
boost::asio::awaitable<result<bool>> remove_extra_commits(docker::api& docker,
                                                          std::string death_id,
                                                          std::string reference,
                                                          std::vector<log::field> fields);

}  // namespace core_interceptor::pipeline
