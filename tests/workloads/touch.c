// touch — allocate MIB MiB, touch every page, hold, then exit with a code or die by a signal.
// The memory is never freed: it is released by the exit itself.
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "usage: touch MIB [--hold MS] [--exit CODE] [--signal SIG] "
			    "[--name NAME] [--wait-stdin]\n";

static void bad(const char *msg, const char *arg)
{
	fprintf(stderr, "touch: %s%s%s\n%s", msg, arg ? ": " : "", arg ? arg : "", usage);
	exit(2);
}

static unsigned long num(const char *s, unsigned long max, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		bad(what, s);
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		bad(what, s);
	return v;
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

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
	size_t len, pg = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *p;
	const char *name = NULL;
	int c, wait_stdin = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			hold = num(optarg, LONG_MAX, "bad --hold");
			break;
		case 'e':
			code = num(optarg, 255, "bad --exit");
			break;
		case 's':
			sig = num(optarg, 64, "bad --signal");
			if (!sig)
				bad("bad --signal", optarg);
			break;
		case 'n':
			name = optarg;
			break;
		case 'w':
			wait_stdin = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			bad("option needs an argument", argv[optind - 1]);
			break;
		default:
			bad("unknown option", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		bad(optind == argc ? "missing MIB" : "too many arguments", NULL);
	mib = num(argv[optind], SIZE_MAX >> 20, "bad MIB");
	len = (size_t)mib << 20;

	if (name && prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0) == -1)
		perror("touch: prctl(PR_SET_NAME)");
	if (wait_stdin) {
		char line[256];

		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin) && ferror(stdin))
			perror("touch: stdin");
	}
	if (len) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("touch: mmap");
			return 1;
		}
		madvise((void *)p, len, MADV_NOHUGEPAGE); /* one fault per page, even with THP */
		for (size_t off = 0; off < len; off += pg)
			p[off] = 1;
	}
	sleep_ms(hold);
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
