// touch — allocate MIB MiB, touch every page, hold, then exit with a code or die by a signal.
// The memory is never freed: it is released by the exit itself.
#include <signal.h>
#include <sys/prctl.h>

#define WL_NAME "touch"
#define WL_USAGE                                                                            \
	"usage: touch MIB [--hold MS] [--exit CODE] [--signal SIG] [--name NAME] [--wait-stdin]\n"
#include "workload.h"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"hold", required_argument, NULL, 'H'},
	    {"exit", required_argument, NULL, 'e'},
	    {"signal", required_argument, NULL, 's'},
	    {"name", required_argument, NULL, 'n'},
	    {"wait-stdin", no_argument, NULL, 'w'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long mib, hold = 0, code = 0, sig = 0;
	const char *name = NULL;
	int c, wait_stdin = 0;

	while ((c = wl_getopt(argc, argv, opts)) != -1) {
		switch (c) {
		case 'H':
			hold = wl_ms(optarg, "bad --hold");
			break;
		case 'e':
			code = wl_num(optarg, 255, "bad --exit");
			break;
		case 's':
			sig = wl_num(optarg, 64, "bad --signal");
			if (!sig)
				wl_bad("bad --signal", optarg);
			break;
		case 'n':
			name = optarg;
			break;
		case 'w':
			wait_stdin = 1;
			break;
		default:
			wl_opt_other(c, argv);
		}
	}
	if (optind != argc - 1)
		wl_bad(optind == argc ? "missing MIB" : "too many arguments", NULL);
	mib = wl_mib(argv[optind], "bad MIB");

	if (name && prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0) == -1)
		perror("touch: prctl(PR_SET_NAME)");
	if (wait_stdin) {
		char line[256];

		wl_ready();
		if (!fgets(line, sizeof(line), stdin) && ferror(stdin))
			perror("touch: stdin");
	}
	wl_alloc_touch(mib);
	wl_sleep_ms(hold);
	if (sig) {
		sigset_t set;

		signal((int)sig, SIG_DFL); /* fails harmlessly for SIGKILL/SIGSTOP */
		sigemptyset(&set);
		sigaddset(&set, (int)sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		fflush(NULL);
		raise((int)sig);
		/* still here: default action is "ignore" (e.g. SIGCHLD); exit with CODE */
	}
	return (int)code;
}
