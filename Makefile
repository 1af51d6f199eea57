# conlab — top-level Makefile.
#
#   make            build build/conlab, the workloads and the unit tests
#   make demo       install missing Debian packages, build, trace a bundled workload, print a report
#   make test       install missing Debian packages, build, run every test (unit, integration)
#   make bench      benchmarks (not part of the tests)
#   make fuzz       fuzz the trace reader for FUZZ_SECONDS; every report under valgrind
#   make install    PREFIX=/usr/local DESTDIR=
#   V=1             show full commands; SAN=address,undefined for a sanitizer build
#
# Everything generated lives in $(OUTPUT): vmlinux.h, BPF objects, the skeleton, objects.

MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
.DELETE_ON_ERROR:
.DEFAULT_GOAL := all

OUTPUT    ?= build
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
CLANG     ?= clang
BPFTOOL   ?= $(firstword $(shell command -v bpftool 2>/dev/null) $(wildcard /usr/sbin/bpftool /sbin/bpftool))
PKG_CONFIG ?= pkg-config
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
SAN       ?=

ifeq ($(V),1)
  Q =
  msg =
else
  Q = @
  msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# The probes read syscall arguments from x86-64 registers by name and the doctor unwinds with
# x86-64 DWARF register numbers (docs/design.md): refuse other machines with one clear line.
MACHINE := $(shell uname -m)
ifneq ($(MACHINE),x86_64)
  ifneq ($(filter-out clean distclean help,$(or $(MAKECMDGOALS),all)),)
    $(error conlab supports x86-64 only; this machine is $(MACHINE))
  endif
endif
ARCH := x86

# Targets that only install or clean must not need the toolchain yet.
NOTOOLS_GOALS := deps clean distclean help
ifneq ($(filter-out $(NOTOOLS_GOALS),$(or $(MAKECMDGOALS),all)),)
  ifeq ($(filter deps,$(MAKECMDGOALS))$(filter demo test bench,$(MAKECMDGOALS)),)
    # plain build: check tools now so the error is one clear line
    ifeq ($(shell command -v $(CLANG) 2>/dev/null),)
      $(error clang not found: run 'sudo make deps' (or install clang llvm))
    endif
    ifeq ($(BPFTOOL),)
      $(error bpftool not found: run 'sudo make deps' (or install bpftool))
    endif
    ifeq ($(shell $(PKG_CONFIG) --exists libbpf libdw libzstd 2>/dev/null && echo ok),)
      $(error libbpf/libdw/libzstd development files not found: run 'sudo make deps')
    endif
  endif
endif

CFLAGS   ?= -g -O2
WARN     := -Wall -Wextra -Werror -Wno-missing-field-initializers
# Sanitizer flags live apart from CFLAGS so that `make SAN=... CFLAGS=...` keeps both; a
# sanitizer build belongs in its own OUTPUT (make SAN=address,undefined OUTPUT=build-san) so
# that its objects never mix with the normal ones. Any finding is fatal (no recovery).
SAN_CFLAGS  :=
SAN_LDFLAGS :=
# nonnull-attribute is left out: qsort/memcpy of zero elements at a NULL array (an empty
# table) is what it flags, which glibc handles and C2y (N3322) makes defined.
ifneq ($(SAN),)
  SAN_CFLAGS  := -fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer
  ifneq ($(findstring undefined,$(SAN)),)
    SAN_CFLAGS += -fno-sanitize=nonnull-attribute
  endif
  SAN_LDFLAGS := -fsanitize=$(SAN)
endif
USER_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) $(SAN_CFLAGS) -D_GNU_SOURCE -I$(OUTPUT) -Ibpf -Itools \
	       -MMD -MP
USER_LDFLAGS := $(LDFLAGS) $(SAN_LDFLAGS)
LIBS := $(shell $(PKG_CONFIG) --libs libbpf libdw libzstd 2>/dev/null) -lelf -lz -lm -lpthread

