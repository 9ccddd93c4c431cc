fn main() {
    eprintln!("roomshard-matchmaker: not built yet");
    std::process::exit(2);
}
