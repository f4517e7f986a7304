// Unit tests of the CLI's JSON <-> msgpack mapping (tools/cli/json_value,
// tools/cli/base64): the one rule of docs/cli.md ("base64:" strings are
// bin), what msgpack cannot carry (big integers, non-finite numbers), how
// errors name their position, and that everything printed is valid JSON.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "tests/unit/msgpack_test_support.h"
#include "common/msgpack_io.h"
#include "common/msgpack_writer.h"
#include "tools/cli/base64.h"
#include "tools/cli/json_value.h"

using namespace zfleet;
using zfleet::cli::Json;

namespace {

// msgpack bytes -> JSON text, as the CLI prints a reply (compact).
std::string printed(const std::string& msgpack_bytes) {
  auto obj = common::decode_msgpack(msgpack_bytes);
  REQUIRE(obj.has_value());
  return cli::to_json(obj->get());
}

std::string json_packed(std::string_view json) {
  auto r = cli::json_to_msgpack(json);
  REQUIRE_MESSAGE(r.has_value(), r.error());
  return *r;
}

std::string json_refused(std::string_view json) {
  auto r = cli::json_to_msgpack(json);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

using zfleet::testing::mp;

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("cli_json") {
  TEST_CASE("base64: RFC 4648 vectors both ways, and only the canonical form decodes") {
    const std::pair<std::string, std::string> vectors[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}, {std::string("\0\xff\x10", 3), "AP8Q"}};
    for (const auto& [raw, text] : vectors) {
      CHECK(cli::base64_encode(raw) == text);
      auto back = cli::base64_decode(text);
      REQUIRE(back.has_value());
      CHECK(*back == raw);
    }
    std::string all;
    for (int i = 0; i < 256; ++i) all += char(i);
    CHECK(cli::base64_decode(cli::base64_encode(all)).value() == all);
    CHECK(cli::base64_decode("Zg=").error().find("multiple of 4") != std::string::npos);
    CHECK(cli::base64_decode("Zh==").error().find("unused bits") != std::string::npos);  // Zh== is not canonical
    CHECK(cli::base64_decode("Z===").error().find("offset 1") != std::string::npos);
    CHECK(cli::base64_decode("Zg==Zg==").error().find("offset 2") != std::string::npos);  // padding inside
    CHECK(cli::base64_decode("Zm9v YmFy").has_value() == false);
    CHECK(cli::base64_decode("Zm9-").error().find("offset 3") != std::string::npos);  // url-safe alphabet
  }

  TEST_CASE("scalars, nested maps and arrays become the msgpack they say, in order") {
    auto bytes = json_packed(R"({"b": [1, -2, 18446744073709551615, -9223372036854775808, 1.5, 1.0],
                            "a": {"x": null, "y": true, "z": "str"}})");
    auto expected = mp([](common::MsgpackWriter& w) {
      w.map(2).str("b").array(6).u64(1).i64(-2).u64(UINT64_MAX).i64(INT64_MIN).f64(1.5).f64(1.0);
      w.str("a").map(3).str("x").nil().str("y").boolean(true).kv("z", "str");
    });
    CHECK(bytes == expected);
    CHECK(printed(bytes) ==
          R"({"b":[1,-2,18446744073709551615,-9223372036854775808,1.5,1.0],"a":{"x":null,"y":true,"z":"str"}})");
  }

  TEST_CASE("a string starting base64: is bin, and bin prints back the same way") {
    auto bytes = json_packed(R"(["base64:AP8Q", "base64:", "plain", "BASE64:AA=="])");
    auto expected = mp([](common::MsgpackWriter& w) {
      w.array(4).bin(std::string("\0\xff\x10", 3)).bin("").str("plain").str("BASE64:AA==");
    });
    CHECK(bytes == expected);
    CHECK(printed(bytes) == R"(["base64:AP8Q","base64:","plain","BASE64:AA=="])");
    auto bad = json_refused(R"({"k": [0, "base64:not base64!"]})");
    CHECK(contains(bad, "at /k/1: "));
    CHECK(contains(bad, "not valid base64"));
  }

