// SPDX-License-Identifier: MIT
// Boost.JSON compiled into the fuzz targets instead of linking libboost_json: built with the
// sanitizers and coverage, so the fuzzer sees how far into the JSON parser an input gets and
// ASan checks the parser's buffers along with ours.
#include <boost/json/src.hpp>
