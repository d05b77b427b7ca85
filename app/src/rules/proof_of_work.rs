//! The proof of work that comes with a captcha: a nonce such that
//! SHA-256(challenge ‖ nonce), the nonce written in decimal, starts with
//! `bits` zero bits. The browser searches for it in slices (the page stays
//! responsive between them); the server checks one hash. The challenge
//! itself (what it binds, when it expires) is the server's business.

use sha2::{Digest, Sha256};

/// A found nonce for a challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    pub challenge: String,
    pub nonce: u64,
}

/// The number of zero bits at the start of `hash`.
pub fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in hash {
        bits += byte.leading_zeros();
        if *byte != 0 {
            break;
        }
    }
    bits
}

/// Writes `n` in decimal into `buf`, returning the digits.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// Whether `nonce` proves `bits` of work on `challenge`.
pub fn proves(challenge: &str, nonce: u64, bits: u32) -> bool {
    let mut buf = [0u8; 20];
    let hash = Sha256::new().chain_update(challenge.as_bytes()).chain_update(decimal(nonce, &mut buf)).finalize();
    leading_zero_bits(&hash) >= bits
}

/// Tries the nonces `from..from + count`; the first that proves `bits`.
pub fn search(challenge: &str, bits: u32, from: u64, count: u64) -> Option<u64> {
    // The challenge's blocks are hashed once; each try adds only the nonce.
    let prefix = Sha256::new().chain_update(challenge.as_bytes());
    let mut buf = [0u8; 20];
    (from..from.saturating_add(count)).find(|&nonce| {
        let hash = prefix.clone().chain_update(decimal(nonce, &mut buf)).finalize();
        leading_zero_bits(&hash) >= bits
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_bits_are_counted_across_bytes() {
        assert_eq!(leading_zero_bits(&[0x80, 0]), 0);
        assert_eq!(leading_zero_bits(&[0x01, 0xff]), 7);
        assert_eq!(leading_zero_bits(&[0, 0x20]), 10);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }

    #[test]
    fn decimal_nonces_are_what_the_documented_solver_hashes() {
        let mut buf = [0u8; 20];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(u64::MAX, &mut buf), b"18446744073709551615");
        // docs/api.md's solver: sha256((challenge + str(nonce)).encode()).
        let hash = Sha256::digest(b"abc123");
        assert_eq!(leading_zero_bits(&hash) >= 3, proves("abc", 123, 3));
    }

    #[test]
    fn a_found_nonce_proves_the_work_and_others_mostly_do_not() {
        let nonce = search("1.test", 12, 0, 1 << 24).expect("2^12 expected tries");
        assert!(proves("1.test", nonce, 12));
        // The same nonce proves nothing for another challenge (1 in 4096 would).
        assert!(!proves("1.other", nonce, 12) || !proves("1.other2", nonce, 12));
        // The search found the first: none before it proves the work.
        assert!((0..nonce).all(|n| !proves("1.test", n, 12)));
    }

    #[test]
    fn zero_bits_is_no_work() {
        assert_eq!(search("c", 0, 7, 10), Some(7));
        assert!(proves("c", 0, 0));
    }
}
