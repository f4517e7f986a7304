// YAML -> FleetConfig. The walk over the document is strict on purpose: a
// misspelt key silently falling back to its default is the classic way a
// deployment runs with settings nobody chose, so every unknown key, duplicate
// key or wrongly typed value stops start-up with file, line and key.
//
// We never call yaml-cpp's as<T>(): it accepts "1.5" for nothing useful,
// wraps "-1" into a huge uint64_t, and reports conversion errors without the
// key. Scalars are read as text and checked here instead.

#include "config/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/pools.h"
#include "config/schema.h"
#include "config/yaml_source.h"

namespace zfleet::config {

namespace {

namespace fs = std::filesystem;

// yaml-cpp's plain (unquoted) scalars carry the non-specific tag "?";
// quoted ones carry "!".
constexpr std::string_view kPlainTag = "?";
constexpr std::string_view kQuotedTag = "!";
constexpr std::string_view kIntTag = "tag:yaml.org,2002:int";

struct KnownKeys {
  std::set<std::string, std::less<>> leaves;    // keys that hold values
  std::set<std::string, std::less<>> sections;  // keys that hold maps
};

// Derived from the schema tables so the set of accepted keys cannot drift
// from the set of keys actually read.
const KnownKeys& known_keys() {
  static const KnownKeys keys = [] {
    KnownKeys k;
    FleetConfig dummy;
    dummy.workers.pools.push_back(WorkersConfig::named_pool(std::string(schema::kAnyPool), 0, 1));
    auto add = [&k](std::string_view key, auto&&...) { k.leaves.emplace(key); };
    schema::for_each_number(dummy, add);
    schema::for_each_string(dummy, add);
    schema::for_each_bool(dummy, add);
    schema::for_each_path_list(dummy, add);
    for (const std::string& leaf : k.leaves) {
      for (size_t dot = leaf.find('.'); dot != std::string::npos; dot = leaf.find('.', dot + 1)) {
        k.sections.insert(leaf.substr(0, dot));
      }
    }
    return k;
  }();
  return keys;
}

// 1-based line of a node, or `fallback` when yaml-cpp has no mark for it.
int line_of_node(const YAML::Node& node, int fallback) {
  int line = node.Mark().line;
  return line >= 0 ? line + 1 : fallback;
}

std::string quoted(const std::string& text) {
  constexpr size_t kMaxShown = 80;
  if (text.size() <= kMaxShown) return "\"" + text + "\"";
  return "\"" + text.substr(0, kMaxShown) + "...\"";
}

// How a wrong value is shown in "expected X, got Y".
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return quoted(node.Scalar());
    default:
      return "no value";
  }
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
  }
  return true;
}

struct Leaf {
  YAML::Node value;
  int line;  // 1-based line of the key
};

