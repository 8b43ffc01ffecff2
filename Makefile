# memtrace-bpf — build, test, demo.
#   make                 build ./memtrace-bpf (objects under $(OUTPUT))
#   sudo make test       install missing Debian packages, build, run unit + integration tests
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
# (getpwnam and initgroups need NSS).
LIBS := -Wl,-Bstatic -lbpf -lelf -lz -Wl,-Bdynamic -lm

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-I$(dir $(VMLINUX_H)) -I$(OUTPUT) -Ibpf

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
# modules the unit tests link against (no BPF, no main)
UNIT_MODS := units csv cli log cgroup oom writer formats live
UNIT_OBJS := $(patsubst %,$(OUTPUT)/user/%.o,$(UNIT_MODS))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(wildcard tests/unit/test_*.c))
WORKLOADS := $(patsubst tests/workloads/%.c,$(OUTPUT)/workloads/%,$(wildcard tests/workloads/*.c))

.DELETE_ON_ERROR:
.PHONY: all clean test unit integration demo deps workloads install uninstall

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
$(OUTPUT)/user/tracer.o: $(OUTPUT)/memtrace.skel.h

$(OUTPUT)/memtrace-bpf: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c tests/unit/unit.h $(UNIT_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(UNIT_OBJS) $(LDFLAGS) -lm -o $@

$(OUTPUT)/workloads/%: tests/workloads/%.c | $(OUTPUT)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -lpthread -o $@

workloads: $(WORKLOADS)

deps:
	$(Q)scripts/install-deps.sh

unit: $(UNIT_TESTS)
	$(Q)scripts/run-unit-tests.sh $(UNIT_TESTS)

integration: all workloads
	$(Q)MEMTRACE_BPF=$(CURDIR)/memtrace-bpf MT_WORKLOADS=$(CURDIR)/$(OUTPUT)/workloads \
		$(PYTHON) -m pytest -ra tests/integration $(PYTEST_ARGS)

# The README's test command: everything a fresh Debian 12 machine needs, then every test.
test: deps
	$(Q)$(MAKE) --no-print-directory all workloads $(UNIT_TESTS)
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory integration

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

# make install [PREFIX=/usr/local] [DESTDIR=staging root]; make uninstall with the same values.
# The man page goes in uncompressed (man reads both; packagers compress it).
INSTALL ?= install
INSTALL_FILES := sbin/memtrace-bpf bin/memtrace-plot share/man/man8/memtrace-bpf.8 \
	share/bash-completion/completions/memtrace-bpf

install: all
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -D -m 0755 memtrace-bpf $(DESTDIR)$(PREFIX)/sbin/memtrace-bpf
	$(Q)$(INSTALL) -D -m 0755 scripts/memtrace-plot $(DESTDIR)$(PREFIX)/bin/memtrace-plot
	$(Q)$(INSTALL) -D -m 0644 doc/memtrace-bpf.8 $(DESTDIR)$(PREFIX)/share/man/man8/memtrace-bpf.8
	$(Q)$(INSTALL) -D -m 0644 scripts/completion/memtrace-bpf.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/memtrace-bpf

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(addprefix $(DESTDIR)$(PREFIX)/,$(INSTALL_FILES))

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(OUTPUT) memtrace-bpf

-include $(USER_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(WORKLOADS:=.d) $(UNIT_TESTS:=.d)
