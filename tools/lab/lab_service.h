/*
 * lab_service.h — services a lab's programs talk to (a RabbitMQ broker), started around a
 * command: `conlab lab service rabbitmq -- COMMAND...` starts a private broker (own node
 * name, ports, data and log directories in a temporary folder), waits until it accepts
 * connections, runs COMMAND with CONLAB_AMQP_URL set, then stops the broker and removes the
 * folder, also on Ctrl-C, SIGTERM and errors.
 *
 * A lab file's `service rabbitmq` statement makes the lab runner wrap every variant's
 * command so, inside `conlab record`: the broker is traced like the programs.
 */
#ifndef CONLAB_LAB_SERVICE_H
#define CONLAB_LAB_SERVICE_H

#include <stddef.h>

/* Exit status of `lab service` when the service could not start: the command never ran. */
#define LAB_SERVICE_NOT_READY 75
/* Prefix of the one line `lab service` prints then. */
#define LAB_SERVICE_MSG "conlab: service not ready: "

/* 1 if NAME is a service this build can start. */
int lab_service_known(const char *name);
/* `conlab lab service NAME [--port N] [--wait S] -- COMMAND...` (argv[0] is "service"). */
int lab_service_main(int argc, char **argv);
/* End the children left to this subreaper (a broker VM's helpers, in sessions of their own)
 * and reap them. */
void lab_reap_orphans(void);
/*
 * Ctrl-C (or SIGTERM) while the lab runner waits for a run: lab_interrupt_catch(1) makes them
 * set a flag instead of ending `conlab lab` at once, so the runner can stop the run (the
 * recorder and a service in it end cleanly on SIGTERM: the broker stopped, its folder removed)
 * before it exits; lab_interrupt_catch(0) restores the default (a pending one acts then).
 */
void lab_interrupt_catch(int on);
int lab_interrupted(void);

/* The not-ready line a run's stderr file holds (without the prefix) into why; 1 if found. */
int lab_service_not_ready(const char *errfile, char *why, size_t n);

#endif
