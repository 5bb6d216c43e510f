//! Reed–Solomon error correction over GF(256) as QR codes use it (ISO/IEC 18004 §7.5.2): the
//! field is built on the primitive polynomial x⁸ + x⁴ + x³ + x² + 1 (0x11D), generator element 2,
//! and the generator polynomial of degree n is (x − α⁰)(x − α¹)…(x − αⁿ⁻¹).

use std::sync::OnceLock;

/// Computes error-correction codewords for one block length with a product table: row `f`
/// holds `f · g(x)` for the generator g of degree `ec_len`, padded with zeros to 32 bytes, so
/// each data codeword costs one shift and one XOR of 32 bytes.
pub(crate) struct Encoder {
    ec_len: usize,
    products: Vec<[u8; PRODUCT_WIDTH]>,
}

/// Room for the longest remainder, 30 codewords.
const PRODUCT_WIDTH: usize = 32;

impl Encoder {
    /// The encoder for `ec_len` (1–30) codewords per block, built on first use.
    pub(crate) fn for_length(ec_len: usize) -> &'static Self {
        static ENCODERS: [OnceLock<Encoder>; 31] = [const { OnceLock::new() }; 31];
        let [first, ..] = &ENCODERS;
        ENCODERS
            .get(ec_len)
            .unwrap_or(first)
            .get_or_init(|| Self::new(ec_len.min(30)))
    }

    fn new(ec_len: usize) -> Self {
        let generator = generator(ec_len);
        let products = (0..=255u8)
            .map(|factor| {
                let mut row = [0u8; PRODUCT_WIDTH];
                for (slot, &coefficient_log) in row.iter_mut().zip(&generator) {
                    *slot = multiply(factor, exp(usize::from(coefficient_log)));
                }
                row
            })
            .collect();
        Self { ec_len, products }
    }

    /// Appends to `out` the remainder of `data · xⁿ` divided by the generator polynomial,
    /// most significant coefficient first.
    pub(crate) fn remainder(&self, data: &[u8], out: &mut Vec<u8>) {
        // The remainder is kept in a 32-byte value (a shift register): each data codeword
        // shifts it by one and XORs a whole product row in.
        let zero = [0u8; PRODUCT_WIDTH];
        let mut rest = zero;
        for &byte in data {
            let factor = usize::from(byte ^ rest.first().copied().unwrap_or(0));
            let product = self.products.get(factor).unwrap_or(&zero);
            rest = std::array::from_fn(|index| {
                rest.get(index + 1).copied().unwrap_or(0) ^ product.get(index).copied().unwrap_or(0)
            });
        }
        out.extend(rest.iter().take(self.ec_len));
    }
}

/// The generator polynomial of degree `degree`, as the discrete logarithms of its coefficients
/// (the leading coefficient 1 is implied and left out), from which [`Encoder`] builds its product table.
pub(crate) fn generator(degree: usize) -> Vec<u8> {
    // Coefficients as field elements, leading term first, starting from the polynomial 1.
    let mut poly = vec![1u8];
    for root in 0..degree {
        let root_value = exp(root % 255);
        let mut next = vec![0u8; poly.len() + 1];
        for (index, &coefficient) in poly.iter().enumerate() {
            if let Some(slot) = next.get_mut(index) {
                *slot ^= coefficient;
            }
            if let Some(slot) = next.get_mut(index + 1) {
                *slot ^= multiply(coefficient, root_value);
            }
        }
        poly = next;
    }
    poly.iter()
        .skip(1)
        .map(|&coefficient| LOG.get(usize::from(coefficient)).copied().unwrap_or(0))
        .collect()
}

/// Product of two field elements.
fn multiply(left: u8, right: u8) -> u8 {
    if left == 0 || right == 0 {
        return 0;
    }
    let log_left = usize::from(LOG.get(usize::from(left)).copied().unwrap_or(0));
    let log_right = usize::from(LOG.get(usize::from(right)).copied().unwrap_or(0));
    exp(log_left + log_right)
}

/// α^power, for a power below 510 (the sum of two logarithms), by table lookup.
fn exp(power: usize) -> u8 {
    EXP.get(power).copied().unwrap_or(0)
}

/// α^i for i in 0..512, the cycle of 255 written out twice so that a sum of two logarithms
/// needs no reduction modulo 255 in the inner loop.
const EXP: [u8; 512] = tables().0;
/// log_α(x) for x in 1..=255 (entry 0 is unused).
const LOG: [u8; 256] = tables().1;

#[expect(
    clippy::indexing_slicing,
    reason = "compile-time loops: power < 512 and value is a byte, both within the tables"
)]
const fn tables() -> ([u8; 512], [u8; 256]) {
    let mut exp = [0u8; 512];
    let mut log = [0u8; 256];
    let mut value: u16 = 1;
    let mut power = 0;
    while power < 255 {
        exp[power] = value as u8;
        log[value as usize] = power as u8;
        value <<= 1;
        if value & 0x100 != 0 {
            value ^= PRIMITIVE;
        }
        power += 1;
    }
    while power < 512 {
        exp[power] = exp[power - 255];
        power += 1;
    }
    (exp, log)
}

/// x⁸ + x⁴ + x³ + x² + 1.
const PRIMITIVE: u16 = 0x11D;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_tables_are_inverse() {
        for value in 1..=255u8 {
            assert_eq!(exp(usize::from(LOG[usize::from(value)])), value);
        }
    }

    #[test]
    fn generator_of_degree_7_matches_the_standard() {
        // ISO/IEC 18004 Annex A lists the degree-7 generator as exponents
        // α⁰x⁷ + α⁸⁷x⁶ + α²²⁹x⁵ + α¹⁴⁶x⁴ + α¹⁴⁹x³ + α²³⁸x² + α¹⁰²x + α²¹.
        assert_eq!(generator(7), vec![87, 229, 146, 149, 238, 102, 21]);
    }

    #[test]
    fn remainder_of_the_standard_example() {
        // The 1-M example of ISO/IEC 18004 Annex I ("01234567"): 16 data codewords → 10 EC.
        let data = [
            0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11,
            0xEC, 0x11,
        ];
        let mut out = Vec::new();
        Encoder::for_length(10).remainder(&data, &mut out);
        assert_eq!(
            out,
            vec![0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55]
        );
    }
}
