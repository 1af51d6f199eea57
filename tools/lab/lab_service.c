/*
 * lab_service.c — `conlab lab service rabbitmq -- COMMAND...`: a private RabbitMQ broker
 * around a command (see lab_service.h).
 *
 * The broker is Debian's /usr/lib/rabbitmq/bin/rabbitmq-server run directly (the
 * /usr/sbin wrapper would switch to the rabbitmq user and the system's directories), with
 * every RABBITMQ_* location in a temporary folder, a node name of its own and three free
 * loopback ports: AMQP, Erlang distribution and a private epmd (the Erlang port mapper,
 * which the VM would otherwise start as a daemon on 4369 that outlives the broker). HOME is
 * the folder too, for the Erlang cookie. So a system broker, a second lab or another user on
 * the machine never interfere, and nothing is written outside the folder.
 *
 * This process becomes a child subreaper: the VM's helpers (erl_child_setup, inet_gethost)
 * start sessions of their own, and when the VM dies they are re-parented here, so the clean-up
 * finds and ends every one of them. The broker and epmd run in process groups of their own
 * so a Ctrl-C at the terminal reaches the command, and this process stops the broker after it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab/lab_service.h"
#include "lib/procdir.h"
#include "lib/util.h"

#define RABBITMQ_SERVER "/usr/lib/rabbitmq/bin/rabbitmq-server"

struct svc {
	char dir[256];		/* the temporary folder */
	int amqp_port, dist_port, epmd_port;
	double wait_s;		/* how long the broker may take to listen */
	pid_t broker, epmd, cmd;
};

/* Set by SIGINT/SIGTERM/SIGHUP: stop waiting, clean up. */
static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

int lab_service_known(const char *name)
{
	return name && !strcmp(name, "rabbitmq");
}

/* A loopback port nobody listens on now (the kernel's pick). 0 on failure. */
static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;

	if (fd < 0)
		return 0;
	if (!bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* 1 if something accepts a TCP connection on 127.0.0.1:port. */
static int port_open(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void setenv_int(const char *name, int v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", v);
	setenv(name, buf, 1);
}

static void setenv_path(const struct svc *s, const char *name, const char *leaf)
{
	char buf[320];

	snprintf(buf, sizeof(buf), "%s/%s", s->dir, leaf);
	setenv(name, buf, 1);
}

/* The broker's environment: every location in the folder, our ports, our node name. */
static void broker_env(const struct svc *s)
{
	char node[64];

	snprintf(node, sizeof(node), "conlab%d@localhost", (int)getppid());
	setenv("HOME", s->dir, 1);
	setenv("RABBITMQ_NODENAME", node, 1);
	setenv("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1", 1);
	setenv_int("RABBITMQ_NODE_PORT", s->amqp_port);
	setenv_int("RABBITMQ_DIST_PORT", s->dist_port);
	setenv_int("ERL_EPMD_PORT", s->epmd_port);
	setenv_path(s, "RABBITMQ_MNESIA_BASE", "mnesia");
	setenv_path(s, "RABBITMQ_LOG_BASE", "log");
	setenv_path(s, "RABBITMQ_CONFIG_FILE", "rabbitmq");
	setenv_path(s, "RABBITMQ_ADVANCED_CONFIG_FILE", "advanced.config");
	setenv_path(s, "RABBITMQ_CONF_ENV_FILE", "rabbitmq-env.conf");
	setenv_path(s, "RABBITMQ_ENABLED_PLUGINS_FILE", "enabled_plugins");
	setenv_path(s, "RABBITMQ_PID_FILE", "broker.pid");
	/* schedulers sleep when idle instead of spinning: cheaper on a shared machine, and a
	 * trace where an idle broker is off CPU */
	setenv("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "+sbwt none +sbwtdcpu none +sbwtdio none", 1);
}

/* Fork a child in a process group of its own, stdout and stderr to DIR/log, exec argv. */
static pid_t spawn_group(const struct svc *s, char *const argv[], const char *log, int env)
{
	pid_t pid = fork();

	if (pid == 0) {
		char path[320];
		int fd, in = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		snprintf(path, sizeof(path), "%s/%s", s->dir, log);
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0 || in < 0)
			_exit(126);
		dup2(in, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (env)
			broker_env(s);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid > 0)
		setpgid(pid, pid);
	return pid;
}

/* The last non-empty line of DIR/leaf, for the not-ready message. */
static void last_line(const struct svc *s, const char *leaf, char *buf, size_t n)
{
	char path[320], line[512];
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "%s/%s", s->dir, leaf);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (line[strspn(line, " \t")])
			snprintf(buf, n, "%s", line + strspn(line, " \t"));
	}
	fclose(f);
}

/* Wait for pid up to limit_s; 1 if it ended (reaped). */
static int wait_gone(pid_t pid, double limit_s)
{
	uint64_t t0 = now_mono_ns();

	while ((now_mono_ns() - t0) / 1e9 < limit_s) {
		pid_t w = waitpid(pid, NULL, WNOHANG);

		if (w == pid || (w < 0 && errno == ECHILD))
			return 1;
		usleep(20000);
	}
	return 0;
}

/* A child of this process: killed (it is the broker's, or the command's), *found set. */
static int kill_child(void *ctx, pid_t pid)
{
	struct proc_stat st;

	if (proc_read_stat(pid, &st) || st.ppid != getpid())
		return 0;
	*(int *)ctx = 1;
	kill(pid, SIGKILL);
	return 0;
}

void lab_reap_orphans(void)
{
	for (int round = 0; round < 50; round++) {
		int found = 0;

		proc_each_pid(kill_child, &found);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!found)
			return;
		usleep(20000);
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) && errno != ENOENT ? -1 : 0;
}

