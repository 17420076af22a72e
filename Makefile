# The two commands of the README:
#   make demo   — install cxlab into .venv and render the demo report into reports/demo/
#   make test   — install cxlab with its test extras into .venv and run the whole test suite
# Installs are pinned by constraints.txt (one consistent set; `pip check` is clean).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test install install-test bench mutants clean

demo: $(VENV)/.installed-core
	$(BIN)/cxlab report demo

# The whole suite with the derandomized Hypothesis profile, then the property tests (pytest marks every
# @given test `hypothesis`) once more with fresh random examples (tests/conftest.py has both profiles).
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n 2 --dist loadfile
	$(BIN)/python -m pytest -n 2 --dist loadfile -m hypothesis --hypothesis-profile=random

install: $(VENV)/.installed-core
install-test: $(VENV)/.installed-test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed-core: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP) install --quiet -c constraints.txt -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@# Every report is printed to PDF, and the report tests open it, with Debian's headless Chromium.
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } \
	  || echo "WARNING: no Chromium and could not install one: reports get no PDF, the browser tests fail in CI"
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt $(VENV)/.installed-core
	$(PIP) install --quiet -c constraints.txt -e ".[test,spark]"
	@# The Spark tests need a Java runtime (pyspark runs on Java 17).
	@command -v java >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; } \
	  || echo "WARNING: no Java runtime and could not install one: the Spark tests will be skipped"
	@# The PostgreSQL engine test starts a throw-away server (tests/conftest.py) from Debian's packages.
	@{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } \
	  || echo "WARNING: no PostgreSQL server and could not install one: the PostgreSQL engine test will fail"
	touch $@

bench: $(VENV)/.installed-test
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The mutation check (tests/mutants/catalogue.yml): each named bug in its own copy of the project, its tests
# and the headline test run against it; every mutant must be caught. ~1-2 min per mutant: JOBS=2 halves it.
JOBS ?= 1
mutants: $(VENV)/.installed-test
	nice -n 10 $(BIN)/python tests/mutants/run.py --jobs $(JOBS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
