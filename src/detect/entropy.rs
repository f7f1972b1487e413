//! Shannon entropy of a byte string. Pure functions, no allocation.

/// Shannon entropy in bits per byte: 0 for a constant string, at most
/// `log2(number of distinct bytes)`, unchanged by permutation.
///
/// ```
/// assert_eq!(leakhound::detect::entropy::shannon(b"aaaa"), 0.0);
/// assert!((leakhound::detect::entropy::shannon(b"ab") - 1.0).abs() < 1e-9);
/// ```
pub fn shannon(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn constant_strings_have_zero_entropy(b in any::<u8>(), n in 1usize..200) {
            prop_assert_eq!(shannon(&vec![b; n]), 0.0);
        }

        #[test]
        fn bounded_by_log2_of_distinct_symbols(v in proptest::collection::vec(any::<u8>(), 1..300)) {
            let mut distinct = v.clone();
            distinct.sort_unstable();
            distinct.dedup();
            prop_assert!(shannon(&v) <= (distinct.len() as f64).log2() + 1e-9);
        }

        #[test]
        fn unchanged_by_permutation(v in proptest::collection::vec(any::<u8>(), 1..300), seed in any::<u64>()) {
            let mut w = v.clone();
            // A deterministic shuffle driven by the seed.
            let mut s = seed | 1;
            for i in (1..w.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                w.swap(i, (s % (i as u64 + 1)) as usize);
            }
            prop_assert!((shannon(&v) - shannon(&w)).abs() < 1e-9);
        }
    }
}
