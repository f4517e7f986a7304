// The config's text and its YAML documents: reading the file, and parsing
// it around a yaml-cpp 0.7 bug that would otherwise hang the loader.
#include "config/yaml_source.h"

#include <yaml-cpp/eventhandler.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>

namespace zfleet::config {
namespace {

// Sees only where each document starts (see check_progress).
class DocumentStarts final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  YAML::Mark start;
};

// yaml-cpp 0.7's LoadAll never returns on some malformed text (a lone ","
// is enough, found by tests/fuzz/fuzz_config): its parser reports an empty
// document without consuming the token it cannot place, and LoadAll asks for
// the next document forever, holding a new null node each time, until
// memory runs out. So walk the documents' events first and refuse a stream
// where a document starts where the previous one did.
void check_progress(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts events;
  int previous = -1;
  while (parser.HandleNextDocument(events)) {
    if (events.start.pos == previous) {
      throw ConfigError(source, events.start.line + 1, "",
                        "YAML syntax error: unexpected character at column " +
                            std::to_string(events.start.column + 1));
    }
    previous = events.start.pos;
  }
}

}  // namespace

std::vector<YAML::Node> load_documents(const std::string& text, const std::string& source) {
  try {
    check_progress(text, source);
    return YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    throw ConfigError(source, line, "", "YAML syntax error: " + e.msg);
  }
}

std::string read_file(const std::string& path) {
  auto cannot_read = [&path](int err) {
    return ConfigError(path, 0, "",
                       std::string("cannot read config file (") + std::strerror(err) + ")");
  };
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  errno = 0;
  std::unique_ptr<std::FILE, Closer> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw cannot_read(errno);
  std::string text;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, file.get())) > 0) text.append(buf, n);
  // glibc opens a directory for reading; the first read fails with EISDIR.
  if (std::ferror(file.get())) throw cannot_read(errno != 0 ? errno : EIO);
  return text;
}

}  // namespace zfleet::config
