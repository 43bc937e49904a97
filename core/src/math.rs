//! Pure metric math (SPEC §8): exact percentiles of whole-second durations.
//!
//! PostgreSQL's `percentile_cont` works in `float8` and answers 33.300000000000004 for P90 of
//! {0, 37}. Here the p-th percentile of n sorted integers is computed exactly: the position
//! `p/100 · (n − 1)` is the rational `p·(n − 1) / 100`, so the result is the lower value plus
//! `remainder/100` of the gap — a decimal with at most two fractional digits, rendered as text for
//! PostgreSQL to read as `numeric`.

/// The `p`-th percentile (0 ≤ p ≤ 100) of `values` with linear interpolation between closest ranks,
/// as an exact decimal string; `None` when `values` is empty. `values` need not be sorted.
pub fn percentile(values: &mut [i64], p: u32) -> Option<String> {
    if values.is_empty() || p > 100 {
        return None;
    }
    values.sort_unstable();
    let steps = p as u128 * (values.len() as u128 - 1);
    let index = (steps / 100) as usize;
    let rem = (steps % 100) as i128;
    let lo = values[index] as i128;
    if rem == 0 {
        return Some(lo.to_string());
    }
    let hi = values[index + 1] as i128;
    // Exact value times 100.
    let scaled = lo * 100 + (hi - lo) * rem;
    Some(decimal_hundredths(scaled))
}

/// Render `scaled / 100` as a decimal without trailing zeros.
fn decimal_hundredths(scaled: i128) -> String {
    let sign = if scaled < 0 { "-" } else { "" };
    let abs = scaled.unsigned_abs();
    let (whole, frac) = (abs / 100, abs % 100);
    match frac {
        0 => format!("{sign}{whole}"),
        f if f % 10 == 0 => format!("{sign}{whole}.{}", f / 10),
        f => format!("{sign}{whole}.{f:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pct(values: &[i64], p: u32) -> Option<String> {
        percentile(&mut values.to_vec(), p)
    }

    #[test]
    fn spec_examples() {
        assert_eq!(pct(&[0, 37], 90).as_deref(), Some("33.3"));
        assert_eq!(pct(&[], 50), None);
        assert_eq!(pct(&[42], 50).as_deref(), Some("42"));
        assert_eq!(pct(&[42], 90).as_deref(), Some("42"));
        assert_eq!(pct(&[10, 20], 50).as_deref(), Some("15"));
        assert_eq!(pct(&[10, 20], 75).as_deref(), Some("17.5"));
        assert_eq!(pct(&[1, 2, 3, 4, 5], 50).as_deref(), Some("3"));
        assert_eq!(pct(&[5, 1, 4, 2, 3], 75).as_deref(), Some("4"));
        assert_eq!(pct(&[1, 2, 3, 4, 5], 90).as_deref(), Some("4.6"));
        assert_eq!(pct(&[0, 1, 2, 3], 50).as_deref(), Some("1.5"));
        assert_eq!(pct(&[0, 1], 1).as_deref(), Some("0.01"));
        assert_eq!(pct(&[-3, 0], 50).as_deref(), Some("-1.5"));
        assert_eq!(pct(&[-1, 0], 90).as_deref(), Some("-0.1"));
        assert_eq!(pct(&[3, 9], 0).as_deref(), Some("3"));
        assert_eq!(pct(&[3, 9], 100).as_deref(), Some("9"));
        assert_eq!(
            pct(&[i64::MAX - 1, i64::MAX], 50).as_deref(),
            Some("9223372036854775806.5")
        );
    }

    proptest! {
        /// Against the textbook formula in exact rational arithmetic (scaled by 100).
        #[test]
        fn matches_the_definition(mut values in prop::collection::vec(-1_000_000i64..1_000_000, 1..200), p in 0u32..=100) {
            let got = percentile(&mut values.clone(), p).unwrap();
            values.sort();
            let n = values.len() as i128;
            let pos100 = p as i128 * (n - 1); // position × 100
            let k = (pos100 / 100) as usize;
            let frac100 = pos100 % 100;
            let expected100 = if frac100 == 0 { values[k] as i128 * 100 }
                              else { values[k] as i128 * 100 + (values[k + 1] as i128 - values[k] as i128) * frac100 };
            let got100: i128 = {
                let neg = got.starts_with('-');
                let digits = got.trim_start_matches('-');
                let (w, f) = digits.split_once('.').unwrap_or((digits, ""));
                let f = format!("{f:0<2}");
                let v = w.parse::<i128>().unwrap() * 100 + f.parse::<i128>().unwrap();
                if neg { -v } else { v }
            };
            prop_assert_eq!(got100, expected100);
            prop_assert!(!got.contains('.') || !got.ends_with('0'));
        }
    }
}
