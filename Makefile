# forklore - build, test and benchmark.  `make help` lists every target.
#
# Layout the rules below rely on (the README explains it for readers):
#   patterns/FAMILY/NAME.c             a self-contained demonstration program -> build/bin/NAME
#   lib/PART/*.c                       library code (support, pool, queues): compiled into
#                                      build/libforklore.a; lib/ is on the include path, so
#                                      programs write "support/error.h", "pool/pool.h"
#   lib/mpi/*.c                        the MPI programs' library, built with mpicc (MPI section)
#   tools/*.c                          tools that are not lessons (predict_output) -> build/bin
#   bench/*.c, bench/workloads/*.c     the benchmark driver and its workloads -> build/bin/bench
#                                      (bench/NAME.c + NAME.h: the driver's modules, such as
#                                      the model fits, also linked into the tests)
#   tests/*.c                          one Criterion runner -> build/tests/forklore-tests
# Adding a program, a test file or a workload needs no edit here.

CC ?= cc
OUT ?= build
QUICK ?=
# The run `make compare` sets the last one beside: a reference shipped in bench/reference/, or
# any earlier run's data folder (copy plots/data away to keep one).
REF ?= bench/reference/2cpu-amd-epyc-vm
WARNINGS = -std=c11 -Wall -Wextra -Wpedantic -Werror
CFLAGS ?= -O2 -g
SANITIZE_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ALL_CFLAGS = $(WARNINGS) $(CFLAGS) $(EXTRA_CFLAGS) -Ilib -Ibench -MMD -MP
LDLIBS = -lrt -lpthread -lm

# Evaluated lazily (`=`): on a fresh machine Criterion is installed by `deps` before it is read.
CRITERION_CFLAGS = $(shell pkg-config --cflags criterion)
CRITERION_LIBS = $(shell pkg-config --libs criterion)

