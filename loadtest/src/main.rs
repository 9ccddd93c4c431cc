fn main() {
    eprintln!("roomshard-loadtest: not built yet");
    std::process::exit(2);
}
