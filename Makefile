# PGXS build of job_stagger.so from src/core (pure C++), src/pg (PostgreSQL
# glue) and src/worker (background workers). Unit tests of src/core are built
# by CMake (CMakeLists.txt); `make installcheck` runs the pg_regress suite on a
# temporary instance that pg_regress starts itself with test/job_stagger.conf.
EXTENSION  = job_stagger
MODULE_big = job_stagger

CORE_SRCS   = $(sort $(wildcard src/core/*.cpp))
PG_SRCS     = $(sort $(wildcard src/pg/*.cpp))
WORKER_SRCS = $(sort $(wildcard src/worker/*.cpp))
OBJS = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o) $(WORKER_SRCS:.cpp=.o)

DATA = $(wildcard sql/$(EXTENSION)--*.sql)

# stagger-ctl, the command-line tool (tools/*.cpp on libpq), installed next to psql.
SCRIPTS_built = stagger-ctl
CTL_SRCS = $(sort $(wildcard tools/*.cpp))
CTL_HDRS = $(wildcard tools/*.hpp)

EXTRA_CLEAN = $(OBJS:.o=.d) results/ tmp_check/ regression.diffs regression.out

REGRESS = cron_functions cron_errors job_api stagger_offsets stagger_collisions views rollout guc_cancel upgrade
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

CLANG_FORMAT ?= clang-format
FORMAT_FILES = $(wildcard src/*/*.cpp src/*/*.hpp test/unit/*.cpp test/unit/*.hpp bench/*.cpp) $(CTL_SRCS) $(CTL_HDRS)

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