# patterns/mpi/ and lib/mpi/ need an MPI compiler: they have a section of their own (MPI, near
# the end).
LIB_C := $(sort $(filter-out lib/mpi/%,$(wildcard lib/*/*.c)))
PROGRAM_C := $(sort $(filter-out patterns/mpi/%,$(wildcard patterns/*/*.c)) $(wildcard tools/*.c))
PROGRAMS := $(patsubst %.c,$(OUT)/bin/%,$(notdir $(PROGRAM_C)))
# The bare programs a lesson shows before any helper (lessons/examples/): plain C and libc
# only, no --help, so they live apart from build/bin, whose programs all answer --help.
EXAMPLE_C := $(sort $(wildcard lessons/examples/*.c))
EXAMPLES := $(patsubst lessons/examples/%.c,$(OUT)/examples/%,$(EXAMPLE_C))
BENCH_ALL_C := $(sort $(wildcard bench/*.c))
BENCH_LIB_C := $(foreach c,$(BENCH_ALL_C),$(if $(wildcard $(c:.c=.h)),$(c)))
BENCH_C := $(filter-out $(BENCH_LIB_C),$(BENCH_ALL_C))
WORKLOAD_C := $(sort $(wildcard bench/workloads/*.c))
TEST_C := $(sort $(wildcard tests/*.c))
LIBRARY := $(OUT)/libforklore.a
BENCH_LIBRARY := $(OUT)/libbench.a
BENCH := $(OUT)/bin/bench
TESTS := $(OUT)/tests/forklore-tests

obj = $(patsubst %.c,$(OUT)/obj/%.o,$(1))

# MPI (optional; its rules are in the MPI section at the end): which implementation, and
# whether it is here.  Without it, `all` and `test-run` print one line instead of building it.
mpi_ready = $(shell command -v mpicc.$(1) >/dev/null 2>&1 && command -v mpiexec.$(1) >/dev/null 2>&1 && echo $(1))
MPI_INSTALLED := $(firstword $(call mpi_ready,mpich) $(call mpi_ready,openmpi))
MPI ?= $(if $(MPI_INSTALLED),$(MPI_INSTALLED),mpich)
MPI_READY := $(call mpi_ready,$(MPI))
# The wrapper compiles with $(CC) underneath, so CC=clang works here too.
MPICC = MPICH_CC=$(CC) OMPI_CC=$(CC) mpicc.$(MPI)
MPI_LIB_C := $(sort $(wildcard lib/mpi/*.c))
MPI_PROGRAM_C := $(sort $(wildcard patterns/mpi/*.c))
MPI_ALL_C := $(MPI_LIB_C) $(MPI_PROGRAM_C)
MPI_PROGRAMS := $(patsubst %.c,$(OUT)/mpi/bin/%,$(notdir $(MPI_PROGRAM_C)))
mpi_obj = $(patsubst %.c,$(OUT)/mpi/obj-$(MPI)/%.o,$(1))
MPI_STAMP := $(OUT)/mpi/implementation
MPI_LAUNCHER := $(OUT)/mpi/mpirun
MPI_ALL := $(if $(MPI_READY),mpi-build,mpi-note)

.PHONY: all help test test-run valgrind sanitize bench plots compare deps lesson-figures clean grade handout gradescope \
    format format-check compdb
.DEFAULT_GOAL := all

all: $(PROGRAMS) $(EXAMPLES) $(BENCH) $(MPI_ALL)

help:
	@echo 'make            build every program into $(OUT)/bin (CC=clang works too)'
	@echo 'make test       install missing tools, build, run the Criterion suite, then the valgrind gate'
	@echo 'make bench      install missing tools, build, run the benchmark, write plots/ (QUICK=1: under 30 s)'
	@echo 'make plots      redraw every plot and plots/report.md from the last benchmark data, running nothing'
	@echo 'make compare    overlay the last run on a reference run (REF=DIR) and list the points that differ'
	@echo 'make sanitize   build into $(OUT)/sanitize with ASan+UBSan and run the Criterion suite'
	@echo 'make valgrind   run only the valgrind gate (tests, programs and labs under memcheck)'
	@echo 'make deps       check for Criterion, gnuplot and valgrind; install what is missing'
	@echo 'make lesson-figures  redraw the reference run'"'"'s plots that lessons 09b and 09c show (gnuplot)'
	@echo 'make grade LAB=NAME  a clean build of one lab (lessons/labs/NAME), then its grader;'
	@echo '                TEST=GLOB grades some tests, SEED=N replays inputs, LAB_SRC=DIR grades'
	@echo '                the files in DIR instead, JSON=FILE moves results.json'
	@echo 'make handout    the student hand-out: build/handout/forklore-labs.tar.gz, without solutions'
	@echo 'make gradescope LAB=NAME  a Gradescope autograder for one lab: build/gradescope/NAME-gradescope.zip'
	@echo 'make mpi        install MPI if missing, build patterns/mpi into $(OUT)/mpi/bin, run its tests;'
	@echo '                MPI=mpich|openmpi (default: the one installed, else MPICH); once MPI is'
	@echo '                installed, make and make test build and test it too'
	@echo 'make format     reformat the C files with clang-format $(CLANG_FORMAT_VERSION) (FORMAT_FILES=... for some)'
	@echo 'make format-check  list the C files clang-format would change; fails if there is one'
	@echo 'make compdb     write $(OUT)/compile_commands.json, for clangd and other tools'
	@echo 'make clean      remove $(OUT)/ and the generated benchmark data and plots'
	@echo 'make help       this list'

# --- building -----------------------------------------------------------------------------

$(OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBRARY): $(call obj,$(LIB_C))
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# The driver's own modules (analysis), also linked into the tests that check them.
$(BENCH_LIBRARY): $(call obj,$(BENCH_LIB_C))
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# Each program is one .c file linked against the support library.
define program_rule
$(OUT)/bin/$(notdir $(1:.c=)): $(call obj,$(1)) $(LIBRARY)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_CFLAGS) $$^ -o $$@ $$(LDLIBS)
endef
$(foreach c,$(PROGRAM_C),$(eval $(call program_rule,$(c))))

# The driver learns its workloads from a table generated here: each bench/workloads/NAME.c
# defines `const struct workload workload_NAME`.
$(OUT)/gen/workload_table.c: $(WORKLOAD_C) Makefile
	@mkdir -p $(@D)
	@{ echo '/* Generated by the Makefile from the files in bench/workloads: do not edit. */'; \
	   echo '#include "workload.h"'; \
	   for f in $(basename $(notdir $(WORKLOAD_C))); do echo "extern const struct workload workload_$$f;"; done; \
	   echo 'const struct workload *const workload_table[] = {'; \
	   for f in $(basename $(notdir $(WORKLOAD_C))); do echo "    &workload_$$f,"; done; \
	   echo '    0,'; echo '};'; } > $@.tmp && mv $@.tmp $@

$(OUT)/obj/gen/workload_table.o: $(OUT)/gen/workload_table.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BENCH): $(call obj,$(BENCH_C) $(WORKLOAD_C)) $(OUT)/obj/gen/workload_table.o $(BENCH_LIBRARY) $(LIBRARY)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $^ -o $@ $(LDLIBS)

$(OUT)/examples/%: lessons/examples/%.c
	@mkdir -p $(@D)
	$(CC) $(WARNINGS) $(CFLAGS) $(EXTRA_CFLAGS) $< -o $@

# Tests run the programs from this folder and read the lessons from the tree; both paths are
# compiled in, absolute.
TEST_CFLAGS = $(CRITERION_CFLAGS) -DFORKLORE_BIN='"$(abspath $(OUT)/bin)"' \
    -DFORKLORE_ROOT='"$(abspath .)"' -DFORKLORE_LAB_CFLAGS='"$(EXTRA_CFLAGS)"'
