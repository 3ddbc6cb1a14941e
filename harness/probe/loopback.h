// Whether a host a faultline program binds names this machine's loopback: 127.0.0.0/8, ::1 or
// "localhost". Everything faultline starts binds loopback; an address beyond it is bound only
// when a user names it, and then with a warning (docs/cli.md, faultline proxy).
#pragma once

#include <string>
#include <string_view>

namespace faultline {

inline bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

// The one-line warning for a bind beyond loopback, naming the address.
inline std::string beyond_loopback_warning(std::string_view host) {
  return "warning: " + std::string(host) +
         " is beyond loopback: other machines can reach what listens there (use 127.0.0.1 "
         "unless that is what you want)";
}

}  // namespace faultline
