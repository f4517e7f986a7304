// Unit tests of the msgpack <-> Python conversion (worker/exec/py_msgpack.h)
// in a real embedded interpreter: round trips of every type, the range and
// type errors (naming the Python type), the depth limit and hostile bytes.

#include <doctest/doctest.h>
#include <pybind11/embed.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <msgpack.hpp>

#include "worker/exec/gil.h"
#include "worker/exec/py_msgpack.h"
#include "worker/exec/python_runtime.h"
#include "tests/unit/python_test_support.h"

namespace py = pybind11;
using namespace zfleet::worker;

namespace {

using testing::packed;
using testing::runtime;

// Evaluates a Python expression (GIL held by the caller).
py::object eval(const char* expr) { return py::eval(expr); }

// Python -> msgpack; returns the error ("" on success) and the bytes.
std::pair<std::string, std::string> to_mp(const py::object& obj) {
  std::string out;
  std::string err = python_to_msgpack(obj.ptr(), out);
  return {err, out};
}

// msgpack -> Python -> msgpack must give back the same bytes (for canonical
// input), and the Python value must equal `expected` (a Python expression).
void round_trip(const std::string& bytes, const char* expected) {
  CAPTURE(expected);
  PyDecoded decoded = msgpack_to_python(bytes);
  REQUIRE(decoded.ok());
  py::object want = eval(expected);
  CHECK(decoded.value.get_type().is(want.get_type()));
  CHECK(decoded.value.equal(want));
  auto [err, back] = to_mp(decoded.value);
  CHECK(err.empty());
  CHECK(back == bytes);
}

std::string nested_lists(int depth) {
  std::string bytes(static_cast<std::size_t>(depth), '\x91');
  return bytes + '\x00';
}

}  // namespace

