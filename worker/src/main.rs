fn main() {
    eprintln!("roomshard-worker: not built yet");
    std::process::exit(2);
}
