// CURVE keys on disk (PROTOCOL.md "zfleet keygen"), and the options that put
// a socket under CURVE.
//
// Files:
//   PATH.key  mode 0600, two lines: `public-key = <Z85>` and
//             `secret-key = <Z85>` (a process's own key pair);
//   PATH.pub  one line: the public key in Z85 (40 characters), as any
//             ZeroMQ binding's curve_keypair() prints it.
// An allowed-keys entry is a .pub file or a folder of them (every `*.pub`
// directly inside; other files are ignored, so a folder may also hold the
// matching .key files of local processes).
//
// Errors are messages naming the file and what is wrong with it; callers
// turn them into start-up errors (exceptions) or exit code 2.
//
// Thread safety: functions only.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace zfleet::common {

// Z85 text of a 32-byte key: 40 characters.
inline constexpr std::size_t kCurveKeyZ85Size = 40;

struct CurveKeyPair {
  std::string public_z85;
  std::string secret_z85;
};

// CURVE settings of one socket. Empty secret_key = no CURVE (NULL
// mechanism). A socket with a secret key and no server_key is a CURVE
// server: a ZAP handler must be bound in its context before it binds (see
// broker/zap_handler.h), or libzmq accepts every client key.
struct CurveOptions {
  std::string secret_key;  // own secret key, Z85
  std::string public_key;  // own public key, Z85 (clients)
  std::string server_key;  // the server's public key, Z85 (clients)
  std::string zap_domain;  // servers: tells the ZAP handler which endpoint asks

  bool enabled() const { return !secret_key.empty(); }
  bool is_server() const { return enabled() && server_key.empty(); }
};

// A fresh key pair from libsodium (zmq_curve_keypair).
std::expected<CurveKeyPair, std::string> generate_key_pair();

// Writes PATH.key (0600, replaced atomically) and PATH.pub.
std::expected<void, std::string> write_key_pair(const std::string& path, const CurveKeyPair& keys);

// Reads a .key file; checks both keys decode and that they belong together.
std::expected<CurveKeyPair, std::string> read_key_pair(const std::string& key_file);

// Reads a public key: a .pub file, or the public-key line of a .key file.
std::expected<std::string, std::string> read_public_key(const std::string& file);

// The public keys of every entry (.pub files, folders of .pub files), Z85.
// An entry that does not exist, cannot be read, or a folder without any
// .pub file is an error: an allow list that silently lets nobody in (or a
// typo that goes unnoticed) is worse than a refusal to start.
std::expected<std::vector<std::string>, std::string> read_allowed_keys(const std::vector<std::string>& entries);

// True when `z85` is 40 Z85 characters that decode to 32 bytes.
bool is_curve_key(std::string_view z85);

// Client-side options from key files: own .key and the server's .pub
// (either may be empty: then no CURVE; one without the other is an error).
std::expected<CurveOptions, std::string> client_curve(const std::string& key_file,
                                                      const std::string& server_key_file);

}  // namespace zfleet::common
