// msgpack bytes for the unit tests, in one place (the unit tests are one
// binary built in batches, so each helper exists once):
//   packed(value): a C++ value as msgpack-c packs it;
//   mp(fill):      what a MsgpackWriter writes when `fill` drives it.
#pragma once

#include <functional>
#include <string>

#include <msgpack.hpp>

#include "common/msgpack_writer.h"

namespace zfleet::testing {

template <class T>
std::string packed(const T& value) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, value);
  return std::string(buf.data(), buf.size());
}

using Fill = std::function<void(common::MsgpackWriter&)>;

inline std::string mp(const Fill& fill) {
  std::string out;
  common::MsgpackWriter w(out);
  fill(w);
  return out;
}

}  // namespace zfleet::testing