/* Stop the broker (SIGTERM: it shuts down cleanly in about a second; SIGKILL after 10 s),
 * epmd and the VM's helpers; remove the folder. */
static void svc_stop(struct svc *s)
{
	if (s->broker > 0) {
		kill(-s->broker, SIGTERM);
		if (!wait_gone(s->broker, 10)) {
			kill(-s->broker, SIGKILL);
			waitpid(s->broker, NULL, 0);
		}
		kill(-s->broker, SIGKILL);	/* what is left of its group */
		s->broker = 0;
	}
	if (s->epmd > 0) {
		kill(-s->epmd, SIGKILL);
		waitpid(s->epmd, NULL, 0);
		s->epmd = 0;
	}
	lab_reap_orphans();
	if (s->dir[0])
		nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int not_ready(struct svc *s, const char *fmt, const char *detail)
{
	char msg[600];

	snprintf(msg, sizeof(msg), fmt, detail);
	fprintf(stderr, LAB_SERVICE_MSG "rabbitmq: %s\n", msg);
	svc_stop(s);
	return LAB_SERVICE_NOT_READY;
}

/* Start epmd and the broker; wait until the broker listens. 0, or the not-ready status. */
static int svc_start(struct svc *s)
{
	const char *server = getenv("CONLAB_RABBITMQ_SERVER");
	char port[16], tail[400];
	char *epmd_argv[] = {"/usr/bin/epmd", "-port", port, "-address", "127.0.0.1", NULL};
	uint64_t t0;

	if (!server)
		server = RABBITMQ_SERVER;
	if (access(server, X_OK))
		return not_ready(s, "%s is not installed (apt-get install rabbitmq-server)",
				 server);
	if (access(epmd_argv[0], X_OK))
		return not_ready(s, "%s is not installed (apt-get install erlang-base)",
				 epmd_argv[0]);
	if (!s->amqp_port)
		s->amqp_port = free_port();
	/* three different ports: the kernel may hand the same free one out twice */
	for (int i = 0; i < 20 && (!s->dist_port || s->dist_port == s->amqp_port); i++)
		s->dist_port = free_port();
	for (int i = 0; i < 20 && (!s->epmd_port || s->epmd_port == s->amqp_port ||
				   s->epmd_port == s->dist_port); i++)
		s->epmd_port = free_port();
	if (!s->amqp_port || !s->dist_port || !s->epmd_port || s->dist_port == s->amqp_port ||
	    s->epmd_port == s->amqp_port || s->epmd_port == s->dist_port)
		return not_ready(s, "%s", "no free loopback port (is the loopback interface up?)");
	if (port_open(s->amqp_port)) {
		snprintf(tail, sizeof(tail), "port %d is taken by another program", s->amqp_port);
		return not_ready(s, "%s", tail);
	}
	snprintf(port, sizeof(port), "%d", s->epmd_port);
	s->epmd = spawn_group(s, epmd_argv, "epmd.log", 0);
	{
		char *argv[] = {(char *)server, NULL};

		s->broker = spawn_group(s, argv, "broker.log", 1);
	}
	if (s->epmd < 0 || s->broker < 0)
		return not_ready(s, "cannot fork: %s", strerror(errno));
	t0 = now_mono_ns();
	while (!port_open(s->amqp_port)) {
		int st;

		if (waitpid(s->broker, &st, WNOHANG) == s->broker) {
			s->broker = 0;
			last_line(s, "broker.log", tail, sizeof(tail));
			return not_ready(s, "rabbitmq-server exited before it listened: %s",
					 tail[0] ? tail : "no message");
		}
		if (stop_sig)
			return not_ready(s, "%s", "interrupted while it started");
		if ((now_mono_ns() - t0) / 1e9 > s->wait_s) {
			snprintf(tail, sizeof(tail), "rabbitmq-server did not listen on port %d "
				 "within %.0f s", s->amqp_port, s->wait_s);
			return not_ready(s, "%s", tail);
		}
		usleep(50000);
	}
	return 0;
}

/* Run the command with the broker's URL; its exit status (128+signal when killed). */
static int run_command(struct svc *s, char **argv)
{
	char url[96];
	int st = 0, forwarded = 0;
	uint64_t since = 0;

	snprintf(url, sizeof(url), "amqp://guest:guest@127.0.0.1:%d//", s->amqp_port);
	s->cmd = fork();
	if (s->cmd < 0) {
		errmsg("cannot fork: %s", strerror(errno));
		return 1;
	}
	if (s->cmd == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		setenv("CONLAB_AMQP_URL", url, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "conlab: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	for (;;) {
		pid_t w = waitpid(s->cmd, &st, WNOHANG);

		if (w == s->cmd)
			break;
		if (w < 0 && errno != EINTR)
			return 1;
		/*
		 * SIGTERM and SIGHUP go on to the command. A Ctrl-C at the terminal reached the
		 * command too (same process group): give it a second to end by itself before
		 * passing the SIGINT on (one sent to this process alone).
		 */
		if (stop_sig && !forwarded) {
			if (!since)
				since = now_mono_ns();
			if (stop_sig != SIGINT || now_mono_ns() - since > 1000000000ull) {
				kill(s->cmd, stop_sig);
				forwarded = 1;
			}
		}
		usleep(20000);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int usage(FILE *f)
{
	fprintf(f, "usage: conlab lab service rabbitmq [--port N] [--wait S] -- COMMAND [ARGS...]\n"
		   "\n"
		   "Start a private RabbitMQ broker on 127.0.0.1 (own node, ports and folder), run\n"
		   "COMMAND with CONLAB_AMQP_URL=amqp://guest:guest@127.0.0.1:PORT// set, then stop\n"
		   "the broker and remove its folder. Exit status: the command's, or %d when the\n"
		   "broker could not start (one line on stderr says why; the command did not run).\n",
		LAB_SERVICE_NOT_READY);
	return f == stdout ? 0 : 2;
}

int lab_service_main(int argc, char **argv)
{
	struct svc s = {.wait_s = 120};
	struct sigaction sa = {.sa_handler = on_signal};
	int i = 1, rc;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return usage(stdout);
	if (argc < 2 || !lab_service_known(argv[1])) {
		errmsg("lab service: unknown service '%s' (rabbitmq)", argc >= 2 ? argv[1] : "");
		return 2;
	}
	for (i = 2; i < argc && strcmp(argv[i], "--"); i++) {
		char *end;

		if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			long p = strtol(argv[++i], &end, 10);

			if (*end || p <= 0 || p > 65535) {
				errmsg("lab service: bad --port '%s'", argv[i]);
				return 2;
			}
			s.amqp_port = (int)p;
		} else if (!strcmp(argv[i], "--wait") && i + 1 < argc) {
			s.wait_s = strtod(argv[++i], &end);
			if (*end || s.wait_s <= 0) {
				errmsg("lab service: bad --wait '%s'", argv[i]);
				return 2;
			}
		} else {
			return usage(stderr);
		}
	}
	if (i + 1 >= argc)
		return usage(stderr);
	snprintf(s.dir, sizeof(s.dir), "%s/conlab-rabbitmq.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(s.dir)) {
		errmsg("lab service: cannot create %s: %s", s.dir, strerror(errno));
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	rc = svc_start(&s);
	if (rc)
		return rc;
	rc = stop_sig ? 128 + stop_sig : run_command(&s, argv + i + 1);
	svc_stop(&s);
	return rc;
}

static volatile sig_atomic_t lab_sig;

static void on_lab_signal(int sig)
{
	lab_sig = sig;
}

void lab_interrupt_catch(int on)
{
	struct sigaction sa = {.sa_handler = on ? on_lab_signal : SIG_DFL};

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!on && lab_sig)
		raise(lab_sig);
}

int lab_interrupted(void)
{
	return lab_sig;
}

int lab_service_not_ready(const char *errfile, char *why, size_t n)
{
	FILE *f = fopen(errfile, "r");
	char line[1024];
	size_t pl = strlen(LAB_SERVICE_MSG);
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, LAB_SERVICE_MSG, pl)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(why, n, "service not ready: %s", line + pl);
			found = 1;
		}
	fclose(f);
	return found;
}