$(OUT)/obj/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -c $< -o $@

$(TESTS): $(call obj,$(TEST_C)) $(BENCH_LIBRARY) $(LIBRARY)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $^ -o $@ $(CRITERION_LIBS) $(LDLIBS)

# --- running ------------------------------------------------------------------------------

# `deps` comes first and alone: the rest of the build needs what it installs.
test: deps
	@$(MAKE) --no-print-directory test-run

test-run: $(PROGRAMS) $(EXAMPLES) $(BENCH) $(TESTS) $(MPI_ALL)
	@bash tests/run_tests.sh $(OUT)

valgrind: deps
	@$(MAKE) --no-print-directory $(PROGRAMS) $(EXAMPLES) $(BENCH) $(TESTS)
	@bash tests/valgrind_gate.sh $(OUT)

sanitize: deps
	@$(MAKE) --no-print-directory OUT=$(OUT)/sanitize EXTRA_CFLAGS='$(SANITIZE_FLAGS)' \
	    $(OUT)/sanitize/tests/forklore-tests $(patsubst $(OUT)/%,$(OUT)/sanitize/%,$(PROGRAMS) $(EXAMPLES) $(BENCH))
	@LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 \
	    bash tests/run_tests.sh $(OUT)/sanitize --no-valgrind

bench: deps
	@$(MAKE) --no-print-directory all
	$(BENCH) --data plots/data --plots plots $(if $(QUICK),--quick)
	@bash bench/plot.sh plots/data plots
	@bash bench/timelines.sh $(OUT)/bin plots/data plots

plots: $(BENCH)
	@$(BENCH) --report-only --data plots/data --plots plots
	@bash bench/plot.sh plots/data plots
	@bash bench/timelines.sh $(OUT)/bin plots/data plots --draw-only

compare: $(BENCH)
	@$(BENCH) --compare $(REF) --data plots/data
	@bash bench/plot.sh --compare $(REF) plots/data plots

deps:
	@bash tools/ensure_deps.sh

# Lessons 09b and 09c show the reference run's plots; the SVGs are kept in git so a reader sees them
# without building, and this redraws them from bench/reference (gnuplot, from `make deps`).
LESSON_PLOTS = fork_join-speedup fork_join-efficiency pool_schedule-speedup
lesson-figures:
	@stage=$$(mktemp -d) && trap 'rm -rf -- "$$stage"' EXIT && \
	    bash bench/plot.sh $(REF) "$$stage" >/dev/null && \
	    for p in $(LESSON_PLOTS); do cp "$$stage/$$p.svg" lessons/figures/reference/$$p.svg; done && \
	    echo 'lesson-figures: lessons/figures/reference/ redrawn from $(REF)'

# A lab needs only the compiler and the support library: no Criterion, nothing installed.
grade: $(LIBRARY)
	@LAB='$(LAB)' LAB_SRC='$(LAB_SRC)' OUT='$(OUT)' TEST='$(TEST)' SEED='$(SEED)' JSON='$(JSON)' \
	    CC='$(CC)' LIBRARY='$(LIBRARY)' EXTRA_CFLAGS='$(EXTRA_CFLAGS)' bash lessons/labs/grader/grade.sh

handout:
	@bash lessons/labs/grader/handout.sh $(OUT)/handout

gradescope:
	@bash lessons/labs/grader/gradescope.sh '$(LAB)' $(OUT)/gradescope

