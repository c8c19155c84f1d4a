//! INCRBYFLOAT's arithmetic as Redis does it on x86-64: C's `long double`
//! (the x87 80-bit format, a 64-bit mantissa), parsed by `strtold`,
//! added with round-to-nearest-even, and printed with `%.17Lf` with the
//! trailing zeros cut. `f64` gives other digits (`0.1 + 0.2` is
//! `0.30000000000000004` in f64 and `0.3` in Redis), and clients compare
//! strings, so the format is emulated exactly, with integers of arbitrary
//! size (`Big`) for the conversions.

use std::cmp::Ordering;

/// A finite x87 extended value: `mant × 2^exp`, `mant` normalised (top bit
/// set) unless the value is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LongDouble {
    neg: bool,
    mant: u64,
    exp: i32,
}

/// The smallest and largest binary exponents of the leading bit of a
/// normal x87 extended value.
const LEAD_MIN: i64 = -16382;
const LEAD_MAX: i64 = 16383;

/// Longest input Redis reads as a long double (`MAX_LONG_DOUBLE_CHARS`).
const CHARS_MAX: usize = 5 * 1024;

/// What an addition gives: a finite value, or an infinity (overflow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sum {
    Finite(LongDouble),
    Infinite,
}

impl LongDouble {
    const ZERO: LongDouble = LongDouble {
        neg: false,
        mant: 0,
        exp: 0,
    };

