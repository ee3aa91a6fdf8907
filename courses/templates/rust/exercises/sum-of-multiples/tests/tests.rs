mod solution;
use solution::*;

#[test]
fn multiples_of_3_or_5() {
    assert_eq!(sum_of_multiples(20, &[3, 5]), 78);
}

#[test]
fn no_multiples_below_the_first_factor() {
    assert_eq!(sum_of_multiples(3, &[3, 5]), 0);
}

#[test]
fn a_common_multiple_counts_once() {
    assert_eq!(sum_of_multiples(16, &[3, 5]), 60);
}

#[test]
fn a_zero_factor_has_no_multiples() {
    assert_eq!(sum_of_multiples(10, &[0, 4]), 12);
}
