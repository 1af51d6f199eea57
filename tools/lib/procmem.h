/* procmem.h — another process's memory, read without stopping it (process_vm_readv: the
 * caller needs ptrace-read permission, as for /proc/PID/mem, but no thread is attached). */
#ifndef CONLAB_PROCMEM_H
#define CONLAB_PROCMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Read len bytes of pid's memory at addr; bytes read (short at an unmapped page) or -1. */
ssize_t procmem_read(pid_t pid, uint64_t addr, void *buf, size_t len);

#endif
