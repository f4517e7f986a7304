// Config text (config::parse_config): the input as a YAML document. Bad
// input must raise config::ConfigError, which names file, line and key for
// the mains to print; any other exception escaping is a finding (libFuzzer
// reports it through std::terminate).
//
// Properties of an accepted config: it passes validate() again (the loader's
// contract), and its script roots are absolute.
#include <string>

#include "config/config_loader.h"
#include "tests/fuzz/fuzz_support.h"

using namespace zfleet::config;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FleetConfig cfg;
  try {
    cfg = parse_config(zfleet::fuzz::as_view(data, size), "fuzz.yaml", "/fuzz/base", Role::peer);
  } catch (const ConfigError& e) {
    FUZZ_CHECK(std::string(e.what()).starts_with("fuzz.yaml"));
    return 0;
  }
  FUZZ_CHECK(cfg.source == "fuzz.yaml");
  try {
    validate(cfg, Role::peer);
  } catch (const ConfigError&) {
    FUZZ_CHECK(!"an accepted config fails validate()");
  }
  for (const std::string& root : cfg.python.script_roots) FUZZ_CHECK(root.starts_with('/'));
  return 0;
}
