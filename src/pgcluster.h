/* pgcluster.h - a throwaway PostgreSQL cluster of migdeck's own, on this
 * machine: the local scratch of `diff --scratch` (src/scratch.c).
 *
 * The server binaries are found (md_pgbin_find), initdb makes a cluster in
 * a new mkdtemp folder (-A trust, no sync, UTF8, C locale), the postmaster
 * runs in the foreground as migdeck's child, listening only on a Unix
 * socket inside that folder (listen_addresses '', fsync off), and
 * md_pgcluster_destroy stops it (SIGQUIT: immediate shutdown; SIGKILL
 * after 15 s) and removes the folder.  Every child is fork+exec with an
 * argument vector, never a shell, in a process group of its own (a Ctrl-C
 * at the terminal reaches migdeck only, which stops them itself).  Nothing
 * secret is on a command line: trust authentication, no password.
 *
 * PostgreSQL refuses to run as root: when migdeck runs as root, initdb and
 * the server run as the `postgres` system user (its groups, gid and uid are
 * set in the child before exec; the folder is chown'd to it).
 *
 * Signals: while a cluster exists, SIGINT and SIGTERM are caught; the
 * handler stops the child at once (initdb's process group gets SIGTERM, the
 * postmaster SIGQUIT), so the work on it fails; md_pgcluster_destroy then
 * cleans up, puts the previous handlers back and raises the signal again.
 * One cluster at a time. */
#ifndef MIGDECK_PGCLUSTER_H
#define MIGDECK_PGCLUSTER_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "db.h"
#include "error.h"

typedef struct md_pgbin {
	char dir[PATH_MAX];     /* holds initdb and postgres */
	char version[64];       /* "15.4", from postgres --version */
	int major;              /* 15 (9.6: 906); 0 when unknown */
	const char *how;        /* "MIGDECK_PG_BINDIR", "pg_config --bindir",
	                           "/usr/lib/postgresql" */
} md_pgbin;

/* Major version of a PQserverVersion (150004: 15; 90624: 906). */
int md_pg_major(int server_version);

/* Find the server binaries: the folder $MIGDECK_PG_BINDIR names (only it,
 * when set), else the bindir of `pg_config` (found in PATH), else the
 * highest /usr/lib/postgresql/<version>/bin; among those found, one of
 * want_major (0: any) wins.  MD_ERR_UNSUPPORTED when none holds initdb and
 * postgres (the message says where it looked and suggests
 * --scratch=server). */
md_status md_pgbin_find(md_pgbin *out, int want_major, md_error *err);

typedef struct md_pgcluster {
	char *dir;              /* the mkdtemp folder: data/, the socket, logs */
	int port;               /* the socket's number */
	char user[128];         /* the bootstrap superuser (initdb -U) */
	md_pgbin bin;
	pid_t postmaster;       /* 0 when not running */
	int runas;              /* children run as uid/gid (migdeck is root) */
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	md_warn_fn progress;    /* "initdb ...", may be NULL */
	void *payload;
} md_pgcluster;

/* Make the folder and run initdb in it, with user as the bootstrap
 * superuser.  progress gets a line before each slow step.  On a failure
 * everything made is removed. */
md_status md_pgcluster_init(md_pgcluster **out, const md_pgbin *bin, const char *user,
			    md_warn_fn progress, void *payload, md_error *err);

/* Start the server and wait (at most 60 s) until it takes connections;
 * *admin is connected to its database "postgres" as the bootstrap user. */
md_status md_pgcluster_start(md_pgcluster *c, md_db **admin, md_error *err);

/* Connect to database dbname of the cluster. */
md_status md_pgcluster_connect(md_pgcluster *c, const char *dbname, md_db **out, md_error *err);

/* A SIGINT or SIGTERM arrived since md_pgcluster_init (its number, or 0). */
int md_pgcluster_interrupted(void);

/* Stop the server, remove the folder, free c (NULL is accepted); then, if
 * a signal was caught, restore the previous handlers and raise it. */
void md_pgcluster_destroy(md_pgcluster *c);

#endif
