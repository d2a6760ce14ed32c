# whatworks — the two commands:  make review   and   make test
# make review REPORTS=../shared/corpus/canada PROTOCOL=canada-social-security OUT=review-canada

REPORTS ?= whatworks/data/examples
PROTOCOL ?= ilo-social-protection
OUT ?= review
PYTEST_ARGS ?=

.PHONY: review test setup setup-test lint bench

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

review: setup
	.venv/bin/whatworks review $(OUT) $(REPORTS) --protocol $(PROTOCOL)

test: setup-test
	.venv/bin/ruff check whatworks tests benchmarks
	.venv/bin/python -m pytest -q -n 2 --dist loadfile $(PYTEST_ARGS)

lint: setup
	.venv/bin/ruff check whatworks tests benchmarks
