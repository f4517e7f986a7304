// Renders a `status` reply as a readable table for people.
// Thread safety: functions only.
#pragma once

#include <string>

#include <msgpack.hpp>

namespace zfleet::cli {

std::string status_table(const msgpack::object& status);

}  // namespace zfleet::cli