# BPF: one object and one skeleton from every bpf/*.bpf.c but the doctor's register reader,
# which is loaded alone (its own skeleton, taskregs.skel.h).
# sched.bpf.c defines the shared maps; libbpf 1.1's linker needs the definitions before the
# objects that declare them extern, so it goes first.
BPF_ALONE := bpf/taskregs.bpf.c
BPF_SRCS := bpf/sched.bpf.c $(filter-out bpf/sched.bpf.c $(BPF_ALONE),$(wildcard bpf/*.bpf.c))
BPF_TMPS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.tmp.bpf.o,$(BPF_SRCS))
CLANG_BPF_SYS_INCLUDES = $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

# The conlab binary: every tools/LAYER/*.c (the preload interposer has its own rule). The
# layers, lowest first, are in docs/design.md; a file includes only its own layer and lower ones.
TOOL_SRCS := $(wildcard tools/*/*.c)
TOOL_OBJS := $(patsubst tools/%.c,$(OUTPUT)/tools/%.o,$(TOOL_SRCS))
# Everything but the entry point, as an archive: a unit test or the fuzz harness links against
# it and so takes only the objects it needs (what it tests and what those call).
LIB_OBJS  := $(filter-out $(OUTPUT)/tools/cmd/conlab.o,$(TOOL_OBJS))
LIB_A     := $(OUTPUT)/libconlab.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

.PHONY: all deps demo test unit integration bench fuzz install clean help
all: $(OUTPUT)/conlab workloads $(UNIT_BINS) $(OUTPUT)/libconlab-preload.so

help:
	@sed -n '2,11p' Makefile

# --locks=preload: the interposer library loaded into the command. Frame pointers: the kernel
# walks a blocked thread's user stack through its wrappers by them.
$(OUTPUT)/libconlab-preload.so: $(wildcard tools/capture/preload/*.c tools/capture/preload/*.h) | $(OUTPUT)
	$(call msg,LIB,$@)
	$(Q)$(CC) -std=gnu11 $(WARN) -O2 -g -fno-omit-frame-pointer -fPIC -shared \
		-fvisibility=hidden -D_GNU_SOURCE \
		$(filter %.c,$^) -ldl -o $@

# ---- dependencies -------------------------------------------------------------------------
deps:
	$(Q)./tools/install-deps.sh

# ---- BPF ----------------------------------------------------------------------------------
ifdef VMLINUX_H
$(OUTPUT)/vmlinux.h: $(VMLINUX_H) | $(OUTPUT)
	$(call msg,VMLINUX,$@)
	$(Q)cp $< $@
else
$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,VMLINUX,$@)
	$(Q)test -r $(VMLINUX_BTF) || { echo "no kernel BTF at $(VMLINUX_BTF): set VMLINUX_H=path/to/vmlinux.h" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@
endif

$(OUTPUT)/bpf/%.tmp.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(OUTPUT)/vmlinux.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I$(OUTPUT) -Ibpf \
		$(CLANG_BPF_SYS_INCLUDES) -Wall -Werror -c $< -o $@

$(OUTPUT)/conlab.bpf.o: $(BPF_TMPS)
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(OUTPUT)/conlab.skel.h: $(OUTPUT)/conlab.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name conlab_bpf > $@

$(OUTPUT)/taskregs.skel.h: $(OUTPUT)/bpf/taskregs.tmp.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen object $(OUTPUT)/taskregs.bpf.o $<
	$(Q)$(BPFTOOL) gen skeleton $(OUTPUT)/taskregs.bpf.o name taskregs_bpf > $@

# The same program without CO-RE, and the facts of the kernel it was built on (its build-id,
# the id of bpf_iter_task): the doctor loads it directly when it runs on that kernel.
$(OUTPUT)/bpf/taskregs_fixed.tmp.bpf.o: bpf/taskregs.bpf.c bpf/taskregs_rec.h $(OUTPUT)/vmlinux.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -DTASKREGS_FIXED -I$(OUTPUT) \
		-Ibpf $(CLANG_BPF_SYS_INCLUDES) -Wall -Werror -c $< -o $@

$(OUTPUT)/taskregs_fixed.skel.h: $(OUTPUT)/bpf/taskregs_fixed.tmp.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen object $(OUTPUT)/taskregs_fixed.bpf.o $<
	$(Q)$(BPFTOOL) gen skeleton $(OUTPUT)/taskregs_fixed.bpf.o name taskregs_fixed_bpf > $@

$(OUTPUT)/taskregs_btf.h: $(OUTPUT)/vmlinux.h tools/btf_facts.sh
	$(call msg,GEN,$@)
	$(Q)tools/btf_facts.sh "$(BPFTOOL)" "$(if $(VMLINUX_H),,$(VMLINUX_BTF))" $(OUTPUT)/vmlinux.h > $@

# ---- user space ---------------------------------------------------------------------------
# The generated headers are order-only: they must exist before the first compile, and after
# it each object depends on just the headers it includes (its .d file, from -MMD).
GEN_HDRS := $(OUTPUT)/conlab.skel.h $(OUTPUT)/taskregs.skel.h $(OUTPUT)/taskregs_fixed.skel.h \
	    $(OUTPUT)/taskregs_btf.h
$(OUTPUT)/tools/%.o: tools/%.c | $(GEN_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(OUTPUT)/conlab: $(TOOL_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_LDFLAGS) $^ $(LIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_A) | $(OUTPUT)/tests $(GEN_HDRS)
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) $(USER_LDFLAGS) $< $(LIB_A) $(LIBS) -lcmocka -o $@

# The fuzz harness: tests/fuzz/run.sh builds it in its own OUTPUT with CC=clang,
# SAN=address,undefined and CFLAGS carrying -fsanitize=fuzzer-no-link for the tools objects.
$(OUTPUT)/fuzz/fuzz_trace: tests/fuzz/fuzz_trace.c $(LIB_A) | $(OUTPUT)/fuzz $(GEN_HDRS)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -fsanitize=fuzzer $(USER_LDFLAGS) $< $(LIB_A) $(LIBS) -o $@

.PHONY: unit-bins
unit-bins: $(UNIT_BINS)

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/tools $(OUTPUT)/tests $(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

-include $(wildcard $(OUTPUT)/tools/*/*.d $(OUTPUT)/tests/*.d)

# ---- workloads ----------------------------------------------------------------------------
-include workloads/workloads.mk
.PHONY: workloads
workloads: $(WORKLOADS)

# ---- tests, demo, bench -------------------------------------------------------------------
unit: $(UNIT_BINS)
	$(Q)./tests/run-unit.sh $(OUTPUT)

integration: $(OUTPUT)/conlab workloads
	$(Q)./tests/run-integration.sh $(OUTPUT)

# demo and test build on every CPU (a plain `make` is as serial as the user asks)
JOBS := $(shell nproc 2>/dev/null || echo 2)

test: deps
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) all
	$(Q)./tests/run-all.sh $(OUTPUT)

demo: deps
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) all
	$(Q)./tools/demo.sh $(OUTPUT)

bench:
	$(Q)./tools/install-deps.sh bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./tests/bench/run.sh $(OUTPUT)

FUZZ_SECONDS ?= 60
fuzz: all
	$(Q)./tests/fuzz/run.sh $(OUTPUT) $(FUZZ_SECONDS)
	$(Q)./tests/fuzz/valgrind.sh $(OUTPUT)

# The preload library goes where conlab looks for it: PREFIX/lib/conlab beside PREFIX/bin.
install: $(OUTPUT)/conlab $(OUTPUT)/libconlab-preload.so
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX)/bin/conlab)
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/conlab
	$(Q)install -m 0755 $(OUTPUT)/conlab $(DESTDIR)$(PREFIX)/bin/conlab
	$(Q)install -m 0644 $(OUTPUT)/libconlab-preload.so \
		$(DESTDIR)$(PREFIX)/lib/conlab/libconlab-preload.so

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)
