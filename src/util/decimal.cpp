// Decimal arithmetic on digit strings: only what reconciling sums needs (add, subtract,
// multiply, compare), exact at any length.
#include "migrate/util/decimal.h"

#include <algorithm>
#include <vector>

namespace migrate {
namespace {

std::string strip_leading_zeros(std::string digits) {
    std::size_t first = digits.find_first_not_of('0');
    return first == std::string::npos ? "0" : digits.substr(first);
}

// Compares two magnitudes without leading zeros.
int compare_magnitudes(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    return a.compare(b) < 0 ? -1 : a.compare(b) > 0 ? 1 : 0;
}

std::string add_magnitudes(const std::string& a, const std::string& b) {
    std::string out;
    int carry = 0;
    for (std::size_t i = 0; i < std::max(a.size(), b.size()) || carry; ++i) {
        int sum = carry;
        if (i < a.size()) sum += a[a.size() - 1 - i] - '0';
        if (i < b.size()) sum += b[b.size() - 1 - i] - '0';
        out.push_back(static_cast<char>('0' + sum % 10));
        carry = sum / 10;
    }
    std::reverse(out.begin(), out.end());
    return strip_leading_zeros(out);
}

// a - b for a >= b.
std::string subtract_magnitudes(const std::string& a, const std::string& b) {
    std::string out;
    int borrow = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        int digit = a[a.size() - 1 - i] - '0' - borrow;
        if (i < b.size()) digit -= b[b.size() - 1 - i] - '0';
        borrow = digit < 0;
        out.push_back(static_cast<char>('0' + digit + (borrow ? 10 : 0)));
    }
    std::reverse(out.begin(), out.end());
    return strip_leading_zeros(out);
}

}  // namespace

std::optional<Decimal> Decimal::parse(std::string_view text) {
    Decimal out;
    std::size_t i = 0;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) out.m_negative = text[i++] == '-';
    std::string digits;
    int scale = 0;
    bool point = false;
    for (; i < text.size(); ++i) {
        char c = text[i];
        if (c >= '0' && c <= '9') {
            digits.push_back(c);
            if (point) ++scale;
        } else if (c == '.' && !point) {
            point = true;
        } else {
            break;
        }
    }
    if (digits.empty()) return std::nullopt;
    if (i < text.size()) {
        if (text[i] != 'e' && text[i] != 'E') return std::nullopt;
        std::string_view exponent = text.substr(i + 1);
        bool minus = !exponent.empty() && exponent[0] == '-';
        if (!exponent.empty() && (exponent[0] == '-' || exponent[0] == '+'))
            exponent.remove_prefix(1);
        if (exponent.empty() || exponent.size() > 4 ||
            !std::all_of(exponent.begin(), exponent.end(),
                         [](char c) { return c >= '0' && c <= '9'; }))
            return std::nullopt;
        int shift = std::stoi(std::string(exponent));
        scale += minus ? shift : -shift;
    }
    if (scale < 0) {
        digits.append(static_cast<std::size_t>(-scale), '0');
        scale = 0;
    }
    out.m_digits = digits;
    out.m_scale = scale;
    out.normalize();
    return out;
}

Decimal Decimal::of(long long value) { return *parse(std::to_string(value)); }

void Decimal::normalize() {
    m_digits = strip_leading_zeros(m_digits);
    if (is_zero()) m_negative = false;
}

bool Decimal::is_zero() const { return m_digits.find_first_not_of('0') == std::string::npos; }

std::string Decimal::digits_at(int scale) const {
    return strip_leading_zeros(m_digits +
                               std::string(static_cast<std::size_t>(scale - m_scale), '0'));
}

std::string Decimal::str() const {
    std::string digits = m_digits;
    if (digits.size() <= static_cast<std::size_t>(m_scale))
        digits.insert(0, static_cast<std::size_t>(m_scale) + 1 - digits.size(), '0');
    if (m_scale > 0) digits.insert(digits.size() - static_cast<std::size_t>(m_scale), ".");
    return (m_negative ? "-" : "") + digits;
}

Decimal Decimal::abs() const {
    Decimal out = *this;
    out.m_negative = false;
    return out;
}

Decimal Decimal::operator-() const {
    Decimal out = *this;
    out.m_negative = !m_negative;
    out.normalize();
    return out;
}

Decimal operator+(const Decimal& a, const Decimal& b) {
    Decimal out;
    out.m_scale = std::max(a.m_scale, b.m_scale);
    std::string x = a.digits_at(out.m_scale);
    std::string y = b.digits_at(out.m_scale);
    if (a.m_negative == b.m_negative) {
        out.m_digits = add_magnitudes(x, y);
        out.m_negative = a.m_negative;
    } else if (compare_magnitudes(x, y) >= 0) {
        out.m_digits = subtract_magnitudes(x, y);
        out.m_negative = a.m_negative;
    } else {
        out.m_digits = subtract_magnitudes(y, x);
        out.m_negative = b.m_negative;
    }
    out.normalize();
    return out;
}

Decimal operator*(const Decimal& a, const Decimal& b) {
    std::vector<int> product(a.m_digits.size() + b.m_digits.size(), 0);
    for (std::size_t i = 0; i < a.m_digits.size(); ++i)
        for (std::size_t j = 0; j < b.m_digits.size(); ++j)
            product[i + j + 1] += (a.m_digits[i] - '0') * (b.m_digits[j] - '0');
    for (std::size_t k = product.size() - 1; k > 0; --k) {
        product[k - 1] += product[k] / 10;
        product[k] %= 10;
    }
    Decimal out;
    out.m_digits.clear();
    for (int digit : product) out.m_digits.push_back(static_cast<char>('0' + digit));
    out.m_scale = a.m_scale + b.m_scale;
    out.m_negative = a.m_negative != b.m_negative;
    out.normalize();
    return out;
}

int compare(const Decimal& a, const Decimal& b) {
    if (a.m_negative != b.m_negative) return a.m_negative ? -1 : 1;
    int scale = std::max(a.m_scale, b.m_scale);
    int magnitude = compare_magnitudes(a.digits_at(scale), b.digits_at(scale));
    return a.m_negative ? -magnitude : magnitude;
}

}  // namespace migrate
