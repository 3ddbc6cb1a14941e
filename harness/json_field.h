// Reading a record's optional fields without copying them.
#pragma once

#include <nlohmann/json.hpp>

namespace faultline {

// The object's field `name`, or a null value when it has none (or is not an object). Iterating
// the result is safe either way, and nothing is copied (json::value() would copy, and GCC 12
// warns about iterating the temporary it returns).
inline const nlohmann::json& field_or_null(const nlohmann::json& object, const char* name) {
  static const nlohmann::json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(name);
  return it == object.end() ? kNull : *it;
}

}  // namespace faultline
