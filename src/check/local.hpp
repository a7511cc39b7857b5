// SPDX-License-Identifier: MIT
#pragma once

#include <string>

namespace core_interceptor::check::detail {

/// The name of the user running --check ("uid N" when it has none): the failure messages say
/// who cannot use a socket or a directory.
std::string user_name();

}  // namespace core_interceptor::check::detail
