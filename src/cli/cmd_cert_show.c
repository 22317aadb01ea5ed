/*
 * cmd_cert_show.c - `tlskit cert show SOURCE` (placeholder until issue 4's
 * helper writes it).
 */
#include "cli.h"

int cmd_cert_show(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_error("cert", "show: not implemented yet");
	return CLI_EXIT_USAGE;
}
