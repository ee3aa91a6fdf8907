// The crate root: rustc --test compiles this file, which brings in the student's solution.rs.
mod solution;

#[cfg(test)]
mod tests {
    use super::solution::*;

    #[test]
    fn fibonacci_starts_at_zero() {
        assert_eq!(fibonacci(0), 0);
        assert_eq!(fibonacci(1), 1);
        assert_eq!(fibonacci(10), 55);
    }

    #[test]
    fn fibonacci_of_90() {
        assert_eq!(fibonacci(90), 2880067194370816120);
    }

    #[test]
    fn palindromes_ignore_case_and_punctuation() {
        assert!(is_palindrome("A man, a plan, a canal: Panama"));
        assert!(!is_palindrome("runbox"));
        assert!(is_palindrome(""));
    }

    #[test]
    fn word_counts_are_sorted_by_count_then_word() {
        let v = word_counts("the cat and The dog and THE bird");
        assert_eq!(v[0], ("the".to_string(), 3));
        assert_eq!(v[1], ("and".to_string(), 2));
        assert_eq!(v[2], ("bird".to_string(), 1));
    }
}