// Walks one document, collects the known leaves, then reads them into a
// FleetConfig. Every failure throws ConfigError naming source_.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(int line, std::string key, std::string detail) const {
    throw ConfigError(source_, line, std::move(key), std::move(detail));
  }

  void walk(const YAML::Node& node, const std::string& prefix, int line) {
    if (node.IsNull()) return;  // e.g. "broker:" with every key commented out
    if (!node.IsMap()) {
      fail(line, prefix,
           (prefix.empty() ? "expected a map of sections (broker, cache, workers, python, "
                             "logging), got "
                           : "expected a map, got ") +
               describe(node));
    }
    std::map<std::string, int> seen;  // key -> line, within this map
    for (const auto& kv : node) {
      int key_line = line_of_node(kv.first, line);
      if (!kv.first.IsScalar())
        fail(key_line, prefix, "expected a key name, got " + describe(kv.first));
      const std::string& name = kv.first.Scalar();
      std::string path = prefix.empty() ? name : prefix + "." + name;
      auto [first, fresh] = seen.emplace(name, key_line);
      if (!fresh)
        fail(key_line, path, "duplicate key (first at line " + std::to_string(first->second) + ")");
      if (prefix == schema::kPoolsKey) add_pool(name, path, key_line);
      const std::string known = as_known(path);
      if (known_keys().leaves.count(known) != 0) {
        leaves_.emplace(path, Leaf{kv.second, key_line});
      } else if (known_keys().sections.count(known) != 0) {
        walk(kv.second, path, key_line);
      } else {
        fail(key_line, path, "unknown key");
      }
    }
  }

  // Missing keys keep the defaults already in `cfg`.
  void apply(FleetConfig& cfg, const fs::path& base) const {
    for (const std::string& name : pools_) cfg.workers.pools.push_back(WorkersConfig::named_pool(name, 1, 1));
    schema::for_each_number(cfg, [this](std::string_view key, auto& field, schema::Bounds b) {
      if (const Leaf* leaf = find(key)) read_number(*leaf, std::string(key), field, b);
    });
    schema::for_each_string(cfg, [this](std::string_view key, std::string& field) {
      if (const Leaf* leaf = find(key)) read_string(*leaf, std::string(key), field);
    });
    schema::for_each_bool(cfg, [this](std::string_view key, bool& field) {
      if (const Leaf* leaf = find(key)) read_bool(*leaf, std::string(key), field);
    });
    schema::for_each_path_list(cfg, [&](std::string_view key, std::vector<std::string>& paths) {
      if (const Leaf* leaf = find(key)) read_paths(*leaf, std::string(key), paths);
      for (std::string& path : paths) path = resolve_path(path, base.string());
    });
    for (std::string* path : {&cfg.broker.journal.path, &cfg.security.secret_key, &cfg.security.worker_key}) {
      if (!path->empty()) *path = resolve_path(*path, base.string());
    }
    schema::for_each_venv(cfg, [&](std::string_view, std::string& path) {
      if (!path.empty()) path = resolve_path(path, base.string());
    });
    schema::for_each_inherited(cfg, [this](const std::string& key, auto&& inherit) {
      if (!find(key)) inherit();
    });
  }

  int line_of(std::string_view key) const {
    const Leaf* leaf = find(key);
    return leaf != nullptr ? leaf->line : 0;
  }

 private:
  const Leaf* find(std::string_view key) const {
    auto it = leaves_.find(key);
    return it == leaves_.end() ? nullptr : &it->second;
  }

  template <class T>
  void read_number(const Leaf& leaf, const std::string& key, T& field, schema::Bounds b) const {
    if (std::cmp_greater(b.max, std::numeric_limits<T>::max())) {
      throw std::logic_error("config schema: bound of " + key + " exceeds its type");
    }
    const YAML::Node& v = leaf.value;
    const std::string expected = "expected an integer, got ";
    if (!v.IsScalar()) fail(leaf.line, key, expected + describe(v));
    const std::string& text = v.Scalar();
    if (v.Tag() == kQuotedTag)
      fail(leaf.line, key, expected + quoted(text) + " (quoted, so a string)");
    if (v.Tag() != kPlainTag && v.Tag() != kIntTag) fail(leaf.line, key, expected + quoted(text));
    std::string_view digits = text;
    bool negative = false;
    if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
      negative = digits[0] == '-';
      digits.remove_prefix(1);
    }
    // Decimal only: floats ("1.5", "1e3"), hex and booleans are type errors.
    if (!all_digits(digits)) fail(leaf.line, key, expected + quoted(text));
    uint64_t magnitude = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
    bool overflow = ec == std::errc::result_out_of_range;
    if (negative && (overflow || magnitude > 0)) {
      fail(leaf.line, key, "must be >= " + std::to_string(b.min) + " (got " + text + ")");
    }
    if (overflow || magnitude > b.max) {
      fail(leaf.line, key, "must be <= " + std::to_string(b.max) + " (got " + text + ")");
    }
    if (magnitude < b.min) {
      fail(leaf.line, key, "must be >= " + std::to_string(b.min) + " (got " + text + ")");
    }
    field = static_cast<T>(magnitude);
  }

  void read_string(const Leaf& leaf, const std::string& key, std::string& field) const {
    if (!leaf.value.IsScalar())
      fail(leaf.line, key, "expected a string, got " + describe(leaf.value));
    field = leaf.value.Scalar();
  }

  // YAML 1.2 core schema booleans only: yes/no/on/off are type errors.
  void read_bool(const Leaf& leaf, const std::string& key, bool& field) const {
    const YAML::Node& v = leaf.value;
    std::string text = v.IsScalar() ? v.Scalar() : std::string();
    if (v.IsScalar() && v.Tag() == kPlainTag && (text == "true" || text == "false")) {
      field = text == "true";
      return;
    }
    fail(leaf.line, key, "expected true or false, got " + describe(v));
  }

  void read_paths(const Leaf& leaf, const std::string& key, std::vector<std::string>& roots) const {
    if (!leaf.value.IsSequence()) {
      fail(leaf.line, key, "expected a list of paths, got " + describe(leaf.value));
    }
    roots.clear();
    for (size_t i = 0; i < leaf.value.size(); ++i) {
      const YAML::Node item = leaf.value[i];
      int line = line_of_node(item, leaf.line);
      std::string entry = "entry " + std::to_string(i + 1);
      if (!item.IsScalar()) fail(line, key, entry + ": expected a path, got " + describe(item));
      if (item.Scalar().empty()) fail(line, key, entry + " is an empty path");
      roots.push_back(item.Scalar());
    }
  }

  // A key under workers.pools.NAME is known when workers.pools.*'s is.
  static std::string as_known(const std::string& path) {
    const std::string prefix = std::string(schema::kPoolsKey) + ".";
    if (path.compare(0, prefix.size(), prefix) != 0) return path;
    std::size_t end = path.find('.', prefix.size());
    return prefix + std::string(schema::kAnyPool) + (end == std::string::npos ? "" : path.substr(end));
  }

  void add_pool(const std::string& name, const std::string& path, int line) {
    if (!common::valid_pool_name(name))
      fail(line, path, common::kPoolNameRule);
    if (name == "io" || name == "cpu")
      fail(line, path, "io and cpu are configured as workers." + name + ", not under workers.pools");
    if (pools_.size() + 2 >= static_cast<std::size_t>(common::kMaxPools))
      fail(line, path, "at most " + std::to_string(common::kMaxPools - 2) + " pools under workers.pools");
    pools_.push_back(name);
  }

  std::string source_;
  std::map<std::string, Leaf, std::less<>> leaves_;
  std::vector<std::string> pools_;  // workers.pools names, in file order
};

}  // namespace

