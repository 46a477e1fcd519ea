/* scratch.h - a throwaway database built from the migration files: what
 * the files say the schema is, to preview on (`diff --schema --scratch`)
 * or to hold the target against (`diff --schema --against-scratch`).
 *
 * It is a database on the target's own server, created and dropped by
 * migdeck, not a cluster of its own: the same server version, the same
 * roles (so owners and grants compare), the same extensions available, no
 * local PostgreSQL binaries, ports or sockets needed.  The role needs
 * CREATEDB.  Its name is migdeck_scratch_<pid>_<n>; it is created from
 * template0 with the target's encoding and locale, and dropped (WITH
 * (FORCE)) when done, also after a failure.  A migdeck killed with -9
 * leaves it behind: the name says what it is.
 *
 * Or (md_scratch_create_local, `[diff] scratch = local`, the default of
 * the CLI) a database in a throwaway local cluster of migdeck's own
 * (pgcluster.h): initdb with the target's current user as the bootstrap
 * superuser (so owners match), every role of the target (but pg_*) made
 * NOLOGIN (so owners and grants compare), the database created with the
 * target's encoding and locale (C when the local machine lacks that
 * locale: a warning), a warning for each extension of the target that the
 * local server cannot install and when the local major version is not the
 * target's; then built as below.  Dropping it stops the server and removes
 * the cluster's folder, also after a failure, SIGINT or SIGTERM.
 *
 * Built in this order, each file in a transaction of its own (a file whose
 * statements cannot run in one, in autocommit): the baseline
 * archive/consolidated_schema.sql when there is one; migdeck's bookkeeping
 * tables (so scripts that insert their own history row run as they did);
 * then the files md_scratch_files picks, in version order, repeatables
 * last.  Nothing is recorded in its history table. */
#ifndef MIGDECK_SCRATCH_H
#define MIGDECK_SCRATCH_H

#include <stddef.h>

#include "config.h"
#include "db.h"
#include "error.h"
#include "plan.h"
#include "runner.h"
#include "workspace.h"

typedef struct md_scratch {
	md_db *db;            /* connected to the scratch database */
	md_db *admin;         /* the connection that created it (not owned) */
	md_runner run;        /* a runner on db (its events go to the cb given) */
	char name[64];
	size_t nbuilt;        /* files run to build it (baseline included) */
	struct md_pgcluster *cluster; /* the local cluster it is in, or NULL:
	                         a database on the target's server */
} md_scratch;

/* The forward files that make the target's applied state: those in
 * applied/ (versioned in version order, then repeatables); in a
 * single-folder workspace, those plan says are applied (plan may be NULL:
 * none).  *files is malloc'd (free it); its entries point into ws. */
md_status md_scratch_files(const md_workspace *ws, const md_plan *plan, const md_file ***files,
			   size_t *n, md_error *err);

/* Create the scratch database through admin (a connection to the target,
 * outside a transaction) and build it from ws's baseline and files (ws
 * NULL: an empty database, nothing built, for `migdeck restore`).  cb
 * (may be NULL) gets the statements' events.  On a failure the database is
 * dropped again and err names the file:line:col, its message starting with
 * "building the scratch database: ". */
md_status md_scratch_create(md_scratch **out, md_db *admin, const md_config *cfg,
			    const md_workspace *ws, const md_file *const *files, size_t n,
			    md_run_cb cb, void *payload, md_error *err);

/* As md_scratch_create, in a throwaway local cluster (see above) instead of
 * on target's server; target is only read.  progress (may be NULL) gets a
 * line before each slow step ("initdb ...", "applying N files") and the
 * warnings, which start with "warning: ".  No server binaries, running as
 * root without a postgres system user: MD_ERR_UNSUPPORTED, the message
 * suggesting --scratch=server. */
md_status md_scratch_create_local(md_scratch **out, md_db *target, const md_config *cfg,
				  const md_workspace *ws, const md_file *const *files, size_t n,
				  md_run_cb cb, void *payload, md_warn_fn progress,
				  void *progress_payload, md_error *err);

/* Close and drop it (NULL is accepted); a local one: stop its server and
 * remove its cluster (then a SIGINT or SIGTERM caught meanwhile is raised
 * again, see pgcluster.h). */
void md_scratch_drop(md_scratch *s);

/* Run one prepared file with r (on r->db) as the scratch build does: in a
 * transaction that commits, or in autocommit when its statements cannot
 * run in one.  Nothing is recorded. */
md_status md_scratch_run(md_runner *r, const md_prepared *p, md_error *err);

#endif
