/*
 * hooks.c — tests/bench/hooks OBJ COMMAND [ARGS...]: attaches every program of the BPF object
 * OBJ (hooks.bpf.o: empty programs on conlab's scheduler tracepoints), runs COMMAND with its
 * output as its own, detaches, and exits as COMMAND did. For tests/bench/record.sh: the cost
 * of the hooks alone, beside what conlab's probes add.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#define MAX_LINKS 16

int main(int argc, char **argv)
{
	struct bpf_link *links[MAX_LINKS];
	struct bpf_object *obj;
	struct bpf_program *p;
	int n = 0, status = 0;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: hooks OBJ COMMAND [ARGS...]\n");
		return 2;
	}
	libbpf_set_print(NULL);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "hooks: cannot load %s\n", argv[1]);
		return 2;
	}
	bpf_object__for_each_program(p, obj) {
		if (n == MAX_LINKS || !(links[n] = bpf_program__attach(p))) {
			fprintf(stderr, "hooks: cannot attach %s\n", bpf_program__name(p));
			return 2;
		}
		n++;
	}
	pid = fork();
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "hooks: cannot run %s\n", argv[2]);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		perror("hooks");
		return 2;
	}
	while (n--)
		bpf_link__destroy(links[n]);
	bpf_object__close(obj);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
