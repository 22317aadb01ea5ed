/*
 * cmd_ciphers.c - `tlskit ciphers` (placeholder until issue 4's helper
 * writes it).
 */
#include "cli.h"

int cmd_ciphers(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_error("ciphers", "not implemented yet");
	return CLI_EXIT_USAGE;
}
