/* commands.h — the subcommands of the conlab binary, one cmd_*.c file each. */
#ifndef CONLAB_COMMANDS_H
#define CONLAB_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
int cmd_deadlock(int argc, char **argv);
int cmd_contention(int argc, char **argv);
int cmd_io(int argc, char **argv);
int cmd_gil(int argc, char **argv);

#endif
