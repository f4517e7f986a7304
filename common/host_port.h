// split_host_port: "HOST:PORT" as broker.metrics takes it ("[::1]:9105" for
// IPv6), checked by the config loader and used by the metrics server.
// Thread safety: a pure function.
#pragma once

#include <string>

namespace zfleet::common {

// False (outputs unspecified) unless `address` is HOST:PORT with a port in
// 1..65535.
bool split_host_port(const std::string& address, std::string& host, int& port);

}  // namespace zfleet::common
