fn main() {
    eprintln!("bye");
    std::process::exit(3);
}
