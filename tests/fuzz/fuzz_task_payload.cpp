// The worker-bound task payload, as the worker reads it from a TASK frame
// (common::decode_task_payload: msgpack [script, func, bin args, bin kwargs]).
// The args and kwargs it yields are msgpack again, which the worker decodes
// next: they go through decode_msgpack too.
//
// Property: an accepted payload, encoded again (encode_task_payload),
// decodes to the same four fields.
#include "common/codec.h"
#include "tests/fuzz/fuzz_support.h"

using namespace zfleet::common;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  msgpack::object_handle keep;
  auto p = decode_task_payload(zfleet::fuzz::as_view(data, size), keep);
  if (!p) return 0;
  if (!p->args_msgpack.empty()) (void)decode_msgpack(p->args_msgpack);
  if (!p->kwargs_msgpack.empty()) (void)decode_msgpack(p->kwargs_msgpack);

  std::string again = encode_task_payload(p->script, p->func, p->args_msgpack, p->kwargs_msgpack);
  msgpack::object_handle keep2;
  auto p2 = decode_task_payload(again, keep2);
  FUZZ_CHECK(p2.has_value());
  FUZZ_CHECK(p2->script == p->script);
  FUZZ_CHECK(p2->func == p->func);
  FUZZ_CHECK(p2->args_msgpack == p->args_msgpack);
  FUZZ_CHECK(p2->kwargs_msgpack == p->kwargs_msgpack);
  return 0;
}
