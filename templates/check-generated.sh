#!/usr/bin/env bash
# The full template check: generates a project for each set of answers offered, fails on any
# template leftover, and runs each generated project's own `make test`.
# Usage: check-generated.sh TEMPLATE_NAME SHARED_TARGET_DIR (from the repository root).
set -euo pipefail

template_name=$1
target_dir=$2
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
	echo "template-check-full: $*" >&2
	exit 1
}

generate() {
	local name=$1
	shift
	cargo generate --path "$repo" --name "$name" --destination "$work" --silent --vcs none "$@"
}

check() {
	local name=$1 dir="$work/$1"
	for leftover in templates cargo-generate.toml BENCHMARKS.md benches/fastify-jose.mjs benches/instructions.sh docs/template.md; do
		[ ! -e "$dir/$leftover" ] || fail "$name: $leftover was left in the project"
	done
	if grep -rIl --exclude-dir=target -e "$template_name" "$dir"; then
		fail "$name: the files above still name $template_name"
	fi
	# The placeholders this template defines, and Liquid tags; Rust's own `{{` escapes are fine.
	if grep -rIlE --exclude-dir=target '\{\{ *(project-name|crate_name|issuer|audience) *\}\}|\{%' "$dir"; then
		fail "$name: the files above hold unrendered template tags"
	fi
	if grep -n 'template' "$dir/Makefile" "$dir/.ci/run" | grep -v 'templates/template.mk\|-d templates\|template repository'; then
		fail "$name: template-only lines are left above"
	fi
	grep -q "^name = \"$name\"$" "$dir/Cargo.toml" || fail "$name: Cargo.toml is not named $name"
	grep -q "^# $name$" "$dir/README.md" || fail "$name: README.md is not titled $name"
	# Bounded, so a hang in a generated project fails the check instead of stalling CI.
	(cd "$dir" && CARGO_TARGET_DIR="$target_dir" timeout 1200 make test) || fail "$name: make test failed"
	echo "template-check-full: $name generated cleanly and passed make test"
}

# The first sh block under the README heading $2 of project $1, written to $3.
section_steps() {
	awk -v heading="## $2" 'index($0, heading) == 1 { section = 1 }
		section && /^```sh$/ { code = 1; next }
		code && /^```$/ { exit }
		code' "$work/$1/README.md" >"$3"
}

# Follows the generated README's "Add your own resource" steps as written (its first sh block),
# then runs the project's make test and fuzzes it: the new routes must be served, documented,
# enforced and fuzzed like the example's.
add_notes() {
	local name=$1 dir="$work/$1" steps="$work/add-notes.sh"
	section_steps "$name" "Add your own resource" "$steps"
	grep -q 'src/notes' "$steps" || fail "$name: README.md has no steps to add a resource"
	(cd "$dir" && bash -euo pipefail "$steps") || fail "$name: the steps to add a resource failed"
	(cd "$dir" && CARGO_TARGET_DIR="$target_dir" timeout 1200 make test) ||
		fail "$name: make test failed after adding the notes resource"
	(cd "$dir" && CARGO_TARGET_DIR="$target_dir" MAX_EXAMPLES=50 timeout 1200 make fuzz-api 2>&1 |
		tee "$work/fuzz.log") || fail "$name: make fuzz-api failed after adding the notes resource"
	grep -q 'granting: .*notes:read notes:write' "$work/fuzz.log" ||
		fail "$name: the fuzzer's token was not derived from the notes routes"
	echo "template-check-full: $name passed make test and make fuzz-api with a notes resource added"
}

# Follows the generated README's "Remove the example resource" steps as written, then runs the
# project's make test and fuzzes it: what is left must build, pass and serve as documented.
remove_example() {
	local name=$1 dir="$work/$1" steps="$work/remove-example.sh"
	section_steps "$name" "Remove the example resource" "$steps"
	grep -q 'src/items' "$steps" || fail "$name: README.md has no steps to remove the example"
	(cd "$dir" && bash -euo pipefail "$steps") || fail "$name: the steps to remove the example failed"
	if grep -rIlE --exclude-dir=target 'crate::items|app::items|ItemStore|api/v1/(items|admin)' "$dir/src" "$dir/tests"; then
		fail "$name: the files above still name the example after its removal"
	fi
	(cd "$dir" && CARGO_TARGET_DIR="$target_dir" timeout 1200 make test) ||
		fail "$name: make test failed after removing the example"
	(cd "$dir" && CARGO_TARGET_DIR="$target_dir" MAX_EXAMPLES=50 timeout 1200 make fuzz-api) ||
		fail "$name: make fuzz-api failed after removing the example"
	echo "template-check-full: $name passed make test and make fuzz-api with the example removed"
}

generate my-api
check my-api
add_notes my-api

issuer=https://gateway.example.com/__zuplo/issuer
audience=https://api.example.com
generate orders-service -d "issuer=$issuer" -d "audience=$audience"
check orders-service
grep -q "^issuer = \"$issuer\"$" "$work/orders-service/config/production.toml" ||
	fail "orders-service: the issuer answer is not in config/production.toml"
grep -q "^audience = \"$audience\"$" "$work/orders-service/config/production.toml" ||
	fail "orders-service: the audience answer is not in config/production.toml"
grep -q "$issuer" "$work/orders-service/README.md" ||
	fail "orders-service: the issuer answer is not in README.md"
grep -qxF -- "      - APP__AUTH__ISSUER=$issuer" "$work/orders-service/deploy/kubernetes/kustomization.yaml" ||
	fail "orders-service: the issuer answer is not in the Kubernetes ConfigMap"
grep -qxF -- "      - APP__AUTH__AUDIENCE=$audience" "$work/orders-service/deploy/kubernetes/kustomization.yaml" ||
	fail "orders-service: the audience answer is not in the Kubernetes ConfigMap"
remove_example orders-service
