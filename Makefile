# Everyday verbs; each is a thin call of the real tool. `make help` lists them.
.PHONY: dev test fmt lint unit generate bench deps fuzz help

dev:        ## run the service locally: a matchmaker and three worker shards
	hack/dev.sh

test:       ## the whole suite, installing what it needs (what CI runs)
	hack/test.sh

deps:       ## install test dependencies only
	hack/install-deps.sh

fmt:        ## format every crate
	cargo fmt --all

lint:       ## check formatting and run clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fuzz:       ## the fuzz targets, FUZZ_SECONDS (default 60) each
	hack/fuzz.sh

unit:       ## pure unit tests only, no external services
	cargo test --workspace --lib

generate:   ## regenerate committed artefacts (the CRD)
	cargo run -q -p roomshard-operator --bin crdgen > crds/roomshardset.yaml

bench:      ## cargo bench across the workspace (bench/run.sh runs the side-by-side service benchmarks)
	cargo bench --workspace

help:       ## list these verbs
	@awk -F':[^#]*## ' '/^[a-z][a-z-]*:.*## / { printf "  %-10s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
