// The tests: the crate root, bringing in the student's solution.rs as a module.
mod solution;
use solution::*;

#[test]
fn gcd_of_coprimes_and_multiples() {
    assert_eq!(gcd(9, 28), 1);
    assert_eq!(gcd(12, 18), 6);
}

#[test]
fn is_prime_small_numbers() {
    let primes: Vec<u64> = (0..30).filter(|&n| is_prime(n)).collect();
    println!("primes below 30: {:?}", primes);
    assert_eq!(primes, vec![2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
}

#[test]
fn median_even_and_odd() {
    assert_eq!(median(&[3, 1, 2]), Some(2.0));
    assert_eq!(median(&[4, 1, 3, 2]), Some(2.5));
    assert_eq!(median(&[]), None);
}

#[test]
fn word_count_spaces() {
    assert_eq!(word_count("  the quick\tbrown  fox "), 4);
}
