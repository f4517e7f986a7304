// split_host_port: "HOST:PORT" as broker.metrics takes it ("[::1]:9105" for
// IPv6), checked by the config loader and used by the metrics server; and
// this machine's host name, as workers report it (WorkerInfo::host) and the
// broker matches its local workers by it.
// Thread safety: functions only.
#pragma once

#include <string>

namespace zfleet::common {

// False (outputs unspecified) unless `address` is HOST:PORT with a port in
// 1..65535.
bool split_host_port(const std::string& address, std::string& host, int& port);

// gethostname(), "" when it fails.
std::string this_host_name();

}  // namespace zfleet::common
