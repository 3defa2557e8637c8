# Two commands on a fresh Debian machine with Node.js/npm: `make up` and `make test`.
# They install what is missing (Deno from npm into .tools/deno; Debian packages with apt as root),
# then run `deno task up` / `deno task test`. With Deno on PATH, run those tasks directly.
SHELL := /bin/bash
DENO := $(shell command -v deno 2>/dev/null || echo $(CURDIR)/.tools/deno/node_modules/.bin/deno)

.PHONY: up test check bench ci
up: ## bring the whole system up (Ctrl-C stops it)
	@bash tools/setup.sh
	$(DENO) task up
test: ## run every test against a real Redis and PostgreSQL (started when not running)
	@bash tools/setup.sh --tests
	$(DENO) task test
check: ## formatting, lint and type checks
	@bash tools/setup.sh
	$(DENO) task check
bench: ## the engine benchmark on the standard workload
	@bash tools/setup.sh
	$(DENO) task bench:engine
ci: ## exactly what CI runs
	bash .ci/run
