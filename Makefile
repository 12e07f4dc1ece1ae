# The two commands: `make dev` runs the demo locally, `make test` runs every test.
.PHONY: dev test build sim deploy-check clean bench

dev:
	bash scripts/dev.sh

test:
	bash scripts/test.sh

# Benchmarks (not part of `make test`): builds release artifacts, runs everything on loopback and
# writes BENCHMARKS.md. About 10 minutes.
bench:
	bash scripts/bench.sh

build:
	bash scripts/build.sh

sim:
	cargo run -p vipps-sim -- --listen 127.0.0.1:7070

clean:
	rm -rf build target/e2e
