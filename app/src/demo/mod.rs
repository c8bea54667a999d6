//! The demo providers: a curated list of real, recurring world events that evolves
//! deterministically from one refresh to the next, and generated places and flight
//! offers near each venue. Everything they produce is flagged `demo`.

pub mod feed;
pub mod flights;
pub mod places;
pub mod synthetic;

/// A deterministic hash of some parts, for reproducible pseudo-random choices.
pub(crate) fn hash(parts: &[&str]) -> u64 {
    let bytes: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
    // Mix the FNV result so low bits are usable for modulo choices.
    let mut x = crate::store::reference::fnv1a(&bytes);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x
}
