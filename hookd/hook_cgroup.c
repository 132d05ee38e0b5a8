/* SPDX-License-Identifier: ISC */
/*
 * hook_cgroup.c: decide, once at start-up, whether hooks run in a cgroup
 * of their own with a process limit (lib/cgroup.h), and say so in the
 * log.  Root hooks are not bounded by RLIMIT_NPROC, so without such a
 * cgroup a fork bomb in a root hook can take the host down: that is
 * logged once, with how to turn the cgroup on.
 */
#include "compat.h"

#include <unistd.h>

#include "cgroup.h"
#include "config.h"
#include "errbuf.h"
#include "hookd.h"
#include "log.h"

#include "banned.h"

/*
 * Set up the hooks' cgroup from cfg (hook_max_procs, hook_cgroup).
 * Returns 0, also when no cgroup is available and none was asked for
 * (hooks then run without one, logged); -1 with eb set (EK_CONFIG) when
 * the configured hook_cgroup cannot be used.
 */
int
hookd_hook_cgroup(const struct config *cfg, struct errbuf *eb)
{
	struct errbuf	 e2 = { 0 };

	if (cfg->hook_max_procs == 0) {
		cgroup_hooks_reset();
		if (geteuid() == 0)
			log_notice("hook_max_procs is 0: hooks run without a "
			    "process limit; root hooks are not "
			    "process-bounded");
		return 0;
	}
	if (cgroup_hooks_setup(cfg->hook_cgroup, cfg->hook_max_procs,
	    &e2) == 0) {
		log_info("each hook runs in its own cgroup under %s",
		    cgroup_hooks_describe());
		return 0;
	}
	if (cfg->hook_cgroup != NULL) {
		/* The operator asked for it: a fix of hookd.yml, exit 78. */
		*eb = e2;
		eb->kind = EK_CONFIG;
		return errbuf_prefix(eb, "%s: hook_cgroup: ", cfg->path);
	}
	if (geteuid() == 0)
		log_notice("root hooks are not process-bounded (%s); run "
		    "hookd under systemd with Delegate=yes (as "
		    "packaging/hookd.service does) or set hook_cgroup in "
		    "hookd.yml", e2.msg);
	else
		log_debug("no hook cgroup: %s", e2.msg);
	return 0;
}
