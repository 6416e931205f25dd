#include "server/tls/tls_credentials.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <boost/asio/buffer.hpp>

namespace trimserve::tls {

namespace {

constexpr const char* kCertKey = "server.tls.cert_file";
constexpr const char* kKeyKey = "server.tls.key_file";

Status read_file(const char* key, const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return invalid_argument(std::string(key) + ": cannot read '" + path +
                            "': " + std::strerror(errno));
  }
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (out->empty()) return invalid_argument(std::string(key) + ": '" + path + "' is empty");
  return Status::ok_status();
}

// OpenSSL's most recent error as text (and the queue cleared), for messages.
std::string openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no PEM data found";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioFree> memory_bio(const std::string& data) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// No passphrase prompt on the daemon's terminal: an encrypted key fails instead.
int no_passphrase(char*, int, int, void*) { return -1; }

}  // namespace

Result<TlsCredentials> load_tls_credentials(const std::string& cert_file,
                                            const std::string& key_file) {
  TlsCredentials creds;
  TS_RETURN_IF_ERROR(read_file(kCertKey, cert_file, &creds.cert_chain_pem));
  TS_RETURN_IF_ERROR(read_file(kKeyKey, key_file, &creds.private_key_pem));
  ERR_clear_error();
  auto cert_bio = memory_bio(creds.cert_chain_pem);
  std::unique_ptr<X509, X509Free> leaf(
      PEM_read_bio_X509(cert_bio.get(), nullptr, no_passphrase, nullptr));
  if (!leaf) {
    return invalid_argument(std::string(kCertKey) + ": '" + cert_file +
                            "' holds no PEM certificate (" + openssl_error() + ")");
  }
  auto key_bio = memory_bio(creds.private_key_pem);
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    return invalid_argument(std::string(kKeyKey) + ": '" + key_file +
                            "' holds no unencrypted PEM private key (" + openssl_error() + ")");
  }
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    ERR_clear_error();
    return invalid_argument(std::string(kKeyKey) + ": the key in '" + key_file +
                            "' does not match the certificate in '" + cert_file + "'");
  }
  return creds;
}

Result<std::shared_ptr<boost::asio::ssl::context>> make_ssl_context(const TlsCredentials& creds) {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                       ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                       ssl::context::single_dh_use);
  SSL_CTX_set_options(context->native_handle(), SSL_OP_NO_RENEGOTIATION);
  boost::system::error_code ec;
  context->use_certificate_chain(boost::asio::buffer(creds.cert_chain_pem), ec);
  if (ec) return invalid_argument(std::string(kCertKey) + ": " + ec.message());
  context->use_private_key(boost::asio::buffer(creds.private_key_pem), ssl::context::pem, ec);
  if (ec) return invalid_argument(std::string(kKeyKey) + ": " + ec.message());
  return context;
}

}  // namespace trimserve::tls
