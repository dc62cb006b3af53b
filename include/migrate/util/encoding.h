// Text encodings met on the wire: percent-encoding (URLs) and base64.
#pragma once

#include <string>
#include <string_view>

namespace migrate {

// The value of a hexadecimal digit, either case; -1 for any other character.
int hex_value(char c);
// "%XX" (either case) to the byte; a '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view text);
// Standard base64 (RFC 4648 section 4) with '=' padding.
std::string base64_encode(std::string_view bytes);

}  // namespace migrate
