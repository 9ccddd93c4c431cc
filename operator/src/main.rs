fn main() {
    eprintln!("roomshard-operator: not built yet");
    std::process::exit(2);
}
