/*
 * main.c - `tlskit <command> [options]`: finds the subcommand and runs it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* Add a subcommand here and in cli.h; help and errors pick it up. */
static const struct command commands[] = {
	{ "echo", cmd_echo, "a TLS echo server (for tests and demos)" },
	{ "connect", cmd_connect, "connect to a TLS server; stdin and stdout become the connection" },
	{ "cert", cmd_cert, "make, sign, verify and show certificates (test PKI)" },
	{ "ciphers", cmd_ciphers, "what a cipher configuration resolves to" },
	{ "bench", cmd_bench, "a TLS load generator: handshakes, resumption, throughput, latency" },
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < COMMAND_COUNT; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

static void print_command_names(FILE *out)
{
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		fprintf(out, "%s%s", i ? ", " : "", commands[i].name);
}

static void print_usage(FILE *out)
{
	fputs("usage: tlskit <command> [options]\n"
	      "       tlskit help [command]\n"
	      "       tlskit --version\n"
	      "\n"
	      "Commands:\n", out);
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		fprintf(out, "  %-9s %s\n", commands[i].name,
			commands[i].summary);
	fputs("\n'tlskit COMMAND --help' describes a command's options.\n\n",
	      out);
	fputs(cli_exit_codes_help, out);
}

static int unknown_command(const char *name)
{
	fprintf(stderr, "tlskit: unknown command '%s' (commands: ", name);
	print_command_names(stderr);
	fputs("; see 'tlskit --help')\n", stderr);
	return CLI_EXIT_USAGE;
}

/* `tlskit help [command]`: the command's own --help. */
static int help(int argc, char **argv)
{
	const struct command *cmd;
	char help_flag[] = "--help";
	char *sub_argv[3];

	if (argc < 2) {
		print_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argc > 2) {
		fputs("tlskit: help takes at most one command name\n", stderr);
		return CLI_EXIT_USAGE;
	}
	cmd = find_command(argv[1]);
	if (!cmd)
		return unknown_command(argv[1]);
	sub_argv[0] = argv[1];
	sub_argv[1] = help_flag;
	sub_argv[2] = NULL;
	return cmd->run(2, sub_argv);
}

/*
 * A closed stdin, stdout or stderr would be handed out again as a socket,
 * and then "standard input" would be the TLS connection's raw bytes.
 */
static void open_standard_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* open() returns the lowest free descriptor: this one. */
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			_exit(CLI_EXIT_IO);
	}
}

int main(int argc, char **argv)
{
	const struct command *cmd;

	open_standard_fds();
	/* A peer or a reader that goes away is an error to report, not a
	 * reason to die silently. */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2) {
		print_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("%s (%s)\n", tlskit_version(), tlskit_openssl_version());
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0)
		return help(argc - 1, argv + 1);
	if (argv[1][0] == '-') {
		fprintf(stderr, "tlskit: unknown option '%s' (see 'tlskit --help')\n",
			argv[1]);
		return CLI_EXIT_USAGE;
	}
	cmd = find_command(argv[1]);
	if (!cmd)
		return unknown_command(argv[1]);
	return cmd->run(argc - 1, argv + 1);
}
