/*
 * GET /api/v1/backups/status: the node's backup verification job
 * (include/phr/backup.h).
 */
#include "api_int.h"
#include "phr/backup.h"

int api_h_backups_status(struct api_ctx *c);

int api_h_backups_status(struct api_ctx *c)
{
	struct phr_backup_job_status st;

	phr_node_backup_job_status(c->api->cfg.node, &st);
	return api_ok(c, 200,
		      json_pack("{s:I,s:I,s:I,s:I,s:b,s:b,s:s,s:s}", "runs", (json_int_t)st.runs,
				"lastRun", (json_int_t)st.last_run, "blocksChecked",
				(json_int_t)st.blocks_checked, "failures", (json_int_t)st.failures,
				"backupChecked", st.backup_checked, "backupOk", st.backup_ok,
				"backup", st.backup_path, "problem", st.problem));
}
