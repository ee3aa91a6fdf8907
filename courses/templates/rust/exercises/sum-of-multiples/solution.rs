/// The sum of the distinct numbers below `limit` that are multiples of any of `factors`.
pub fn sum_of_multiples(limit: u32, factors: &[u32]) -> u32 {
    todo!("the multiples of {factors:?} below {limit}")
}
