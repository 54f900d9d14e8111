#include "corral/core/openssl.h"

#include <dlfcn.h>
#include <openssl/opensslv.h>

#include <string>

namespace corral::openssl {

#define CORRAL_OPENSSL_DEFINE(name) decltype(&::name) name = nullptr;
CORRAL_OPENSSL_FUNCTIONS(CORRAL_OPENSSL_DEFINE)
#undef CORRAL_OPENSSL_DEFINE

namespace {

#define CORRAL_STR2(x) #x
#define CORRAL_STR(x) CORRAL_STR2(x)
constexpr const char* kLibrary = "libssl.so." CORRAL_STR(OPENSSL_VERSION_MAJOR);

// clang-format off
#define CORRAL_OPENSSL_RESOLVE(name)                                                              \
  name = reinterpret_cast<decltype(&::name)>(::dlsym(lib, #name));                                \
  if (name == nullptr) return std::string(kLibrary) + " has no " #name " (corral needs OpenSSL " \
                              CORRAL_STR(OPENSSL_VERSION_MAJOR) "." CORRAL_STR(OPENSSL_VERSION_MINOR) " or later)";
// clang-format on

std::string open_all() {
  // Never closed: contexts, sessions and engines live until exit.
  void* lib = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return std::string("cannot load ") + kLibrary + ": " + ::dlerror();
  // dlsym on libssl's handle also finds what its dependency libcrypto defines.
  CORRAL_OPENSSL_FUNCTIONS(CORRAL_OPENSSL_RESOLVE)
#undef CORRAL_OPENSSL_RESOLVE
  return {};
}

}  // namespace

bool load(std::string& err) {
  static const std::string failure = open_all();  // once, whichever thread comes first
  if (failure.empty()) return true;
  err = failure;
  return false;
}

}  // namespace corral::openssl
