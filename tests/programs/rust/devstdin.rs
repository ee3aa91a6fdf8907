use std::io::Write;

fn main() {
    let data = std::fs::read("/dev/stdin").unwrap();
    std::io::stdout().write_all(&data).unwrap();
}
