# Lab workloads: one program per file in workloads/, built into $(OUTPUT)/workloads/.
# Included by the top-level Makefile, which provides OUTPUT, Q, msg and CC.

WORKLOAD_CFLAGS := -g -O2 -fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread

WORKLOAD_NAMES := race biglock pool procs iothreads table abba lockorder philo pcqueue \
		  sempool rwlock barrier barber daemon epoll_server green hangs pingpong \
		  cpuburn lockloop manythreads blocked

# io_uring twin of the echo server: only when liburing's header is installed.
WORKLOAD_HAVE_URING := $(shell $(CC) -include liburing.h -x c -E /dev/null >/dev/null 2>&1 && echo 1)
ifeq ($(WORKLOAD_HAVE_URING),1)
WORKLOAD_NAMES += uring_server
else
$(info workloads: liburing-dev not found, skipping uring_server)
endif

WORKLOADS := $(addprefix $(OUTPUT)/workloads/,$(WORKLOAD_NAMES))

.PHONY: workloads
workloads: $(WORKLOADS)

$(OUTPUT)/workloads:
	$(Q)mkdir -p $@

$(OUTPUT)/workloads/uring_server: workloads/uring_server.c workloads/wl.h | $(OUTPUT)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) $(WORKLOAD_CFLAGS) $< -o $@ -luring

$(OUTPUT)/workloads/%: workloads/%.c workloads/wl.h | $(OUTPUT)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) $(WORKLOAD_CFLAGS) $< -o $@