TEST_SUITE("py_msgpack") {
  TEST_CASE("scalars round trip") {
    runtime();
    GilAcquire gil;
    round_trip("\xc0", "None");
    round_trip("\xc3", "True");
    round_trip("\xc2", "False");
    round_trip(packed(0), "0");
    round_trip(packed(-1), "-1");
    round_trip(packed(300), "300");
    round_trip(packed(UINT64_MAX), "2**64 - 1");
    round_trip(packed(INT64_MIN), "-2**63");
    round_trip(packed(1.5), "1.5");
    round_trip(packed(std::string("h\xc3\xa9llo")), "'h\\u00e9llo'");
    round_trip(packed(std::string("")), "''");
    round_trip(packed(std::vector<char>{'a', '\0', 'b'}), "b'a\\x00b'");
  }

  TEST_CASE("containers round trip, nested") {
    runtime();
    GilAcquire gil;
    round_trip(packed(std::make_tuple(1, std::make_tuple(2, std::make_tuple(3)), "x")),
               "[1, [2, [3]], 'x']");
    std::map<std::string, std::map<std::string, std::vector<int>>> m{{"a", {{"b", {1, 2}}}}};
    round_trip(packed(m), "{'a': {'b': [1, 2]}}");
    round_trip("\x90", "[]");
    round_trip("\x80", "{}");
  }

  TEST_CASE("bool is not int, and tuple/bytearray/memoryview encode") {
    runtime();
    GilAcquire gil;
    CHECK(to_mp(eval("True")).second == "\xc3");
    CHECK(to_mp(eval("1")).second == "\x01");
    CHECK(to_mp(eval("(1, 'a')")).second == to_mp(eval("[1, 'a']")).second);
    const std::string bin = packed(std::vector<char>{'x', 'y'});
    CHECK(to_mp(eval("bytearray(b'xy')")).second == bin);
    CHECK(to_mp(eval("memoryview(b'xy')")).second == bin);
    // A whole-valued float stays a float64 (0xcb), never an int.
    CHECK(to_mp(eval("2.0")).second == std::string("\xcb\x40\x00\x00\x00\x00\x00\x00\x00", 9));
  }

  TEST_CASE("ints outside [-2^63, 2^64-1] are refused") {
    runtime();
    GilAcquire gil;
    CHECK(to_mp(eval("2**64 - 1")).first.empty());
    CHECK(to_mp(eval("-2**63")).first.empty());
    for (const char* big : {"2**64", "-2**63 - 1", "10**40"}) {
      CAPTURE(big);
      auto [err, bytes] = to_mp(eval(big));
      CHECK(err.find("'int'") != std::string::npos);
      CHECK(err.find("range") != std::string::npos);
    }
  }

  TEST_CASE("unserializable values name their type") {
    runtime();
    GilAcquire gil;
    CHECK(to_mp(eval("{1: 2}")).first.find("'int'") != std::string::npos);
    CHECK(to_mp(eval("{'ok': {(1, 2): 'x'}}")).first.find("'tuple'") != std::string::npos);
    CHECK(to_mp(eval("object()")).first.find("'object'") != std::string::npos);
    CHECK(to_mp(eval("[1, {2, 3}]")).first.find("'set'") != std::string::npos);
    py::exec("class Custom:\n    pass\n");
    CHECK(to_mp(eval("Custom()")).first.find("'Custom'") != std::string::npos);
    CHECK(to_mp(eval("1j")).first.find("'complex'") != std::string::npos);
    CHECK_FALSE(to_mp(eval("'\\ud800'")).first.empty());  // lone surrogate: not UTF-8
  }

  TEST_CASE("depth is limited both ways") {
    runtime();
    GilAcquire gil;
    CHECK(msgpack_to_python(nested_lists(64)).ok());
    CHECK_FALSE(msgpack_to_python(nested_lists(65)).ok());
    py::object deep = eval("[0]");
    for (int i = 1; i < 64; ++i) deep = py::list(py::make_tuple(deep));
    CHECK(to_mp(deep).first.empty());
    deep = py::list(py::make_tuple(deep));
    CHECK(to_mp(deep).first.find("deeper") != std::string::npos);
    py::exec("loop = []\nloop.append(loop)\n");
    CHECK_FALSE(to_mp(eval("loop")).first.empty());
  }

  TEST_CASE("map keys: scalars accepted, containers refused") {
    runtime();
    GilAcquire gil;
    std::map<int, std::string> int_keys{{1, "a"}, {2, "b"}};
    PyDecoded d = msgpack_to_python(packed(int_keys));
    REQUIRE(d.ok());
    CHECK(d.value.equal(eval("{1: 'a', 2: 'b'}")));
    // {[1]: 2}
    d = msgpack_to_python("\x81\x91\x01\x02");
    CHECK(d.error.find("array") != std::string::npos);
    // {{}: 2}
    d = msgpack_to_python("\x81\x80\x02");
    CHECK(d.error.find("map") != std::string::npos);
  }

  TEST_CASE("hostile and invalid bytes are refused with a reason") {
    runtime();
    GilAcquire gil;
    const std::vector<std::string> bad = {
        "",
        "\xc1",                                   // never used
        "\x92\x01",                               // truncated
        "\x01\x02",                               // trailing byte
        std::string("\xdd\xff\xff\xff\xff", 5),   // array32 claiming 4G elements
        std::string("\xdf\xff\xff\xff\xff", 5),   // map32 claiming 4G pairs
        std::string("\x91\xdd\x00\x01\x00\x00", 6),  // nested claim larger than the input
        std::string("\xd4\x01\x00", 3),           // fixext1
        "\xa2\xff\xfe",                           // str with invalid UTF-8
    };
    for (const auto& bytes : bad) {
      CAPTURE(bytes.size());
      PyDecoded d = msgpack_to_python(bytes);
      CHECK_FALSE(d.ok());
      CHECK_FALSE(d.error.empty());
      CHECK_FALSE(d.value);
      CHECK_FALSE(PyErr_Occurred());
    }
  }

  TEST_CASE("args and kwargs") {
    runtime();
    GilAcquire gil;
    PyDecoded args = decode_args(packed(std::make_tuple(1, "two")));
    REQUIRE(args.ok());
    CHECK(args.value.equal(eval("(1, 'two')")));
    CHECK(decode_args("").value.equal(eval("()")));
    CHECK(decode_args("\xc0").value.equal(eval("()")));
    CHECK(decode_args(packed(5)).error.find("array") != std::string::npos);
    CHECK_FALSE(decode_args("\xc1").ok());

    std::map<std::string, int> kw{{"a", 1}};
    PyDecoded kwargs = decode_kwargs(packed(kw));
    REQUIRE(kwargs.ok());
    CHECK(kwargs.value.equal(eval("{'a': 1}")));
    CHECK_FALSE(decode_kwargs("").value);
    CHECK(decode_kwargs(packed(std::make_tuple(1))).error.find("map") != std::string::npos);
    CHECK(decode_kwargs(packed(std::map<int, int>{{1, 2}})).error.find("str") != std::string::npos);
  }

  TEST_CASE("mutated and truncated input never crashes and always gives a value or a reason") {
    runtime();
    GilAcquire gil;
    std::map<std::string, std::vector<std::string>> m{{"key", {"a", "bc"}}, {"k2", {}}};
    const std::string valid =
        packed(std::make_tuple(1, -70000, 1.25, "str", m, std::vector<char>{'x', 'y'}, true,
                           std::make_tuple(std::make_tuple(UINT64_MAX))));
    std::mt19937 rng(12345);
    int decoded = 0;
    int refused = 0;
    for (int i = 0; i < 20000; ++i) {
      std::string bytes = valid;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      if (i % 4 == 0) bytes.resize(rng() % bytes.size());
      PyDecoded d = msgpack_to_python(bytes);
      if (d.ok()) {
        ++decoded;
        REQUIRE(d.value);
        std::string back;
        python_to_msgpack(d.value.ptr(), back);  // may refuse (e.g. int keys), never crashes
      } else {
        ++refused;
        REQUIRE_FALSE(d.value);
      }
      REQUIRE_FALSE(PyErr_Occurred());
    }
    CHECK(decoded > 0);
    CHECK(refused > 0);
  }
}