std::string resolve_path(std::string_view path, const std::string& base_dir) {
  fs::path p(path);
  if (p.is_relative()) {
    fs::path base = base_dir.empty() ? fs::current_path() : fs::absolute(base_dir);
    p = base / p;
  }
  p = p.lexically_normal();
  // "tasks/" normalises to "/x/tasks/"; drop the empty last component.
  if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
  return p.string();
}

FleetConfig default_config() {
  FleetConfig cfg;
  cfg.source = std::string(kDefaultsSource);
  for (std::string& root : cfg.python.script_roots) root = resolve_path(root, "");
  schema::for_each_inherited(cfg, [](const std::string&, auto&& inherit) { inherit(); });
  return cfg;
}

FleetConfig parse_config(std::string_view yaml_text, const std::string& source_name,
                         const std::string& base_dir, Role role) {
  fs::path base = base_dir.empty() ? fs::current_path() : fs::absolute(base_dir);
  Reader reader(source_name);
  std::vector<YAML::Node> docs = load_documents(std::string(yaml_text), source_name);
  // A trailing "---" yields an empty extra document; only real content counts.
  for (size_t i = 1; i < docs.size(); ++i) {
    if (!docs[i].IsNull()) {
      reader.fail(line_of_node(docs[i], 0), "",
                  "a config file holds one YAML document, found a second one");
    }
  }
  if (!docs.empty()) reader.walk(docs[0], "", line_of_node(docs[0], 1));
  FleetConfig cfg;
  cfg.source = source_name;
  reader.apply(cfg, base);
  schema::check_values(cfg, [&reader](std::string_view key) { return reader.line_of(key); }, role);
  return cfg;
}

FleetConfig load_config_file(const std::string& path, Role role) {
  std::string text = read_file(path);
  std::string base = fs::absolute(fs::path(path)).parent_path().string();
  return parse_config(text, path, base, role);
}

}  // namespace zfleet::config

namespace zfleet::config {

void fill_client_endpoints(const std::string& config_path, std::string& frontend,
                           std::string& results) {
  if (!frontend.empty() && !results.empty()) return;
  FleetConfig cfg = config_path.empty() ? default_config() : load_config_file(config_path, Role::peer);
  if (frontend.empty()) frontend = cfg.broker.frontend;
  if (results.empty()) results = cfg.broker.results;
}

}  // namespace zfleet::config
