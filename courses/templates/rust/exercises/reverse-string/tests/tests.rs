mod solution;
use solution::*;

#[test]
fn an_empty_string() {
    assert_eq!(reverse(""), "");
}

#[test]
fn a_word() {
    assert_eq!(reverse("stressed"), "desserts");
}

#[test]
fn a_palindrome() {
    assert_eq!(reverse("racecar"), "racecar");
}

#[test]
fn characters_not_bytes() {
    assert_eq!(reverse("héllo"), "olléh");
}
