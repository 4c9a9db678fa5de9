# PGXS build of job_stagger.so from src/core (pure C++), src/pg (PostgreSQL
# glue) and src/worker (background workers). Unit tests of src/core are built
# by CMake (CMakeLists.txt); `make installcheck` runs the pg_regress suite on a
# temporary instance that pg_regress starts itself with test/job_stagger.conf.
# job_stagger_pgcron: pg_cron's cron.* interface over job_stagger (SQL only).
EXTENSION  = job_stagger job_stagger_pgcron
MODULE_big = job_stagger

CORE_SRCS   = $(sort $(wildcard src/core/*.cpp))
PG_SRCS     = $(sort $(wildcard src/pg/*.cpp))
WORKER_SRCS = $(sort $(wildcard src/worker/*.cpp))
OBJS = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o) $(WORKER_SRCS:.cpp=.o)

DATA = $(wildcard sql/job_stagger--*.sql) $(wildcard sql/job_stagger_pgcron--*.sql)

# stagger-ctl, the command-line tool (tools/*.cpp on libpq), installed next to psql.
SCRIPTS_built = stagger-ctl
CTL_SRCS = $(sort $(wildcard tools/*.cpp))
CTL_HDRS = $(wildcard tools/*.hpp)

EXTRA_CLEAN = $(OBJS:.o=.d) results/ tmp_check/ regression.diffs regression.out

REGRESS = cron_functions cron_errors job_api job_settings exclusive_groups stagger_offsets stagger_collisions optimize views rollout guc_cancel timeline hostile_calls security fastpath run_control job_timezones upgrade
REGRESS_OPTS = --temp-config=test/job_stagger.conf --temp-instance=./tmp_check

# TAP integration tests (test/t/*.pl, PostgreSQL::Test::Cluster): `make tapcheck`.
# (PROVE_FLAGS is set after the PGXS include, which resets it.)
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

PG_CONFIG ?= pg_config

# -Wno-register: PG15's s_lock.h uses `register`, an error in C++17.
# -MMD -MP: PGXS has no header dependency tracking for C++.
PG_CPPFLAGS = -I$(CURDIR)/src
PG_CXXFLAGS = -std=c++17 -Wno-register -Wall -Wextra -Wshadow -Wno-unused-parameter -MMD -MP
ifdef JS_WERROR
PG_CXXFLAGS += -Werror
endif
SHLIB_LINK += -lcctz -lstdc++

# PGXS would also compile every .cpp to LLVM bitcode for JIT inlining, with
# clang and without PG_CXXFLAGS. Nothing of ours is worth inlining into JIT
# code (no operators or types), so we switch that step off on purpose.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

-include $(OBJS:.o=.d)
PROVE_FLAGS += -I ./test/perl
# TAP_JOBS=N: N test files at a time (each starts its own servers on free ports).
ifdef TAP_JOBS
PROVE_FLAGS += -j$(TAP_JOBS)
endif

CLANG_FORMAT ?= clang-format
FORMAT_FILES = $(wildcard src/*/*.cpp src/*/*.hpp test/unit/*.cpp test/unit/*.hpp test/fuzz/*.cpp test/fuzz/*.hpp bench/*.cpp) $(CTL_SRCS) \
	$(CTL_HDRS)

.PHONY: format format-check unit tapcheck
tapcheck:
ifneq ($(strip $(PROVE_TESTS)),)
	$(prove_installcheck)
else
	@echo "no TAP tests"
endif

format:
	$(CLANG_FORMAT) -i $(FORMAT_FILES)
format-check:
	$(CLANG_FORMAT) --dry-run -Werror $(FORMAT_FILES)

# GoogleTest unit tests of src/core through CMake/ctest.
unit:
	cmake -S . -B build -DJS_WERROR=ON >/dev/null
	cmake --build build -j2
	ctest --test-dir build --output-on-failure

# Replace the installed library by unlinking it first: overwriting it in place
# would crash running servers that have it mapped (it is preloaded).
install-lib-shared: unlink-installed-shlib
.PHONY: unlink-installed-shlib
unlink-installed-shlib:
	rm -f '$(DESTDIR)$(pkglibdir)/$(MODULE_big)$(DLSUFFIX)'

stagger-ctl: $(CTL_SRCS) $(CTL_HDRS)
	$(CXX) -std=c++17 -O2 -Wall -Wextra -Werror -I$(shell $(PG_CONFIG) --includedir) -o $@ $(CTL_SRCS) \
		-L$(shell $(PG_CONFIG) --libdir) -lpq

# libFuzzer targets (test/fuzz/*_fuzz.cpp) on src/core, with ASan and UBSan
# (fatal). `make fuzz FUZZ_SECONDS=N` builds them into build-fuzz/ and runs
# each for N seconds on a copy of its seed corpus (test/fuzz/corpus/<name>/,
# which runs never change). Any crash, leak, sanitizer report, timeout or
# out-of-memory fails the target; `make fuzz` then exits non-zero. Each run
# prints "fuzz-result: <name> passed|failed <execs> execs <n>/s".
FUZZ_CXX ?= clang++-14
FUZZ_SECONDS ?= 60
FUZZ_TIMEOUT ?= 10
FUZZ_RSS_MB ?= 2048
FUZZ_DIR = build-fuzz
FUZZ_TARGETS = $(patsubst test/fuzz/%.cpp,%,$(wildcard test/fuzz/*_fuzz.cpp))
FUZZ_CXXFLAGS = -std=c++17 -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -I$(CURDIR)/src
# Core sources each target needs (no PostgreSQL).
cron_fuzz_SRCS = $(wildcard src/core/cron_*.cpp) src/core/stagger.cpp
offsets_fuzz_SRCS = src/core/stagger.cpp

.PHONY: fuzz fuzz-build
fuzz-build: $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))

$(FUZZ_DIR)/%_fuzz: test/fuzz/%_fuzz.cpp test/fuzz/fuzz_support.hpp $(wildcard src/core/*.cpp src/core/*.hpp)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -o $@ $< $($*_fuzz_SRCS) -lcctz

fuzz: fuzz-build
	@failed=0; \
	for t in $(FUZZ_TARGETS); do \
		name=$${t%_fuzz}; work=$(FUZZ_DIR)/run-$$name; \
		rm -rf $$work && mkdir -p $$work/corpus $$work/artifacts && cp test/fuzz/corpus/$$name/* $$work/corpus/; \
		if $(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=$(FUZZ_RSS_MB) \
			-print_final_stats=1 -artifact_prefix=$$work/artifacts/ $$work/corpus >$$work/log 2>&1; \
		then status=passed; else status=failed; failed=1; tail -n 40 $$work/log; fi; \
		execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$work/log); \
		rate=$$(sed -n 's/^stat::average_exec_per_sec: *//p' $$work/log); \
		echo "fuzz-result: $$name $$status $${execs:-0} execs $${rate:-0}/s"; \
	done; \
	exit $$failed
