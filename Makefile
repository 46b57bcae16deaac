# The two commands: `make dev` (the local API) and `make test` (every test).
.PHONY: dev test token build lint fmt bench clean

dev: ## Serve the whole API on http://127.0.0.1:$(PORT) against moto (PORT defaults to 3000)
	./scripts/dev

test: ## Run every test against moto, a password-checking PostgreSQL, ClickHouse and MariaDB
	./scripts/test

# `make token ORG=… USER=… SCOPES="…" ALG=rs256`: a bearer token for the local API, as the last
# line; HS256 unless ALG=rs256 (signed with the key the local API publishes as a JWKS).
# USER is taken only from the command line, not from the shell's $USER.
TOKEN_USER := $(if $(filter command line,$(origin USER)),$(USER),user_dev)
token:
	@cargo run --quiet --package strongroom-local -- token --org "$(or $(ORG),org_dev)" --user "$(TOKEN_USER)" $(if $(SCOPES),--scopes "$(SCOPES)") $(if $(ALG),--alg "$(ALG)")

build: ## sam build (release binaries through cargo-lambda from .venv)
	./scripts/sam-build

bench: ## Release binaries run as Lambda runs them: size, cold init, latency, memory, AWS calls
	./scripts/bench

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

clean:
	cargo clean
	rm -rf .aws-sam .dev
