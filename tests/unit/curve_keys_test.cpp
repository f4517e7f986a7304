// Unit tests of common/curve_keys: key files as `zfleet keygen` writes them
// (real files in a temp folder), what is refused and why, and that the
// options they make let a real CURVE pair of sockets talk.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <zmq.hpp>

#include "common/curve_keys.h"
#include "common/sockets.h"

namespace fs = std::filesystem;
using namespace zfleet::common;

namespace {

struct Dir {
  fs::path path = fs::temp_directory_path() / ("zfleet_curve_test_" + std::to_string(::getpid()));
  Dir() { fs::create_directories(path); }
  ~Dir() { fs::remove_all(path); }
  std::string at(const std::string& name) const { return (path / name).string(); }
  void write(const std::string& name, const std::string& text) const {
    fs::create_directories((path / name).parent_path());
    std::ofstream(path / name) << text;
  }
};

CurveKeyPair fresh() {
  auto k = generate_key_pair();
  REQUIRE(k.has_value());
  return *k;
}

}  // namespace

TEST_SUITE("curve_keys") {
  TEST_CASE("a written pair reads back; the .key file is 0600, the .pub one line") {
    Dir d;
    auto keys = fresh();
    REQUIRE(write_key_pair(d.at("k/one"), keys).has_value() == false);  // no such folder yet
    fs::create_directories(d.path / "k");
    REQUIRE(write_key_pair(d.at("k/one"), keys).has_value());
    struct stat st {};
    REQUIRE(::stat(d.at("k/one.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto back = read_key_pair(d.at("k/one.key"));
    REQUIRE(back.has_value());
    CHECK(back->public_z85 == keys.public_z85);
    CHECK(back->secret_z85 == keys.secret_z85);
    auto pub = read_public_key(d.at("k/one.pub"));
    REQUIRE(pub.has_value());
    CHECK(*pub == keys.public_z85);
    CHECK(read_public_key(d.at("k/one.key")).value() == keys.public_z85);  // its public-key line
    CHECK(is_curve_key(keys.public_z85));
    CHECK_FALSE(is_curve_key(keys.public_z85.substr(1)));
  }

  TEST_CASE("bad key files are refused with the file named") {
    Dir d;
    auto a = fresh(), b = fresh();
    d.write("mixed.key", "public-key = " + a.public_z85 + "\nsecret-key = " + b.secret_z85 + "\n");
    d.write("short.key", "secret-key = abc\n");
    d.write("empty.pub", "\n");
    d.write("big.pub", std::string(10000, 'x'));
    auto mixed = read_key_pair(d.at("mixed.key"));
    REQUIRE_FALSE(mixed.has_value());
    CHECK(mixed.error() == d.at("mixed.key") + ": its public-key does not belong to its secret-key");
    CHECK(read_key_pair(d.at("short.key")).error().find("no valid `secret-key") != std::string::npos);
    CHECK(read_key_pair(d.at("missing.key")).error().find(d.at("missing.key") + ": cannot read") == 0);
    CHECK(read_public_key(d.at("empty.pub")).error().find("not a public key") != std::string::npos);
    CHECK(read_public_key(d.at("big.pub")).error().find("too large") != std::string::npos);
    CHECK(read_key_pair(d.path.string()).error().find("is a folder") != std::string::npos);
  }

  TEST_CASE("allowed keys: .pub files and folders of them; an empty folder is an error") {
    Dir d;
    auto a = fresh(), b = fresh(), c = fresh();
    fs::create_directories(d.path / "many");
    fs::create_directories(d.path / "none");
    REQUIRE(write_key_pair(d.at("many/a"), a).has_value());  // the .key beside it is ignored
    REQUIRE(write_key_pair(d.at("many/b"), b).has_value());
    REQUIRE(write_key_pair(d.at("c"), c).has_value());
    auto keys = read_allowed_keys({d.at("many"), d.at("c.pub")});
    REQUIRE(keys.has_value());
    CHECK(*keys == std::vector<std::string>{a.public_z85, b.public_z85, c.public_z85});
    CHECK(read_allowed_keys({d.at("none")}).error() == d.at("none") + ": a folder with no .pub file in it");
    CHECK_FALSE(read_allowed_keys({d.at("nowhere")}).has_value());
  }

  TEST_CASE("client options: both files or neither") {
    Dir d;
    auto own = fresh(), server = fresh();
    REQUIRE(write_key_pair(d.at("own"), own).has_value());
    REQUIRE(write_key_pair(d.at("server"), server).has_value());
    CHECK_FALSE(client_curve("", "").value().enabled());
    CHECK(client_curve(d.at("own.key"), "").error().find("go together") != std::string::npos);
    auto c = client_curve(d.at("own.key"), d.at("server.pub"));
    REQUIRE(c.has_value());
    CHECK(c->enabled());
    CHECK_FALSE(c->is_server());
    CHECK(c->server_key == server.public_z85);
    CHECK(c->public_key == own.public_z85);
  }

  TEST_CASE("make_socket applies CURVE: the options' pair talks over real sockets") {
    // No ZAP handler here: this checks the options only (the broker's ZAP
    // handler and its refusals are tested in tests/integration/test_security.py).
    auto server = fresh(), client = fresh();
    zmq::context_t ctx(1);
    SocketOptions so;
    so.curve = CurveOptions{server.secret_z85, server.public_z85, {}, "test"};
    CHECK(so.curve.is_server());
    zmq::socket_t rep = make_socket(ctx, zmq::socket_type::rep, so);
    std::string ep = bind_socket(rep, "tcp://127.0.0.1:*");
    CHECK(rep.get(zmq::sockopt::mechanism) == ZMQ_CURVE);
    SocketOptions co;
    co.curve = CurveOptions{client.secret_z85, client.public_z85, server.public_z85, {}};
    zmq::socket_t req = make_socket(ctx, zmq::socket_type::req, co);
    req.connect(ep);
    req.send(zmq::str_buffer("ping"));
    zmq::message_t m;
    rep.set(zmq::sockopt::rcvtimeo, 5000);
    REQUIRE(rep.recv(m));
    CHECK(m.to_string() == "ping");
  }
}
