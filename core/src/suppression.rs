//! Small-cell suppression (SPEC §11.1, §11.2): which published numbers could point at a person.
//!
//! k is `min_cell_size`. A *small* count is one in 1 … k−1 (0 is not a small cell). The metrics
//! that count people or events about people — M1, M2_P50/P75/P90, M3, M5, M7 — are suppressed when
//! a count they publish is small: for a rate its numerator, its denominator or their difference;
//! for M2 its denominator (the durations counted). M4 (services) and M6 (audits of listings) are
//! never suppressed.
//!
//! Across organizations (the cycle scorecard), suppressing a cell is not enough: the total minus
//! the shown cells gives the sum of the suppressed ones. [`complementary`] suppresses more shown
//! cells until, for every additive quantity, the suppressed cells sum to 0 or to at least k.

/// How a metric is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A rate: numerator, denominator and their difference are counts.
    Rate,
    /// A statistic over the denominator's items (M2's percentiles): the denominator is the count.
    Count,
    /// Never suppressed (M4, M6: services and listings, not people).
    Never,
}

/// The rule of a metric of the scorecard (SPEC §8's ids); None for an unknown id.
pub fn rule(metric_id: &str) -> Option<Rule> {
    match metric_id {
        "M1" | "M3" | "M5" | "M7" => Some(Rule::Rate),
        "M2_P50" | "M2_P75" | "M2_P90" => Some(Rule::Count),
        "M4" | "M6" => Some(Rule::Never),
        _ => None,
    }
}

/// A count in 1 … k−1. With k ≤ 1 nothing is small (k = 0 turns suppression off).
#[inline]
pub fn is_small(k: u64, n: u64) -> bool {
    n >= 1 && n < k
}

/// Whether a metric's cell is suppressed (primary suppression). A numerator above the
/// denominator cannot come from the scorecard; its difference is then taken as 0.
pub fn suppressed(k: u64, rule: Rule, numerator: Option<u64>, denominator: u64) -> bool {
    match rule {
        Rule::Never => false,
        Rule::Count => is_small(k, denominator),
        Rule::Rate => {
            let num = numerator.unwrap_or(0);
            is_small(k, denominator)
                || is_small(k, num)
                || is_small(k, denominator.saturating_sub(num))
        }
    }
}

/// The additive quantities of a rate cell: numerator, denominator, denominator − numerator.
fn quantities(cell: (u64, u64)) -> [u64; 3] {
    let (num, den) = cell;
    [num, den, den.saturating_sub(num)]
}

