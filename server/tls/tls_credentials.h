// TlsCredentials: the daemon's certificate chain and private key (PEM), read once at startup
// from server.tls.cert_file and server.tls.key_file and checked there, so that a bad file
// stops `serve` with a message naming the config key instead of failing each handshake.
// HTTP (make_ssl_context) and gRPC (grpc::SslServerCredentials) are built from the same
// bytes: both ports present one identity.
//
// Checks: both files readable; the cert file holds at least one PEM certificate (the leaf
// first, then any intermediates); the key file holds one PEM private key (PKCS#8 or
// traditional RSA/EC, unencrypted: the daemon has nobody to ask for a passphrase); the key is
// the leaf certificate's. Errors are kInvalidArgument, "server.tls.cert_file: ..." or
// "server.tls.key_file: ...".
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "common/status.h"

namespace trimserve::tls {

struct TlsCredentials {
  std::string cert_chain_pem;
  std::string private_key_pem;
};

Result<TlsCredentials> load_tls_credentials(const std::string& cert_file,
                                            const std::string& key_file);

// A server context for the HTTP transport: TLS 1.2 or later, these credentials, no
// compression, no session renegotiation by the client.
Result<std::shared_ptr<boost::asio::ssl::context>> make_ssl_context(const TlsCredentials& creds);

}  // namespace trimserve::tls
