# memtrace-bpf — build, test, demo.
#   make                 build ./memtrace-bpf (objects under $(OUTPUT))
#   sudo make test       install missing Debian packages, build, run every test (unit, integration,
#                        integration under ASan+UBSan, a short fuzz, valgrind, kernels)
#   sudo make test-kernels  the host's kernel and Debian 12's 6.1 (QEMU) on the same binary
#   sudo make bench      what tracing costs (not part of make test); sudo make soak: 10 min
#   make fuzz            fuzz the parsers and writers for FUZZ_SECONDS (300) each
#   sudo make demo       build and trace the seed workload
#   make V=1             show full commands
#   make VMLINUX_H=path  use another vmlinux.h (default: vendored, else generated from kernel BTF)

OUTPUT ?= .output
CLANG ?= clang
CC ?= cc
BPFTOOL ?= bpftool
PYTHON ?= /usr/bin/python3
PREFIX ?= /usr/local

VERSION := 0.1.0
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' \
	-e 's/mips.*/mips/' -e 's/riscv64/riscv/' -e 's/loongarch64/loongarch/' -e 's/s390x/s390/')

ifeq ($(wildcard vmlinux/$(ARCH)/vmlinux.h),)
VMLINUX_H ?= $(OUTPUT)/vmlinux/vmlinux.h
else
VMLINUX_H ?= vmlinux/$(ARCH)/vmlinux.h
endif

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARNINGS := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
CFLAGS += $(WARNINGS) -std=gnu11 -D_GNU_SOURCE -DMT_VERSION='"$(VERSION)"' -MMD -MP \
	-I$(OUTPUT) -Ibpf -Iuser
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
# libbpf, libelf and zlib linked statically so the binary runs where it is copied; libc stays dynamic
# (getpwnam and initgroups need NSS). libmicrohttpd is opened only by --prometheus (dlopen): it
# brings GnuTLS and ten libraries more, 5 ms of every start-up otherwise. elfutils' libdw
# (--stacks' unwinder and symbols) is static too, with the compressors it reads debug sections
# with, and binutils' demangler (libiberty): no start-up cost for a run without --stacks.
LIBS := -Wl,-Bstatic -lbpf -ldw -lelf -lz -llzma -lbz2 -lzstd -liberty -Wl,-Bdynamic -lm -ldl \
	-lpthread

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-I$(dir $(VMLINUX_H)) -I$(OUTPUT) -Ibpf

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
# modules the unit tests link against (no BPF, no main)
UNIT_MODS := units strbuf json csv jsonl mprof formats cli log fileio cgroupfs cglimit cgtarget oom \
	writer live btfscan programs text procfs summary sampler pyoffsets pylinetable pyprof pyreport \
	elfsym pyfind tracefs stats runlog bisect sumjson netaddr promtext metrics cgname oomlog \
	maptrack unwind stackprof folded