    /// Reads `text` as Redis's `string2ld` does: all of it, no leading
    /// space, not NaN, no overflow or underflow. `Some(Err(()))` is an
    /// infinity (accepted: an increment by it fails later, as in Redis).
    pub fn parse(text: &[u8]) -> Option<Result<LongDouble, ()>> {
        if text.is_empty() || text.len() >= CHARS_MAX || text[0].is_ascii_whitespace() {
            return None;
        }
        let (neg, rest) = match text[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let lower = rest.to_ascii_lowercase();
        if lower == b"inf" || lower == b"infinity" {
            return Some(Err(()));
        }
        if lower.starts_with(b"nan") {
            return None;
        }
        let value = if lower.starts_with(b"0x") {
            parse_hex(&lower[2..])?
        } else {
            parse_decimal(rest)?
        };
        Some(Ok(LongDouble { neg, ..value }))
    }

    /// `self + other`, rounded to nearest, ties to even.
    pub fn add(self, other: LongDouble) -> Sum {
        if other.mant == 0 {
            return Sum::Finite(if self.mant == 0 {
                // -0 + -0 is -0; any other sum of zeros is +0.
                LongDouble {
                    neg: self.neg && other.neg,
                    ..LongDouble::ZERO
                }
            } else {
                self
            });
        }
        if self.mant == 0 {
            return Sum::Finite(other);
        }
        let (big, small) = if self.exp >= other.exp {
            (self, other)
        } else {
            (other, self)
        };
        let gap = i64::from(big.exp) - i64::from(small.exp);
        if gap > 130 {
            // Below a quarter of an ulp of `big` (whose mantissa has 64
            // bits): the rounded sum is `big` itself.
            return Sum::Finite(big);
        }
        let a = Big::from_u64(big.mant).shl(gap as u32);
        let b = Big::from_u64(small.mant);
        let (neg, magnitude) = if big.neg == small.neg {
            (big.neg, a.add(&b))
        } else {
            match a.cmp(&b) {
                Ordering::Equal => return Sum::Finite(LongDouble::ZERO),
                Ordering::Greater => (big.neg, a.sub(&b)),
                Ordering::Less => (small.neg, b.sub(&a)),
            }
        };
        match round(magnitude, i64::from(small.exp), false) {
            Rounded::Value(mant, exp) => Sum::Finite(LongDouble { neg, mant, exp }),
            Rounded::Overflow => Sum::Infinite,
            // A difference below the normal range: Redis keeps the
            // subnormal; it cannot arise from values INCRBYFLOAT stores
            // short of 10^-4900, and is taken as zero here.
            Rounded::Underflow => Sum::Finite(LongDouble::ZERO),
        }
    }

    /// The value as `%.17Lf` prints it, trailing zeros (and a trailing
    /// point) cut, and `-0` as `0`: Redis's `ld2string(LD_STR_HUMAN)`.
    pub fn to_human(self) -> String {
        const DECIMALS: u32 = 17;
        let scaled = if self.mant == 0 {
            Big::zero()
        } else if self.exp >= 0 {
            Big::from_u64(self.mant)
                .shl(self.exp as u32)
                .mul_pow10(DECIMALS)
        } else {
            // mant × 10^17 / 2^-exp, rounded to nearest, ties to even.
            let shift = self.exp.unsigned_abs();
            let num = Big::from_u64(self.mant).mul_pow10(DECIMALS);
            let (mut q, half, rest) = num.shr_round_bits(shift);
            if half && (rest || q.is_odd()) {
                q = q.add(&Big::from_u64(1));
            }
            q
        };
        let mut digits = scaled.to_decimal();
        while digits.len() <= DECIMALS as usize {
            digits.insert(0, '0');
        }
        digits.insert(digits.len() - DECIMALS as usize, '.');
        let trimmed = digits.trim_end_matches('0').trim_end_matches('.');
        if self.neg && trimmed != "0" {
            format!("-{trimmed}")
        } else {
            trimmed.to_string()
        }
    }
}

/// Decimal digits with an optional point and exponent, correctly rounded.
fn parse_decimal(text: &[u8]) -> Option<LongDouble> {
    let mut digits = Big::zero();
    let mut any = false;
    let mut scale: i64 = 0;
    let mut i = 0;
    let mut seen_point = false;
    let mut pending: u32 = 0;
    let mut pending_n = 0;
    while i < text.len() {
        match text[i] {
            b'0'..=b'9' => {
                any = true;
                pending = pending * 10 + u32::from(text[i] - b'0');
                pending_n += 1;
                if pending_n == 9 {
                    digits = digits
                        .mul_small(1_000_000_000)
                        .add(&Big::from_u64(pending.into()));
                    pending = 0;
                    pending_n = 0;
                }
                if seen_point {
                    scale -= 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if pending_n > 0 {
        digits = digits
            .mul_small(10u32.pow(pending_n))
            .add(&Big::from_u64(pending.into()));
    }
    if i < text.len() {
        if text[i] != b'e' && text[i] != b'E' {
            return None;
        }
        scale += exponent(&text[i + 1..])?;
    }
    if digits.is_zero() {
        return Some(LongDouble::ZERO);
    }
    // Far outside the range whatever the digits (at most ~5000 of them).
    if scale > 6000 {
        return None;
    }
    if scale < -12000 {
        return None;
    }
    let rounded = if scale >= 0 {
        round(digits.mul_pow10(scale as u32), 0, false)
    } else {
        // digits / 10^-scale: shift left far enough that the quotient has
        // at least 66 bits, divide (by powers of ten that fit a limb),
        // and keep whether anything was left over.
        let divisor_bits = (-scale as f64 * std::f64::consts::LOG2_10).ceil() as i64 + 1;
        let shift = (66 + divisor_bits - digits.bit_len() as i64).max(0);
        let (quotient, inexact) = digits.shl(shift as u32).div_pow10((-scale) as u32);
        round(quotient, -shift, inexact)
    };
    match rounded {
        Rounded::Value(mant, exp) => Some(LongDouble {
            neg: false,
            mant,
            exp,
        }),
        Rounded::Overflow | Rounded::Underflow => None,
    }
}

/// Hexadecimal digits with an optional point and binary exponent (`p`).
fn parse_hex(text: &[u8]) -> Option<LongDouble> {
    let mut digits = Big::zero();
    let mut any = false;
    let mut scale: i64 = 0;
    let mut seen_point = false;
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        if let Some(d) = (c as char).to_digit(16) {
            any = true;
            digits = digits.shl(4).add(&Big::from_u64(d.into()));
            if seen_point {
                scale -= 4;
            }
        } else if c == b'.' && !seen_point {
            seen_point = true;
        } else {
            break;
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if i < text.len() {
        if text[i] != b'p' {
            return None;
        }
        scale += exponent(&text[i + 1..])?;
    }
    if digits.is_zero() {
        return Some(LongDouble::ZERO);
    }
    match round(digits, scale, false) {
        Rounded::Value(mant, exp) => Some(LongDouble {
            neg: false,
            mant,
            exp,
        }),
        Rounded::Overflow | Rounded::Underflow => None,
    }
}

/// The digits of an exponent (after `e` or `p`), with an optional sign;
/// one past the range saturates (and then over- or underflows).
fn exponent(text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?;
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i64 = body.parse().unwrap_or(i64::MAX / 4).min(1 << 40);
    Some(if text.starts_with('-') { -value } else { value })
}

enum Rounded {
    Value(u64, i32),
    Overflow,
    Underflow,
}

/// `n × 2^exp` (plus a little more when `inexact`) rounded to a 64-bit
/// mantissa, to nearest, ties to even; checked against the range.
fn round(n: Big, exp: i64, inexact: bool) -> Rounded {
    let len = n.bit_len() as i64;
    let (mant, exp) = if len <= 64 {
        (n.low_u64() << (64 - len), exp - (64 - len))
    } else {
        let shift = (len - 64) as u32;
        let (q, half, rest) = n.shr_round_bits(shift);
        let mut mant = q.low_u64();
        let mut exp = exp + i64::from(shift);
        if half && (rest || inexact || mant & 1 == 1) {
            mant = mant.wrapping_add(1);
            if mant == 0 {
                mant = 1 << 63;
                exp += 1;
            }
        }
        (mant, exp)
    };
    let lead = exp + 63;
    if lead > LEAD_MAX {
        Rounded::Overflow
    } else if lead < LEAD_MIN {
        Rounded::Underflow
    } else {
        Rounded::Value(mant, exp as i32)
    }
}

/// A natural number of any size: little-endian 32-bit limbs, no
/// trailing zero limbs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn zero() -> Big {
        Big(Vec::new())
    }

    fn from_u64(n: u64) -> Big {
        Big(vec![n as u32, (n >> 32) as u32]).trimmed()
    }

    fn trimmed(mut self) -> Big {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
        self
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn is_odd(&self) -> bool {
        self.0.first().is_some_and(|l| l & 1 == 1)
    }

    fn bit_len(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(top) => (self.0.len() as u64 - 1) * 32 + u64::from(32 - top.leading_zeros()),
        }
    }

    fn low_u64(&self) -> u64 {
        let limb = |i: usize| u64::from(self.0.get(i).copied().unwrap_or(0));
        limb(0) | (limb(1) << 32)
    }

    fn bit(&self, i: u64) -> bool {
        self.0
            .get((i / 32) as usize)
            .is_some_and(|l| (l >> (i % 32)) & 1 == 1)
    }

    fn any_below(&self, bits: u64) -> bool {
        let full = (bits / 32) as usize;
        if self.0.iter().take(full).any(|l| *l != 0) {
            return true;
        }
        let part = bits % 32;
        part > 0
            && self
                .0
                .get(full)
                .is_some_and(|l| l & ((1u32 << part) - 1) != 0)
    }

    fn shl(&self, bits: u32) -> Big {
        let limbs = (bits / 32) as usize;
        let shift = bits % 32;
        let mut out = vec![0u32; limbs];
        let mut carry = 0u32;
        for &l in &self.0 {
            if shift == 0 {
                out.push(l);
            } else {
                out.push((l << shift) | carry);
                carry = l >> (32 - shift);
            }
        }
        if carry != 0 {
            out.push(carry);
        }
        Big(out).trimmed()
    }

    /// `self >> bits`, the bit just below the cut, and whether any bit
    /// under that one is set.
    fn shr_round_bits(&self, bits: u32) -> (Big, bool, bool) {
        let half = bits > 0 && self.bit(u64::from(bits) - 1);
        let rest = bits > 1 && self.any_below(u64::from(bits) - 1);
        let limbs = (bits / 32) as usize;
        let shift = bits % 32;
        let src = self.0.get(limbs..).unwrap_or(&[]);
        let mut out = Vec::with_capacity(src.len());
        for (i, &l) in src.iter().enumerate() {
            let high = src.get(i + 1).copied().unwrap_or(0);
            out.push(if shift == 0 {
                l
            } else {
                (l >> shift) | (high << (32 - shift))
            });
        }
        (Big(out).trimmed(), half, rest)
    }

    fn add(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len().max(other.0.len()) + 1);
        let mut carry = 0u64;
        for i in 0..self.0.len().max(other.0.len()) {
            let sum = u64::from(self.0.get(i).copied().unwrap_or(0))
                + u64::from(other.0.get(i).copied().unwrap_or(0))
                + carry;
            out.push(sum as u32);
            carry = sum >> 32;
        }
        if carry != 0 {
            out.push(carry as u32);
        }
        Big(out).trimmed()
    }

    /// `self - other`; `self >= other`.
    fn sub(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let mut d =
                i64::from(self.0[i]) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            borrow = 0;
            if d < 0 {
                d += 1 << 32;
                borrow = 1;
            }
            out.push(d as u32);
        }
        Big(out).trimmed()
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn mul_small(&self, m: u32) -> Big {
        let mut out = Vec::with_capacity(self.0.len() + 1);
        let mut carry = 0u64;
        for &l in &self.0 {
            let p = u64::from(l) * u64::from(m) + carry;
            out.push(p as u32);
            carry = p >> 32;
        }
        if carry != 0 {
            out.push(carry as u32);
        }
        Big(out).trimmed()
    }

    fn mul_pow10(&self, mut n: u32) -> Big {
        let mut out = self.clone();
        while n >= 9 {
            out = out.mul_small(1_000_000_000);
            n -= 9;
        }
        out.mul_small(10u32.pow(n))
    }

    /// `self / d` and its remainder, for `d` that fits a limb.
    fn div_small(&self, d: u32) -> (Big, u32) {
        let mut out = vec![0u32; self.0.len()];
        let mut rem = 0u64;
        for i in (0..self.0.len()).rev() {
            let cur = (rem << 32) | u64::from(self.0[i]);
            out[i] = (cur / u64::from(d)) as u32;
            rem = cur % u64::from(d);
        }
        (Big(out).trimmed(), rem as u32)
    }

    /// `self / 10^n`, rounded down, and whether that dropped anything.
    fn div_pow10(&self, mut n: u32) -> (Big, bool) {
        let mut out = self.clone();
        let mut inexact = false;
        while n > 0 {
            let step = n.min(9);
            let (q, r) = out.div_small(10u32.pow(step));
            inexact |= r != 0;
            out = q;
            n -= step;
        }
        (out, inexact)
    }

    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".to_string();
        }
        let mut chunks = Vec::new();
        let mut n = self.clone();
        while !n.is_zero() {
            let (q, r) = n.div_small(1_000_000_000);
            chunks.push(r);
            n = q;
        }
        let mut out = chunks.pop().map(|c| c.to_string()).unwrap_or_default();
        for c in chunks.iter().rev() {
            out += &format!("{c:09}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> LongDouble {
        LongDouble::parse(text.as_bytes()).unwrap().unwrap()
    }

    fn incr(a: &str, b: &str) -> String {
        match value(a).add(value(b)) {
            Sum::Finite(v) => v.to_human(),
            Sum::Infinite => "inf".into(),
        }
    }

    /// Every expected string below is what redis-server 7.0.15 on x86-64
    /// answered to `SET k A` then `INCRBYFLOAT k B`.
    #[test]
    fn sums_print_as_redis_prints_them() {
        assert_eq!(incr("0", "0.1"), "0.1");
        assert_eq!(incr("0.1", "0.2"), "0.3");
        assert_eq!(incr("10.5", "0.1"), "10.6");
        assert_eq!(incr("0", "0x10"), "16");
        assert_eq!(incr("0x10", "0"), "16");
        assert_eq!(incr("0", "1e30"), "1000000000000000000024696061952");
        assert_eq!(incr("10", "100000000000000000000"), "100000000000000000008");
        assert_eq!(incr("-9223372036854775808", "1.0"), "-9223372036854775807");
        assert_eq!(incr("17179869184", "1.5"), "17179869185.5");
        assert_eq!(incr("1", "-1"), "0");
        assert_eq!(incr("5.0e3", "0"), "5000");
        assert_eq!(incr("3", "-0.5"), "2.5");
        assert_eq!(incr("0", "0x1p3"), "8");
        assert_eq!(incr("-0", "0"), "0");
        assert_eq!(incr("1000.1", "0"), "1000.09999999999999998");
        assert_eq!(incr("0", "0.333333333333333333333"), "0.33333333333333333");
        assert_eq!(incr("1e-20", "0"), "0");
        assert_eq!(
            incr("123456789.123456789", "0.000000001"),
            "123456789.12345678999554366"
        );
        assert_eq!(incr("0", "2.5e-18"), "0");
        // 2^-18: a tie at the 17th decimal, rounded to even.
        assert_eq!(incr("0", "3.814697265625e-6"), "0.00000381469726562");
    }

    #[test]
    fn parsing_follows_string2ld() {
        for bad in [
            "", " 1", "1 ", "abc", "1e", "1e+", ".", "nan", "-nan", "0x", "1.2.3", "1e99999",
            "1e-99999",
        ] {
            assert!(LongDouble::parse(bad.as_bytes()).is_none(), "{bad:?}");
        }
        for inf in ["inf", "-INF", "+Infinity"] {
            assert_eq!(LongDouble::parse(inf.as_bytes()), Some(Err(())), "{inf}");
        }
        for good in ["1", "-1.5", "+.5", "5.", "1E3", "0x1p3", "0X1.8P1", "007"] {
            assert!(
                matches!(LongDouble::parse(good.as_bytes()), Some(Ok(_))),
                "{good}"
            );
        }
        assert_eq!(value("0x1p3").to_human(), "8");
        assert_eq!(value("0X1.8P1").to_human(), "3");
        assert_eq!(value("-0").to_human(), "0");
    }

    #[test]
    fn overflow_is_infinite() {
        let huge = value("1e4932");
        assert_eq!(huge.add(huge), Sum::Infinite);
    }
}
