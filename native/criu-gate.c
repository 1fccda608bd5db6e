/*
 * criu-gate.so: holds a criu started ahead of time until it is told to go.
 *
 * A migration's target starts CRIU's lazy-pages daemon before the freeze, with this library in LD_PRELOAD and
 * OCIRT_CRIU_GATE_FD naming its end of a socketpair. The dynamic loader has loaded and relocated criu and its
 * libraries (GnuTLS, protobuf-c, libnl, ...: ~12 ms of a ~15 ms start here) by the time this constructor runs. It
 * says so ('h', held: a daemon that never says it was not held, its preload ignored, and is not used), then waits,
 * before criu's main(), for the agent to write one byte: 'g' once the images are there. The same start then costs
 * ~2 ms inside the freeze instead of ~15-30.
 *
 * Anything else (the agent gone, the gate closed unopened) ends the process with status 111, before criu has done
 * anything. Both variables are removed first, so that nothing criu runs inherits them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GATE_CLOSED_STATUS 111

extern char **environ;

/* Removes NAME=... from environ itself: a program may bring its own unsetenv (bash does, and its tables are not
 * set up yet when this runs), and whatever it runs next must not find the gate's variables. */
static void drop_env(const char *name)
{
	size_t len = strlen(name);
	char **out = environ;

	for (char **in = environ; *in; in++)
		if (!(strncmp(*in, name, len) == 0 && (*in)[len] == '='))
			*out++ = *in;
	*out = NULL;
}

__attribute__((constructor)) static void ocirt_criu_gate(void)
{
	const char *env = getenv("OCIRT_CRIU_GATE_FD");
	char *end;
	long fd;
	char go = 0;
	ssize_t n;

	if (!env)
		return;
	fd = strtol(env, &end, 10);
	if (*env == '\0' || *end != '\0' || fd < 0 || fd > 1023)
		fd = -1;
	drop_env("OCIRT_CRIU_GATE_FD");
	drop_env("LD_PRELOAD");
	if (fd < 0)
		_exit(GATE_CLOSED_STATUS);
	do
		n = write((int)fd, "h", 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(GATE_CLOSED_STATUS);
	do
		n = read((int)fd, &go, 1);
	while (n < 0 && errno == EINTR);
	close((int)fd);
	if (n != 1 || go != 'g')
		_exit(GATE_CLOSED_STATUS);
}