UNIT_OBJS := $(patsubst %,$(OUTPUT)/user/%.o,$(UNIT_MODS))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(wildcard tests/unit/test_*.c))
WORKLOADS := $(patsubst tests/workloads/%.c,$(OUTPUT)/workloads/%,$(wildcard tests/workloads/*.c))

.DELETE_ON_ERROR:
.PHONY: all clean test unit integration demo deps workloads install uninstall FORCE

all: memtrace-bpf

# copy then rename: a running ./memtrace-bpf is replaced, not written into
memtrace-bpf: $(OUTPUT)/memtrace-bpf
	$(Q)cp $< $@.tmp && mv -f $@.tmp $@

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/tests $(OUTPUT)/workloads $(OUTPUT)/vmlinux:
	$(Q)mkdir -p $@

$(OUTPUT)/vmlinux/vmlinux.h: | $(OUTPUT)/vmlinux
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUTPUT)/memtrace.tmp.bpf.o: bpf/memtrace.bpf.c $(wildcard bpf/*.h) $(VMLINUX_H) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# bpftool gen object drops DWARF and finalises the object the skeleton embeds
$(OUTPUT)/memtrace.bpf.o: $(OUTPUT)/memtrace.tmp.bpf.o
	$(Q)$(BPFTOOL) gen object $@ $<

$(OUTPUT)/memtrace.skel.h: $(OUTPUT)/memtrace.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name memtrace_bpf > $@

$(OUTPUT)/user/%.o: user/%.c | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# only the tracer includes the skeleton
$(OUTPUT)/user/bpfobj.o: $(OUTPUT)/memtrace.skel.h

# ---- CPython offsets for --python (user/pyoffsets.c) ----
# struct mt_py_offsets for 3.11 and 3.12, compiled from each version's internal headers by
# scripts/pyoffsets/gen.c: Debian's python3.11-dev, else pyenv's; pyenv's 3.12. 3.13 publishes
# its own offsets at run time; its headers, when pyenv has them, give the unit test a table to
# check the run-time reading against. A version without headers is left out (the tool warns
# when it meets it); with none, the table is empty.
PYENV_ROOT ?= $(or $(shell pyenv root 2>/dev/null),$(HOME)/.pyenv)
py_headers = $(firstword $(foreach d,$(1),$(if $(wildcard $(d)/internal/pycore_frame.h),$(d))))
pyenv_headers = $(sort $(wildcard $(PYENV_ROOT)/versions/3.$(1).*/include/python3.$(1)))
PY_INC_311 := $(call py_headers,/usr/include/python3.11 $(call pyenv_headers,11))
PY_INC_312 := $(call py_headers,$(call pyenv_headers,12))
PY_INC_313 := $(call py_headers,$(call pyenv_headers,13))
PY_BUILT := $(foreach v,311 312,$(if $(PY_INC_$(v)),$(OUTPUT)/pyoffsets/gen-$(v)))
PY_GEN_313 := $(if $(PY_INC_313),$(OUTPUT)/pyoffsets/gen-313)

$(OUTPUT)/pyoffsets:
	$(Q)mkdir -p $@

# -isystem: CPython's headers are not held to this project's warnings
$(OUTPUT)/pyoffsets/gen-%: scripts/pyoffsets/gen.c bpf/memtrace.h | $(OUTPUT)/pyoffsets
	$(call msg,CC,$@)
	$(Q)$(CC) $(WARNINGS) -std=gnu11 -Ibpf -isystem $(PY_INC_$*) -isystem $(PY_INC_$*)/internal \
		$< -o $@

# rewritten only when the header directories found change, so the table follows them
$(OUTPUT)/pyoffsets/dirs: FORCE | $(OUTPUT)/pyoffsets
	$(Q)echo '$(PY_INC_311) $(PY_INC_312) $(PY_INC_313)' | cmp -s - $@ || \
		echo '$(PY_INC_311) $(PY_INC_312) $(PY_INC_313)' > $@

$(OUTPUT)/pyoffsets_table.h: $(PY_BUILT) $(PY_GEN_313) $(OUTPUT)/pyoffsets/dirs
	$(call msg,GEN,$@)
	$(Q){ echo '/* generated by make with scripts/pyoffsets/gen.c: do not edit */'; \
	echo 'static const struct mt_py_offsets mt_py_built_offsets[] = {'; \
	for g in $(PY_BUILT); do $$g || exit 1; done; \
	echo '};'; \
	echo 'static const unsigned mt_py_built_count = $(words $(PY_BUILT));'; \
	echo '#define MT_PY_HEADERS_311 "$(PY_INC_311)"'; \
	echo '#define MT_PY_HEADERS_312 "$(PY_INC_312)"'; \
	echo '#define MT_PY_HEADERS_313 "$(PY_INC_313)"'; \
	echo '/* 3.13 from its headers: only the unit test reads it */'; \
	echo '#ifdef MT_PY_WANT_HEADER_313'; \
	echo 'static const struct mt_py_offsets mt_py_header_offsets_313[] = {'; \
	for g in $(PY_GEN_313); do $$g || exit 1; done; \
	echo '};'; \
	echo 'static const unsigned mt_py_header_count_313 = $(words $(PY_GEN_313));'; \
	echo '#endif'; } > $@.tmp && mv -f $@.tmp $@