/// Complementary (secondary) suppression of one additive metric across organizations (SPEC
/// §11.2). `cells` are the organizations' (numerator, denominator) in org_id order, `primary` the
/// cells primary suppression hid. While, for some quantity, the suppressed cells sum to a small
/// count, the shown cell smallest in that quantity (ties: the lowest index, i.e. the lowest
/// org_id) is suppressed too — among the cells where that quantity is not 0, since hiding a 0
/// changes no sum. Every step suppresses one more cell, so at most `cells.len()` steps are taken.
/// When no such cell is left, the suppressed cells' sum equals the total's quantity, which primary
/// suppression judges on the total itself. Each step is O(cells); `interrupt` is called once per
/// step (inside PostgreSQL, `check_for_interrupts!`: statement_timeout stops a huge table).
pub fn complementary(
    k: u64,
    cells: &[(u64, u64)],
    primary: &[bool],
    interrupt: &mut dyn FnMut(),
) -> Vec<bool> {
    assert_eq!(cells.len(), primary.len(), "one flag per cell");
    let mut hidden = primary.to_vec();
    'steps: loop {
        interrupt();
        for q in 0..3 {
            let sum: u64 = (0..cells.len())
                .filter(|&i| hidden[i])
                .map(|i| quantities(cells[i])[q])
                .sum();
            if !is_small(k, sum) {
                continue;
            }
            let next = (0..cells.len())
                .filter(|&i| !hidden[i] && quantities(cells[i])[q] > 0)
                .min_by_key(|&i| (quantities(cells[i])[q], i));
            if let Some(i) = next {
                hidden[i] = true;
                continue 'steps;
            }
        }
        return hidden;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_rule_at_its_edges() {
        let k = 11;
        assert!(
            !suppressed(k, Rule::Rate, Some(0), 20),
            "numerator 0 is shown"
        );
        assert!(
            suppressed(k, Rule::Rate, Some(10), 40),
            "numerator 10 is suppressed"
        );
        assert!(
            !suppressed(k, Rule::Rate, Some(11), 40),
            "numerator 11 is shown"
        );
        assert!(
            suppressed(k, Rule::Rate, Some(37), 40),
            "denominator − numerator 3 is suppressed"
        );
        assert!(
            !suppressed(k, Rule::Rate, Some(40), 40),
            "denominator − numerator 0 is shown"
        );
        assert!(
            suppressed(k, Rule::Rate, Some(0), 10),
            "denominator 10 is suppressed"
        );
        assert!(
            !suppressed(k, Rule::Rate, Some(0), 0),
            "an empty rate is not a small cell"
        );
        assert!(
            suppressed(k, Rule::Count, None, 10),
            "M2 with 10 durations is suppressed"
        );
        assert!(
            !suppressed(k, Rule::Count, None, 11),
            "M2 with 11 durations is shown"
        );
        assert!(
            !suppressed(k, Rule::Never, Some(1), 2),
            "M4 and M6 are never suppressed"
        );
        assert!(
            !suppressed(0, Rule::Rate, Some(1), 2),
            "k = 0: suppression off"
        );
        assert!(suppressed(5, Rule::Rate, Some(4), 40) && !suppressed(5, Rule::Rate, Some(5), 40));
        assert_eq!(rule("M2_P90"), Some(Rule::Count));
        assert_eq!(rule("M6"), Some(Rule::Never));
        assert_eq!(rule("M8"), None);
    }

    #[test]
    fn one_suppressed_cell_takes_a_second_one_with_it() {
        // Three organizations; only the first is small on M1 (numerator 3).
        let cells = [(3, 40), (20, 50), (15, 60)];
        let primary: Vec<bool> = cells
            .iter()
            .map(|&(n, d)| suppressed(11, Rule::Rate, Some(n), d))
            .collect();
        assert_eq!(primary, [true, false, false]);
        // The smallest shown numerator is the third's (15).
        assert_eq!(
            complementary(11, &cells, &primary, &mut || {}),
            [true, false, true]
        );
    }

    #[test]
    fn the_interrupt_check_runs_once_per_step() {
        let mut calls = 0;
        let cells = [(3, 40), (20, 50), (15, 60)];
        complementary(11, &cells, &[true, false, false], &mut || calls += 1);
        assert_eq!(
            calls, 2,
            "one step hides a second cell, the next finds nothing to do"
        );
    }

    #[test]
    fn two_small_cells_summing_under_k_take_a_third() {
        let cells = [(2, 30), (3, 30), (30, 60), (25, 50)];
        let primary = [true, true, false, false];
        // Numerators 2 + 3 = 5: the smallest shown numerator (25, the fourth) joins them.
        assert_eq!(
            complementary(11, &cells, &primary, &mut || {}),
            [true, true, false, true]
        );
    }

    #[test]
    fn ties_go_to_the_lowest_org_id() {
        let cells = [(3, 40), (20, 50), (20, 50)];
        assert_eq!(
            complementary(11, &cells, &[true, false, false], &mut || {}),
            [true, true, false]
        );
    }

    #[test]
    fn nothing_to_do_when_the_suppressed_sum_is_large() {
        let cells = [(3, 40), (9, 40), (20, 50)];
        assert_eq!(
            complementary(11, &cells, &[true, true, false], &mut || {}),
            [true, true, false]
        );
    }

    fn table() -> impl Strategy<Value = (u64, Vec<(u64, u64)>)> {
        (
            2u64..20,
            prop::collection::vec(
                (0u64..40, 0u64..40).prop_map(|(a, b)| (a.min(b), a.max(b))),
                1..8,
            ),
        )
    }

    proptest! {
        /// (a) No suppressed cell's count, nor the suppressed cells' sum of a quantity, is a
        /// small count recoverable as total − shown: either the sum is not small, or the shown
        /// cells hold 0 of that quantity — then the sum is the total's, and the total is
        /// suppressed by its own primary rule.
        #[test]
        fn nothing_small_is_recoverable_by_subtraction((k, cells) in table()) {
            let primary: Vec<bool> = cells.iter().map(|&(n, d)| suppressed(k, Rule::Rate, Some(n), d)).collect();
            let hidden = complementary(k, &cells, &primary, &mut || {});
            let total = cells.iter().fold((0, 0), |(n, d), &(a, b)| (n + a, d + b));
            for q in 0..3 {
                let sum: u64 = (0..cells.len()).filter(|&i| hidden[i]).map(|i| quantities(cells[i])[q]).sum();
                let shown: u64 = (0..cells.len()).filter(|&i| !hidden[i]).map(|i| quantities(cells[i])[q]).sum();
                if is_small(k, sum) {
                    prop_assert_eq!(shown, 0, "quantity {}: suppressed cells sum to {} beside shown ones", q, sum);
                    prop_assert!(suppressed(k, Rule::Rate, Some(total.0), total.1), "the total is then suppressed");
                }
            }
            // every shown cell is itself not small
            for i in 0..cells.len() {
                if !hidden[i] {
                    prop_assert!(!suppressed(k, Rule::Rate, Some(cells[i].0), cells[i].1));
                }
            }
        }

        /// (b) Nothing beyond what the rule requires: primary cells stay hidden, and when the
        /// primary cells already leave no small sum, nothing else is hidden; each extra cell was
        /// the smallest shown one of a quantity whose suppressed sum was small at that step.
        #[test]
        fn nothing_beyond_what_the_rule_requires((k, cells) in table()) {
            let primary: Vec<bool> = cells.iter().map(|&(n, d)| suppressed(k, Rule::Rate, Some(n), d)).collect();
            let hidden = complementary(k, &cells, &primary, &mut || {});
            for i in 0..cells.len() {
                prop_assert!(!primary[i] || hidden[i]);
            }
            let small_sum = |h: &[bool]| (0..3).any(|q| {
                let s: u64 = (0..cells.len()).filter(|&i| h[i]).map(|i| quantities(cells[i])[q]).sum();
                is_small(k, s)
            });
            if !small_sum(&primary) {
                prop_assert_eq!(&hidden, &primary);
            }
            // Replaying the choices one by one reaches the same result.
            let mut h = primary.clone();
            let mut steps = 0;
            while h != hidden {
                // the first quantity with a small sum that still has a shown, non-zero cell
                let i = (0..3)
                    .filter(|&q| {
                        let s: u64 = (0..cells.len()).filter(|&i| h[i]).map(|i| quantities(cells[i])[q]).sum();
                        is_small(k, s)
                    })
                    .find_map(|q| {
                        (0..cells.len())
                            .filter(|&i| !h[i] && quantities(cells[i])[q] > 0)
                            .min_by_key(|&i| (quantities(cells[i])[q], i))
                    })
                    .expect("an extra cell without a small sum");
                prop_assert!(hidden[i], "the replay chose a cell the procedure did not");
                h[i] = true;
                steps += 1;
                prop_assert!(steps <= cells.len());
            }
        }

        /// (c) The procedure terminates: at most one step per cell.
        #[test]
        fn it_terminates((k, cells) in table(), flags in prop::collection::vec(any::<bool>(), 8)) {
            let primary: Vec<bool> = flags[..cells.len()].to_vec();
            let hidden = complementary(k, &cells, &primary, &mut || {});
            prop_assert_eq!(hidden.len(), cells.len());
        }
    }
}
