#include "tools/cli/batch_lines.h"

#include <cstdint>
#include <limits>
#include <optional>

namespace zfleet::cli {
namespace {

using Result = std::expected<void, std::string>;

std::string got(const Json& v) {
  std::string text = dump_json(v);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return ", got " + text;
}

Result want_string(const Json& v, const std::string& name, std::string& out) {
  if (!v.is_string()) return std::unexpected("'" + name + "' must be a string" + got(v));
  out = v.get<std::string>();
  return {};
}

template <typename T>
Result want_uint(const Json& v, const std::string& name, T& out) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() > std::numeric_limits<T>::max())
    return std::unexpected("'" + name + "' must be an integer from 0 to " +
                           std::to_string(std::numeric_limits<T>::max()) + got(v));
  out = static_cast<T>(v.get<uint64_t>());
  return {};
}

template <typename T>
Result want_uint(const Json& v, const std::string& name, std::optional<T>& out) {
  T value{};
  if (auto r = want_uint(v, name, value); !r) return r;
  out = value;
  return {};
}

Result want_packed(const Json& v, const std::string& name, bool array, std::string& out) {
  if (array ? !v.is_array() : !v.is_object())
    return std::unexpected("'" + name + "' must be a JSON " + (array ? "array" : "object") + got(v));
  auto packed = json_value_to_msgpack(v, "/" + name);
  if (!packed) return std::unexpected(packed.error());
  out = std::move(*packed);
  return {};
}

Result want_codes(const Json& v, std::vector<std::string>& out) {
  if (!v.is_array()) return std::unexpected("'retry_on' must be an array of strings" + got(v));
  for (const auto& code : v) {
    if (!code.is_string()) return std::unexpected("'retry_on' must be an array of strings" + got(code));
    out.push_back(code.get<std::string>());
  }
  return {};
}

Result want_output(const Json& v, bool& out) {
  if (!v.is_boolean()) return std::unexpected("'output' must be true or false" + got(v));
  out = v.get<bool>();
  return {};
}

Result set_field(const std::string& name, const Json& v, common::SubmitArgs& a) {
  if (name == "script") return want_string(v, name, a.script);
  if (name == "func") return want_string(v, name, a.func);
  if (name == "type") return want_string(v, name, a.type);
  if (name == "id") return want_string(v, name, a.id);
  if (name == "args") return want_packed(v, name, true, a.args_msgpack);
  if (name == "kwargs") return want_packed(v, name, false, a.kwargs_msgpack);
  if (name == "timeout_ms") return want_uint(v, name, a.timeout_ms);
  if (name == "max_retries") return want_uint(v, name, a.max_retries);
  if (name == "delay_ms") return want_uint(v, name, a.delay_ms);
  if (name == "retries") return want_uint(v, name, a.retries);
  if (name == "retry_backoff_ms") return want_uint(v, name, a.retry_backoff_ms);
  if (name == "retry_on") return want_codes(v, a.retry_on);
  if (name == "output") return want_output(v, a.output);
  if (name == "op") {
    if (v == "submit") return {};
    return std::unexpected("'op' may only be \"submit\"" + got(v));
  }
  return std::unexpected("unknown field '" + name +
                         "' (fields: script, func, args, kwargs, type, id, timeout_ms, max_retries, "
                         "delay_ms, retries, retry_on, retry_backoff_ms, output)");
}

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

}  // namespace

std::expected<common::SubmitArgs, std::string> submit_from_json(const Json& object) {
  if (!object.is_object()) return std::unexpected("a line must be a JSON object" + got(object));
  common::SubmitArgs a;
  for (const auto& [name, value] : object.items()) {
    if (auto r = set_field(name, value, a); !r) return std::unexpected(r.error());
  }
  if (!object.contains("script")) return std::unexpected("'script' is required");
  return a;
}

BatchInput read_batch_lines(std::istream& in) {
  BatchInput out;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (blank(line)) continue;
    auto parsed = parse_json(line);
    std::expected<common::SubmitArgs, std::string> args =
        parsed ? submit_from_json(*parsed) : std::unexpected(parsed.error());
    if (args)
      out.tasks.push_back({n, std::move(*args)});
    else
      out.errors.push_back("line " + std::to_string(n) + ": " + args.error());
  }
  return out;
}

}  // namespace zfleet::cli
