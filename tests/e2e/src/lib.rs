//! Cross-component tests of Roomshard live in `tests/`: each starts the real binaries
//! (`roomshard-worker`, `roomshard-matchmaker`, `roomshard-loadtest`) that `cargo test
//! --workspace` builds into the target folder, next to a throwaway `redis-server`, and
//! drives them the way a deployment would — through nginx, a headless browser or the load
//! generator. This library is empty on purpose.
