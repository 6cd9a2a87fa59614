# Template maintenance, included by the repository's Makefile only: a generated service has none
# of it. `make template-check` is what CI runs; `make template-sync` rewrites the templates after
# a change to their live counterparts.

SHELL := /bin/bash
CARGO_GENERATE_VERSION ?= 0.23.14
# The repository's own name and the default answers: rendering a template with them must give
# back its live counterpart.
TEMPLATE_NAME := actix-jwks-api
# Templates mirroring a live file: the live file with the names and answers below turned into
# placeholders. Only files whose content must differ in a generated project are mirrored.
MIRRORED := Cargo.toml Cargo.lock config/development.toml config/production.toml \
	deploy/kubernetes/kustomization.yaml
# Shared by every generated project's build, so dependencies compile once.
TEMPLATE_TARGET_DIR ?= $(CURDIR)/target/template-check

.PHONY: template-check template-check-fast template-check-full template-sync instructions

template-check: template-check-fast template-check-full ## Prove the templates match and every generated project passes make test

template-check-fast: ## Render each mirrored template with the default answers and compare it with its live file
	@for file in $(MIRRORED); do \
		sed -e 's/{{project-name}}/$(TEMPLATE_NAME)/g' -e 's/{{issuer}}//g' -e 's/{{audience}}//g' "templates/$$file" \
			| diff -u --label "$$file (live)" --label "templates/$$file (rendered)" "$$file" - \
			|| { echo "templates/$$file drifted from $$file: run make template-sync"; exit 1; }; \
	done
	@echo "template-check-fast: $(words $(MIRRORED)) templates match their live files"

template-sync: ## Rewrite the mirrored templates from their live files
	@for file in $(MIRRORED); do \
		sed -e 's/$(TEMPLATE_NAME)/{{project-name}}/g' \
			-e 's/^issuer = ""$$/issuer = "{{issuer}}"/' -e 's/^audience = ""$$/audience = "{{audience}}"/' \
			-e 's/^      - APP__AUTH__ISSUER=$$/      - APP__AUTH__ISSUER={{issuer}}/' \
			-e 's/^      - APP__AUTH__AUDIENCE=$$/      - APP__AUTH__AUDIENCE={{audience}}/' \
			"$$file" > "templates/$$file"; \
	done

template-check-full: ## Generate projects with cargo-generate and run make test in each
	@command -v cargo-generate >/dev/null || $(CARGO) install cargo-generate --version $(CARGO_GENERATE_VERSION) --locked
	@bash templates/check-generated.sh "$(TEMPLATE_NAME)" "$(TEMPLATE_TARGET_DIR)"

# The template's own benchmark tooling: a generated service has neither it nor BENCHMARKS.md.
instructions: ## Count the CPU instructions of one request per case (valgrind), steady on a busy machine
	benches/instructions.sh
