// SPDX-License-Identifier: GPL-2.0
/*
 * daemon - lab 15: daemon threads and shutdown.
 *
 * Thread "worker" handles jobs from job_queue (a condvar) and then waits for more.
 *   daemon - main returns while the worker is blocked in pthread_cond_wait: exit() ends the
 *            process and the worker dies inside its wait, never finishing.
 *   joined - main sets stopping, signals job_cond and joins the worker: it returns normally.
 */
#include <pthread.h>
#include "wl.h"

static const char usage[] =
	"Usage: daemon [--variant daemon|joined] [--jobs N] [--job-ms N]\n"
	"\n"
	"Lab 15: a worker thread waits for jobs while main ends the program.\n"
	"\n"
	"  --variant V  daemon (default; main exits under the waiting worker) or joined\n"
	"  --jobs N     jobs the worker does before it waits (default 3)\n"
	"  --job-ms N   time per job (default 20)\n"
	"  -h, --help   this text\n"
	"\n"
	"Last line: variant= jobs= worker_tid= main_tid= worker_finished=0|1\n"
	"  worker_waiting_at_exit=0|1 worker_wait_object=job_cond\n";

pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t job_cond = PTHREAD_COND_INITIALIZER;
int pending_jobs, stopping, worker_waiting, worker_finished;

static struct {
	int joined;
	long jobs, job_ms;
	int worker_tid;
} ctx = { .jobs = 3, .job_ms = 20 };

static WL_NOINLINE void do_job(void)
{
	wl_sleep_ms(ctx.job_ms);
}

static void *worker_main(void *arg)
{
	(void)arg;
	wl_name("worker");
	ctx.worker_tid = wl_tid();
	pthread_mutex_lock(&job_lock);
	for (;;) {
		while (!pending_jobs && !stopping) {
			worker_waiting = 1;
			pthread_cond_broadcast(&job_cond);	/* tell main we are idle */
			pthread_cond_wait(&job_cond, &job_lock);
			worker_waiting = 0;
		}
		if (!pending_jobs && stopping)
			break;
		pending_jobs--;
		pthread_mutex_unlock(&job_lock);
		do_job();
		pthread_mutex_lock(&job_lock);
	}
	worker_finished = 1;
	pthread_mutex_unlock(&job_lock);
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const variants[] = { "daemon", "joined", NULL };
	static const struct option opts[] = {
		{ "variant", required_argument, NULL, 'v' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "job-ms", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	pthread_t w;
	int c, waiting;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'v': ctx.joined = wl_choice(optarg, "variant", variants); break;
		case 'j': ctx.jobs = wl_num(optarg, "jobs"); break;
		case 'm': ctx.job_ms = wl_num(optarg, "job-ms"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	wl_name("daemon-main");
	wl_check(pthread_create(&w, NULL, worker_main, NULL), "create worker");
	pthread_mutex_lock(&job_lock);
	pending_jobs = ctx.jobs;
	pthread_cond_broadcast(&job_cond);
	/* wait until the worker has drained the jobs and sits in its wait again */
	while (pending_jobs || !worker_waiting)
		pthread_cond_wait(&job_cond, &job_lock);
	if (ctx.joined) {
		stopping = 1;
		pthread_cond_broadcast(&job_cond);
		pthread_mutex_unlock(&job_lock);
		pthread_join(w, NULL);
		pthread_mutex_lock(&job_lock);
	}
	waiting = worker_waiting;
	printf("variant=%s jobs=%ld worker_tid=%d main_tid=%d worker_finished=%d "
	       "worker_waiting_at_exit=%d worker_wait_object=job_cond\n", variants[ctx.joined],
	       ctx.jobs, ctx.worker_tid, wl_tid(), worker_finished, waiting);
	fflush(stdout);
	pthread_mutex_unlock(&job_lock);
	return 0;	/* daemon: exit() takes the still-waiting worker with it */
}
