//! Number and text helpers: the student's solution.

pub fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= n {
        if n % d == 0 {
            return false;
        }
        d += 1;
    }
    true
}

pub fn word_count(s: &str) -> usize {
    let n: usize = s.split_whitespace().count()
    n
}

pub fn median(v: &[i64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort();
    let m = s.len() / 2;
    Some(if s.len() % 2 == 0 { (s[m - 1] + s[m]) as f64 / 2.0 } else { s[m] as f64 })
}
