// yaml_source: the text of a config file and its YAML documents, for the
// loader (config_loader.cpp). Both throw ConfigError naming the file (and the
// line, for a syntax error).
//
// Internal to zfleet_config. Thread safety: functions with no state.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "config/config_loader.h"

namespace zfleet::config {

// The whole file; ConfigError (line 0) when it cannot be read.
std::string read_file(const std::string& path);

// Every document of `text`; a YAML syntax error names its line in `source`.
std::vector<YAML::Node> load_documents(const std::string& text, const std::string& source);

}  // namespace zfleet::config