clean:
	rm -rf $(OUT) plots/data plots/*.png plots/*.svg plots/report.md

# --- formatting and editor support ---------------------------------------------------------
# One pinned clang-format, since two versions format the same file differently: Debian 12's
# (the README says how to get it elsewhere).  `make format` installs it when it is missing,
# the way `make deps` installs the rest.  FORMAT_FILES defaults to every C file in git.
# tools/format.sh also rewrites the labs' wrong-solution patches, so that they still apply.
CLANG_FORMAT_VERSION = 14
CLANG_FORMAT = clang-format-$(CLANG_FORMAT_VERSION)
FORMAT_FILES ?= $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	@command -v $(CLANG_FORMAT) >/dev/null || bash tools/install_packages.sh format $(CLANG_FORMAT)
	@bash tools/format.sh $(CLANG_FORMAT) $(FORMAT_FILES)

format-check:
	@command -v $(CLANG_FORMAT) >/dev/null || bash tools/install_packages.sh format $(CLANG_FORMAT)
	@bad=0; for f in $(FORMAT_FILES); do \
	    $(CLANG_FORMAT) --style=file --dry-run --Werror "$$f" >/dev/null 2>&1 || { echo "not formatted: $$f"; bad=$$((bad + 1)); }; \
	done; \
	if [ $$bad -gt 0 ]; then echo "format-check: $$bad of $(words $(FORMAT_FILES)) files differ from clang-format $(CLANG_FORMAT_VERSION); make format fixes them"; exit 1; fi; \
	echo 'format-check: $(words $(FORMAT_FILES)) files formatted'

# The compilation database: every C file with the command this Makefile compiles it with
# (the MPI files with the plain compiler and, when MPI is here, its include path).
COMPDB_CFLAGS = $(filter-out -MMD -MP,$(ALL_CFLAGS))
MPI_INCLUDE = $(if $(MPI_READY),$(filter -I%,$(shell mpicc.$(MPI) -show 2>/dev/null)))
compdb:
	@mkdir -p $(OUT)
	$(file >$(OUT)/compile_commands.tsv,)
	$(foreach c,$(LIB_C) $(PROGRAM_C) $(BENCH_ALL_C) $(WORKLOAD_C),$(file >>$(OUT)/compile_commands.tsv,$(c)	$(CC) $(COMPDB_CFLAGS) -c $(c)))
	$(foreach c,$(MPI_ALL_C),$(file >>$(OUT)/compile_commands.tsv,$(c)	$(CC) $(COMPDB_CFLAGS) $(MPI_INCLUDE) -c $(c)))
	$(foreach c,$(TEST_C),$(file >>$(OUT)/compile_commands.tsv,$(c)	$(CC) $(COMPDB_CFLAGS) $(TEST_CFLAGS) -c $(c)))
	@bash tools/compile_commands.sh $(CURDIR) <$(OUT)/compile_commands.tsv >$(OUT)/compile_commands.json.tmp
	@mv $(OUT)/compile_commands.json.tmp $(OUT)/compile_commands.json
	@rm -f $(OUT)/compile_commands.tsv
	@echo 'compdb: $(OUT)/compile_commands.json ($(words $(LIB_C) $(PROGRAM_C) $(BENCH_ALL_C) $(WORKLOAD_C) $(MPI_ALL_C) $(TEST_C)) files)'

# --- MPI (optional) ------------------------------------------------------------------------
# patterns/mpi/ (with lib/mpi/) is built with an MPI compiler wrapper into $(OUT)/mpi/bin, with
# $(OUT)/mpi/mpirun, the launcher to run it with (made from tools/mpirun.in).  Without
# MPI, `make` and `make test` say in one line that this part was skipped; `make mpi` installs
# it (tools/ensure_mpi.sh), builds it and runs its tests.  MPICH and Open MPI can be installed
# side by side: their own wrappers (mpicc.mpich, mpiexec.openmpi ...) are named, never the plain
# mpicc.  MPI=mpich|openmpi picks one; the default is the one installed, MPICH first
# (lessons/10-mpi.md says why), or MPICH when neither is.  The variables are at the top.
.PHONY: mpi mpi-build mpi-note mpi-test FORCE

mpi-note:
	@echo 'MPI: skipped (neither mpicc.mpich nor mpicc.openmpi is installed); make mpi installs MPICH, builds patterns/mpi and runs its tests'

mpi-build: $(MPI_PROGRAMS) $(MPI_LAUNCHER)

mpi: deps
	@bash tools/ensure_mpi.sh $(MPI)
	@$(MAKE) --no-print-directory MPI=$(MPI) mpi-test

# The MPI programs' tests and the lesson's questions (tests/test_mpi.c) alone; they compare
# with the one-machine programs (pool_primes, pool_mandelbrot), so those are built too.
mpi-test: mpi-build $(PROGRAMS) $(TESTS)
	@$(TESTS) --filter '*mpi/*'

# Rewritten only when the implementation changes: a switch rebuilds and relinks everything.
$(MPI_STAMP): FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = '$(MPI)' ] || echo '$(MPI)' > $@

$(MPI_LAUNCHER): tools/mpirun.in $(MPI_STAMP)
	@sed 's/@MPI@/$(MPI)/g' $< > $@.tmp && chmod +x $@.tmp && mv $@.tmp $@

# Objects made by a chain of pattern rules would be deleted as intermediate files: keep them.
.SECONDARY: $(call mpi_obj,$(MPI_ALL_C))

$(OUT)/mpi/obj-$(MPI)/%.o: %.c $(MPI_STAMP)
	@mkdir -p $(@D)
	$(MPICC) $(ALL_CFLAGS) -c $< -o $@

$(OUT)/mpi/bin/%: $(call mpi_obj,patterns/mpi/%.c $(MPI_LIB_C)) $(LIBRARY) $(MPI_STAMP)
	@mkdir -p $(@D)
	$(MPICC) $(ALL_CFLAGS) $(filter %.o %.a,$^) -o $@ $(LDLIBS)

FORCE:

-include $(shell find $(OUT)/obj $(OUT)/mpi -name '*.d' 2>/dev/null)
