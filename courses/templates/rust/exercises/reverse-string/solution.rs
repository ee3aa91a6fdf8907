/// The characters of `input`, in reverse order.
pub fn reverse(input: &str) -> String {
    todo!("reverse {input:?}")
}
