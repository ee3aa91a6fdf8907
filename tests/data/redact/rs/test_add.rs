mod solution;
use solution::*;

#[test]
fn add_small() {
    assert_eq!(add(2, 3), 5);
}

#[test]
fn add_cond() {
    assert!(add(0, 0) == 0);
}

#[test]
#[ignore]
fn add_ignored() {
    assert_eq!(add(1, 1), 2, "one and one");
}
