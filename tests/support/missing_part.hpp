// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>

namespace core_interceptor::test_support {

/// A prerequisite of a test is absent (a program, root, a kernel setting): tests skip on it,
/// or fail when the environment requires every part.
class missing_part : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace core_interceptor::test_support