  TEST_CASE("integers beyond int64/uint64 are refused where they are, not rounded") {
    CHECK(contains(json_refused("[18446744073709551616]"), "at /0: integer 18446744073709551616 does not fit in 64 bits"));
    CHECK(contains(json_refused(R"({"a": {"b/c": [0, -9223372036854775809]}})"), "at /a/b~1c/1: integer"));
    CHECK(contains(json_refused("123456789012345678901234567890"), "at the top: integer"));
    // Written as floats they are floats.
    CHECK(json_packed("[1e20]") == mp([](common::MsgpackWriter& w) { w.array(1).f64(1e20); }));
  }

  TEST_CASE("numbers beyond float64 are refused: JSON has no Infinity or NaN") {
    auto e = json_refused("[1, 1e400]");
    CHECK(contains(e, "out of range of a 64-bit float at byte 9"));
    CHECK(contains(json_refused("[-1e400]"), "out of range"));
    CHECK(contains(json_refused("[NaN]"), "not valid JSON"));
    CHECK(contains(json_refused("[Infinity]"), "not valid JSON"));
  }

  TEST_CASE("what YAML accepted and JSON does not is refused with line, column and byte") {
    auto e = json_refused("[ann]");
    CHECK(contains(e, "not valid JSON at line 1, column 2 (byte 2)"));
    CHECK(contains(json_refused("[0x10]"), "byte 3"));
    CHECK(contains(json_refused("[1,\n 2,\n x]"), "line 3, column 2"));
    CHECK(contains(json_refused("{a: 1}"), "not valid JSON"));
    CHECK(contains(json_refused("[1] [2]"), "not valid JSON"));  // one value only
    CHECK(contains(json_refused(""), "not valid JSON"));
    CHECK(contains(json_refused("['x']"), "not valid JSON"));
    CHECK(contains(json_refused("\"\xff\""), "not valid JSON"));  // JSON text must be UTF-8
  }

  TEST_CASE("nesting is limited, long keys are not") {
    std::string deep(cli::kMaxJsonDepth, '['), close(cli::kMaxJsonDepth, ']');
    CHECK(cli::json_to_msgpack(deep + close).has_value());
    CHECK(contains(json_refused("[" + deep + close + "]"), "nested deeper than 512"));
    std::string key(5000, 'k');
    CHECK(printed(json_packed("{\"" + key + "\": 1}")) == "{\"" + key + "\":1}");  // YAML stopped at 1024
  }

  TEST_CASE("printing: NaN and Infinity as null, bad UTF-8 replaced, odd keys as JSON text") {
    auto bytes = mp([](common::MsgpackWriter& w) {
      w.array(5).f64(std::nan("")).f64(HUGE_VAL).f64(-HUGE_VAL).str("a\xff" "b\xc3").f64(-0.0);
    });
    CHECK(printed(bytes) == "[null,null,null,\"a\xef\xbf\xbd" "b\xef\xbf\xbd\",-0.0]");
    auto keys = mp([](common::MsgpackWriter& w) {
      w.map(3).u64(7).str("seven").bin("\x01").nil().str("\xfe").boolean(false);
    });
    CHECK(printed(keys) == "{\"7\":\"seven\",\"\\\"base64:AQ==\\\"\":null,\"\xef\xbf\xbd\":false}");
    CHECK(printed(mp([](common::MsgpackWriter& w) { w.str("tab\tquote\"nl\n\x01"); })) ==
          R"("tab\tquote\"nl\n\u0001")");
  }

  TEST_CASE("printed JSON parses back to the same msgpack") {
    auto bytes = json_packed(R"({"n": [0, -1, 2.5, -0.0, 1e300, "base64:AAEC", "\u00e9\ud83d\ude00"], "e": {}, "l": []})");
    auto again = json_packed(printed(bytes));
    CHECK(again == bytes);
  }

  TEST_CASE("indented printing for people") {
    auto bytes = json_packed(R"({"a": [1]})");
    auto obj = common::decode_msgpack(bytes);
    CHECK(cli::to_json(obj->get(), 2) == "{\n  \"a\": [\n    1\n  ]\n}");
  }
}
