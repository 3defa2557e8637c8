# Thin wrapper over `deno task`, for people without Deno on PATH: fetches Deno from npm into
# .tools/deno first.
SHELL := /bin/bash
DENO_VERSION := 2.9.6
DENO := $(shell command -v deno 2>/dev/null || echo .tools/deno/node_modules/.bin/deno)

.PHONY: up test check bench tools deno ci
up: deno ## bring the whole system up
	$(DENO) task up
test: deno ## run every test (needs Redis and PostgreSQL; see README)
	$(DENO) task test
check: deno
	$(DENO) task check
bench: deno
	$(DENO) task bench:engine
ci: ## what CI runs
	bash .ci/run
deno:
	@command -v deno >/dev/null 2>&1 || [ -x .tools/deno/node_modules/.bin/deno ] || \
	  npm install --prefix .tools/deno --no-audit --no-fund --loglevel=error deno@$(DENO_VERSION)