$(OUTPUT)/user/pyoffsets.o $(OUTPUT)/tests/test_pyoffsets: $(OUTPUT)/pyoffsets_table.h
# ---- end of CPython offsets ----

$(OUTPUT)/memtrace-bpf: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c tests/unit/unit.h $(UNIT_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(UNIT_OBJS) $(LDFLAGS) $(LIBS) -o $@

$(OUTPUT)/workloads/%: tests/workloads/%.c | $(OUTPUT)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -lpthread -o $@

# ---- the stack workload (tests/workloads/stacks/, for --stacks) ----
# An executable and its shared library (tests/workloads/*.c above does not reach into the
# subdirectory), with flags of their own (not CFLAGS: not SANITIZE's either): the frames the
# tests look for must be there, none inlined, none a tail call. Each variant is a directory
# of its own, the executable finding its library next to it ($ORIGIN):
#   workloads/stackgrow, workloads/libstackgrow.so  -g, no frame pointer (DWARF unwinding)
#   workloads/stackgrow-nodebug/                    the same, strip --strip-debug (.symtab kept)
#   workloads/stackgrow-stripped/                   the same, strip --strip-all (.dynsym only)
#   workloads/stackgrow-fp/                         -g -fno-omit-frame-pointer (--stacks=fp)
STACK_SRC := tests/workloads/stacks
STACK_CFLAGS := -O2 -g -fno-optimize-sibling-calls $(WARNINGS) -std=gnu11 -D_GNU_SOURCE \
	-Itests/workloads -I$(STACK_SRC)
# bound at load time: no lazy binding running in the dynamic linker under lib_grow's memset
STACK_LDFLAGS = -Wl,-z,now
STACK_VARIANTS := nodebug stripped fp
STACK_WORKLOADS := $(foreach d,$(OUTPUT)/workloads $(patsubst %,$(OUTPUT)/workloads/stackgrow-%,\
	$(STACK_VARIANTS)),$(d)/stackgrow $(d)/libstackgrow.so)

$(patsubst %,$(OUTPUT)/workloads/stackgrow-%,$(STACK_VARIANTS)):
	$(Q)mkdir -p $@

#   $(call stack_build,DIR,FRAME_POINTER_FLAG): DIR/libstackgrow.so and DIR/stackgrow
define stack_build
$(1)/libstackgrow.so: $(STACK_SRC)/stacklib.c $(STACK_SRC)/stacklib.h | $(1)
	$$(call msg,CC,$$@)
	$$(Q)$$(CC) $$(STACK_CFLAGS) $(2) -fPIC -shared -Wl,-soname,libstackgrow.so \
		$$(STACK_LDFLAGS) $$< -o $$@

$(1)/stackgrow: $(STACK_SRC)/stackgrow.c $(STACK_SRC)/stacklib.h tests/workloads/workload.h \
		$(1)/libstackgrow.so
	$$(call msg,CC,$$@)
	$$(Q)$$(CC) $$(STACK_CFLAGS) $(2) $$< -L$(1) -lstackgrow -Wl,-rpath,'$$$$ORIGIN' \
		$$(STACK_LDFLAGS) -o $$@
endef

$(eval $(call stack_build,$(OUTPUT)/workloads,-fomit-frame-pointer))
$(eval $(call stack_build,$(OUTPUT)/workloads/stackgrow-fp,-fno-omit-frame-pointer))

$(OUTPUT)/workloads/stackgrow-nodebug/%: $(OUTPUT)/workloads/% | $(OUTPUT)/workloads/stackgrow-nodebug
	$(call msg,STRIP,$@)
	$(Q)strip --strip-debug -o $@ $<

$(OUTPUT)/workloads/stackgrow-stripped/%: $(OUTPUT)/workloads/% | $(OUTPUT)/workloads/stackgrow-stripped
	$(call msg,STRIP,$@)
	$(Q)strip --strip-all -o $@ $<
# ---- end of the stack workload ----

workloads: $(WORKLOADS) $(STACK_WORKLOADS) $(OUTPUT)/tools/bpf-deny

# A side program with a BPF object of its own (the bench's floor, the tests' bpf-deny): the
# object, its skeleton, and the program that includes it.
#   $(call bpf_side_program,DIR,NAME,BPF_SOURCE,C_SOURCE,PROGRAM): DIR/NAME.bpf.o, DIR/PROGRAM
define bpf_side_program
$(1)/$(2).bpf.o: $(3) $$(VMLINUX_H) | $(1)
	$$(call msg,BPF,$$@)
	$$(Q)$$(CLANG) $$(BPF_CFLAGS) -c $$< -o $$@.tmp && $$(BPFTOOL) gen object $$@ $$@.tmp && rm -f $$@.tmp

$(1)/$(2).skel.h: $(1)/$(2).bpf.o
	$$(call msg,GEN-SKEL,$$@)
	$$(Q)$$(BPFTOOL) gen skeleton $$< name $(2)_bpf > $$@

$(1)/$(5): $(4) $(1)/$(2).skel.h
	$$(call msg,CC,$$@)
	$$(Q)$$(CC) $$(CFLAGS) -I$(1) $$< $$(LDFLAGS) $$(LIBS) -o $$@
endef

# tests/tools/bpf-deny: a BPF LSM policy that makes the kernel refuse named programs (tests)
$(OUTPUT)/tools:
	$(Q)mkdir -p $@

$(eval $(call bpf_side_program,$(OUTPUT)/tools,bpf_deny,tests/tools/bpf_deny.bpf.c,\
	tests/tools/bpf-deny.c,bpf-deny))

deps:
	$(Q)scripts/install-deps.sh

unit: $(UNIT_TESTS)
	$(Q)scripts/run-unit-tests.sh $(UNIT_TESTS)

integration: all workloads
	$(Q)MEMTRACE_BPF=$(CURDIR)/memtrace-bpf MT_WORKLOADS=$(CURDIR)/$(OUTPUT)/workloads \
		MT_TOOLS=$(CURDIR)/$(OUTPUT)/tools MT_BPF_OBJECT=$(CURDIR)/$(OUTPUT)/memtrace.bpf.o \
		$(PYTHON) -m pytest -ra tests/integration $(PYTEST_ARGS)

# The README's test command: everything a fresh Debian 12 machine needs, then every test:
# unit, integration, the integration suite again against an ASan+UBSan build, a short fuzz of
# every parser and writer, short runs under valgrind, and the kernel matrix (the host's kernel
# and Debian 12's 6.1 under QEMU).
test: deps
	$(Q)$(MAKE) --no-print-directory all workloads $(UNIT_TESTS)
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory integration
	$(Q)$(MAKE) --no-print-directory integration-sanitize
	$(Q)$(MAKE) --no-print-directory fuzz-short
	$(Q)$(MAKE) --no-print-directory valgrind
	$(Q)$(MAKE) --no-print-directory test-kernels

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

# make bench: what tracing costs, against the floor (empty programs on the same hooks), bpftrace
# and mprof (BENCH_INSTALL=1 installs those two from Debian); prints a markdown table and
# keeps it under results/. Not part of make test. BENCH_ARGS=--quick for a fast check.
BENCH_BINS := $(OUTPUT)/bench/floor $(OUTPUT)/bench/faultloop $(OUTPUT)/bench/stamp \
	$(OUTPUT)/bench/herd $(OUTPUT)/bench/timed
.PHONY: bench soak

$(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(eval $(call bpf_side_program,$(OUTPUT)/bench,floor,scripts/bench/floor.bpf.c,\
	scripts/bench/floor.c,floor))

$(OUTPUT)/bench/%: scripts/bench/%.c | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

bench: all workloads $(BENCH_BINS)
	$(Q)scripts/install-deps.sh
	$(Q)if [ -n "$(BENCH_INSTALL)" ]; then scripts/install-deps.sh bpftrace python3-memory-profiler; fi
	$(Q)$(PYTHON) scripts/bench/bench.py $(BENCH_ARGS)

# make soak: 10 minutes of -a under stress-ng (memory churn and forks), its exporter scraped every
# second; the tracer's RSS must stay flat, nothing may be lost, every scrape must answer. Not part
# of make test. SOAK_SECONDS to change the length.
soak: all
	$(Q)scripts/install-deps.sh stress-ng
	$(Q)$(PYTHON) scripts/soak.py $(if $(SOAK_SECONDS),--seconds $(SOAK_SECONDS))

# make test-kernels: the same binary on the host's kernel and on Debian 12's 6.1 kernel, booted
# with QEMU (tcg) from an initramfs; a representative subset of the integration checks
# (scripts/kernels/runner.sh). About 30 s; make test runs it last.
.PHONY: test-kernels
test-kernels: all workloads
	$(Q)scripts/install-deps.sh qemu-system-x86 busybox-static cpio
	$(Q)scripts/kernels/test-kernels.sh $(OUTPUT)/kernels memtrace-bpf $(OUTPUT)/workloads \
		$(OUTPUT)/tools

# make install [PREFIX=/usr/local] [DESTDIR=staging root]; make uninstall with the same values.
# The man page goes in uncompressed (man reads both; packagers compress it). The systemd unit
# goes in PREFIX/lib/systemd/system (systemd reads /usr/local/lib/systemd/system too), its
# ExecStart pointed at the binary installed with it; it is installed, not enabled.
INSTALL ?= install
INSTALL_FILES := sbin/memtrace-bpf bin/memtrace-plot share/man/man8/memtrace-bpf.8 \
	share/bash-completion/completions/memtrace-bpf lib/systemd/system/memtrace-bpf.service

install: all
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -D -m 0755 memtrace-bpf $(DESTDIR)$(PREFIX)/sbin/memtrace-bpf
	$(Q)$(INSTALL) -D -m 0755 scripts/memtrace-plot $(DESTDIR)$(PREFIX)/bin/memtrace-plot
	$(Q)$(INSTALL) -D -m 0644 doc/memtrace-bpf.8 $(DESTDIR)$(PREFIX)/share/man/man8/memtrace-bpf.8
	$(Q)$(INSTALL) -D -m 0644 scripts/completion/memtrace-bpf.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/memtrace-bpf
	$(Q)sed 's|@SBINDIR@|$(PREFIX)/sbin|g' scripts/systemd/memtrace-bpf.service.in \
		> $(OUTPUT)/memtrace-bpf.service
	$(Q)$(INSTALL) -D -m 0644 $(OUTPUT)/memtrace-bpf.service \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/memtrace-bpf.service

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(addprefix $(DESTDIR)$(PREFIX)/,$(INSTALL_FILES))

# ---- sanitizer and valgrind checks: make integration-sanitize, make valgrind ----
# integration-sanitize: the integration suite against an ASan+UBSan build of the tracer in
# $(OUTPUT)/san (./memtrace-bpf is left alone). Built with clang: gcc 12 links UBSan as its own
# libubsan.so, whose reports ignore log_path while libasan is loaded. Every ASan, UBSan or leak
# report goes to a file in $(SAN_REPORTS) (mode 1777: a tracer run as another user reports there
# too) and makes the tracer exit 86; conftest (MT_SANITIZE=1) fails the test during which a
# report appears, even from a tracer whose stderr a test discards, and any report found at the
# end is printed on stderr and fails the target.
# valgrind: short real runs of ./memtrace-bpf under memcheck (scripts/valgrind-check.sh): false
# positives in tests/valgrind.supp, bpf(2) results valgrind does not model in tests/valgrind-bpf.c.
.PHONY: integration-sanitize valgrind
SAN_CC ?= clang
SAN_REPORTS = $(CURDIR)/$(OUTPUT)/san/reports
SAN_OPTIONS = halt_on_error=1:print_stacktrace=1:exitcode=86:log_path=$(SAN_REPORTS)/report

integration-sanitize: workloads
	$(Q)scripts/install-deps.sh clang libclang-rt-14-dev
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(OUTPUT)/san SANITIZE=1 CC=$(SAN_CC) \
		$(OUTPUT)/san/memtrace-bpf
	$(Q)rm -rf $(SAN_REPORTS) && mkdir -p $(SAN_REPORTS) && chmod 1777 $(SAN_REPORTS)
	$(Q)status=0; MT_SANITIZE=1 MEMTRACE_BPF=$(CURDIR)/$(OUTPUT)/san/memtrace-bpf \
		MT_WORKLOADS=$(CURDIR)/$(OUTPUT)/workloads MT_TOOLS=$(CURDIR)/$(OUTPUT)/tools \
		MT_BPF_OBJECT=$(CURDIR)/$(OUTPUT)/san/memtrace.bpf.o \
		ASAN_OPTIONS=detect_leaks=1:$(SAN_OPTIONS) UBSAN_OPTIONS=$(SAN_OPTIONS) \
		$(PYTHON) -m pytest -ra tests/integration $(PYTEST_ARGS) || status=$$?; \
	for f in $(SAN_REPORTS)/report*; do [ -e "$$f" ] || continue; \
		echo "==== sanitizer report $$f" >&2; cat "$$f" >&2; status=1; done; \
	exit $$status

valgrind: all workloads
	$(Q)scripts/install-deps.sh valgrind
	$(Q)MEMTRACE_BPF=$(CURDIR)/memtrace-bpf MT_WORKLOADS=$(CURDIR)/$(OUTPUT)/workloads \
		scripts/valgrind-check.sh
# ---- end of sanitizer and valgrind checks ----

# ---- fuzzing (libFuzzer): make fuzz [FUZZ_SECONDS=300], make fuzz-short (15 s each) ----
# Each target is tests/fuzz/<target>.c compiled together with the user/*.c it exercises
# (straight into the fuzzer, apart from the normal objects) by clang with libFuzzer, ASan and
# UBSan (a UBSan report is a crash). scripts/run-fuzz.sh runs each for FUZZ_SECONDS; crash
# inputs, logs and the corpora grown at run time go under $(OUTPUT)/fuzz/, seeds come from
# tests/fuzz/corpus/<target>/.
.PHONY: fuzz fuzz-short
FUZZ_TARGETS := fuzz_cli fuzz_units fuzz_csv fuzz_jsonl fuzz_pyprof fuzz_exporter fuzz_maptrack
FUZZ_SECONDS ?= 300
FUZZ_BINS := $(patsubst %,$(OUTPUT)/fuzz/%,$(FUZZ_TARGETS))
FUZZ_SRCS_fuzz_cli := user/cli.c user/units.c user/log.c user/text.c user/formats.c user/csv.c \
	user/json.c user/jsonl.c user/mprof.c user/writer.c user/strbuf.c user/netaddr.c
FUZZ_SRCS_fuzz_units := user/units.c
FUZZ_SRCS_fuzz_csv := user/strbuf.c user/csv.c user/writer.c
FUZZ_SRCS_fuzz_jsonl := user/strbuf.c user/writer.c user/json.c user/jsonl.c user/mprof.c user/text.c
FUZZ_SRCS_fuzz_pyprof := user/pyprof.c user/pyreport.c user/pylinetable.c user/units.c \
	user/folded.c user/strbuf.c
FUZZ_SRCS_fuzz_maptrack := user/maptrack.c user/procfs.c user/fileio.c user/text.c user/log.c
FUZZ_SRCS_fuzz_exporter := user/netaddr.c user/promtext.c user/metrics.c user/strbuf.c user/oom.c \
	user/procfs.c user/fileio.c user/writer.c user/text.c user/log.c
FUZZ_CFLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -g -O1 $(WARNINGS) -std=gnu11 -D_GNU_SOURCE \
	-DMT_VERSION='"$(VERSION)"' -I$(OUTPUT) -Ibpf -Iuser

$(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

$(FUZZ_BINS): $(OUTPUT)/fuzz/%: tests/fuzz/%.c $(sort $(foreach t,$(FUZZ_TARGETS),$(FUZZ_SRCS_$(t)))) \
		$(wildcard user/*.h tests/fuzz/*.h) | $(OUTPUT)/fuzz
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $< $(FUZZ_SRCS_$*) -lm -o $@

fuzz: $(FUZZ_BINS)
	$(Q)scripts/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz-short:
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=15
# ---- end of fuzzing ----

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(OUTPUT) memtrace-bpf

-include $(USER_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(WORKLOADS:=.d) $(UNIT_TESTS:=.d)
