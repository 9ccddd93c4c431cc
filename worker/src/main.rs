//! The roomshard-worker binary; everything it does lives in the library.

fn main() -> std::process::ExitCode {
    roomshard_worker::main()
}
