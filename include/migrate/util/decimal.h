// Exact decimal numbers held as digits, for comparing SUM()s of DECIMAL columns (up to 65
// digits) and tolerances without the rounding of a double.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace migrate {

class Decimal {
public:
    Decimal() = default;  // zero
    // "-123.45", "12", "+0.5", "1.5e3", "2.5E-4"; nullopt for anything else.
    static std::optional<Decimal> parse(std::string_view text);
    static Decimal of(long long value);

    // The value with as many decimals as it was given ("12.50" stays "12.50").
    std::string str() const;
    bool negative() const { return m_negative; }
    bool is_zero() const;
    Decimal abs() const;
    Decimal operator-() const;
    friend Decimal operator+(const Decimal& a, const Decimal& b);
    friend Decimal operator-(const Decimal& a, const Decimal& b) { return a + (-b); }
    friend Decimal operator*(const Decimal& a, const Decimal& b);
    // <0, 0, >0 as a is less than, equal to, greater than b (2.50 equals 2.5).
    friend int compare(const Decimal& a, const Decimal& b);
    friend bool operator==(const Decimal& a, const Decimal& b) { return compare(a, b) == 0; }

private:
    bool m_negative = false;
    std::string m_digits = "0";  // the magnitude's digits, most significant first
    int m_scale = 0;             // how many of them follow the decimal point

    void normalize();
    std::string digits_at(int scale) const;  // the magnitude's digits with `scale` decimals
};

}  // namespace migrate
