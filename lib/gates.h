/* SPDX-License-Identifier: ISC */
/*
 * gates.h: the rollout gates of deployer.yml, without I/O.  A gate
 * is a check made between batches and while a batch bakes: the group's
 * CloudWatch alarms (ALARM fails; INSUFFICIENT_DATA does not; a failed
 * poll or an unknown alarm fails unless ignore_alarm_poll_failure) and
 * its health_check (exit 0 is healthy).  This file judges what the
 * checks returned, runs the bake loop (check every gate_interval until
 * the bake is over, a gate fails or a stop is asked for) through the
 * caller's callbacks, keeps the record of results that goes into
 * deployment.json, and writes the SNS notices.  The deployer does the
 * I/O: DescribeAlarms, the health_check process, the clock, the sleep,
 * the store, SNS.
 */
#ifndef HOOKD_GATES_H
#define HOOKD_GATES_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "compat.h"

struct cw_alarms;
struct deployer_group;
struct errbuf;
struct json_t;
struct proc_result;

#define GATE_REASON_MAX		1024	/* bytes of a result's reason */
#define GATE_TAIL_LINES		5	/* health_check lines in a reason */
#define GATE_HEALTH_TIMEOUT	60	/* s a health_check may run */
#define GATES_LOG_MAX		500	/* entries kept in a record */

enum gate_status {
	GATE_OK = 0,
	GATE_FAILED,		/* stops the rollout */
	GATE_IGNORED,		/* a failed alarm poll, ignored */
};

/* One check of one gate. */
struct gate_result {
	time_t		 at;
	const char	*gate;		/* static: "alarms", "health_check" */
	enum gate_status status;
	const char	*phase;		/* static: "start", "bake" */
	long		 batch;		/* watched batch (0-based), -1: none */
	char		 reason[GATE_REASON_MAX];
};

/* "OK", "FAILED", "IGNORED". */
const char *gate_status_name(enum gate_status);

/*
 * Judge the group's alarms from DescribeAlarms' answer l, or from the
 * poll error poll_err when l is NULL.  Fills ret's gate, status and
 * reason ("web-5xx is ALARM: Threshold Crossed: ...", "cannot read the
 * alarms: ...", "alarm web-p99 does not exist", "web-5xx OK, web-p99
 * INSUFFICIENT_DATA").
 */
void	gates_judge_alarms(const struct deployer_group *,
	    const struct cw_alarms *l, const struct errbuf *poll_err,
	    struct gate_result *ret);

/*
 * Judge a health_check run: pr its result, or NULL when it could not be
 * started (start_err says why).  Not exit 0 fails, with the last
 * GATE_TAIL_LINES lines of its output in the reason.
 */
void	gates_judge_health(const struct proc_result *pr,
	    const struct errbuf *start_err, struct gate_result *ret);

/*
 * The caller's side of the checks.  alarms() and health() return 0 with
 * *ret filled, or -1 with eb set (a poll or start failure, judged as
 * above); stopped() says a stop was asked for (may be NULL); sleep()
 * waits up to sec seconds and may return early; on_result() sees every
 * result (record it, show it); now() is the wall clock of the results;
 * mono() (may be NULL: now()) the seconds that time a bake, from a
 * clock that does not jump.
 */
struct gate_ops {
	int	(*alarms)(void *arg, const char *const *names, size_t n,
		    struct cw_alarms *ret, struct errbuf *eb);
	int	(*health)(void *arg, char *const *argv,
		    struct proc_result *ret, struct errbuf *eb);
	time_t	(*now)(void *arg);
	time_t	(*mono)(void *arg);
	void	(*sleep)(void *arg, unsigned sec);
	bool	(*stopped)(void *arg);
	void	(*on_result)(void *arg, const struct gate_result *);
	void	*arg;
};

/* Whether g has a gate to check (alarms or a health_check). */
bool	gates_any(const struct deployer_group *g);

/*
 * Check every gate of g once, alarms first.  Returns 0 when none
 * failed, 1 when one did (its result copied to *ret_failed, the later
 * gates not checked).  phase and batch are copied into each result.
 */
int	gates_check(const struct deployer_group *g, const struct gate_ops *,
	    const char *phase, long batch, struct gate_result *ret_failed);

#define GATES_PASSED	0
#define GATES_FAILED	1
#define GATES_STOPPED	2

/*
 * Bake batch 'batch' for 'seconds': check the gates at once, then every
 * g->gate_interval seconds, and a last time when the bake is over (so a
 * bake of 0 is one check).  Returns GATES_PASSED, GATES_FAILED
 * (*ret_failed filled) or GATES_STOPPED (stopped() said so between
 * checks).  Blocks for the bake through ops->sleep.
 */
int	gates_bake(const struct deployer_group *g, unsigned seconds,
	    const struct gate_ops *, long batch,
	    struct gate_result *ret_failed);

/*
 * The record of results in a deployment record: a JSON array of
 * {"gate", "result", "reason", "phase", "batch", "at", "first_at",
 * "checks"}.  gates_log_add() appends r to log, or, when the last entry
 * of the same gate says the same (result, reason, phase, batch), moves
 * its "at" and counts one more check, so a long bake stays small; past
 * GATES_LOG_MAX entries the oldest go.
 */
void	gates_log_add(struct json_t *log, const struct gate_result *r);

/*
 * "alarms OK, health_check OK": the latest result of each gate in log,
 * new string; NULL when log has none.
 */
char	*gates_summary(const struct json_t *log);

/* What a notice is about; strings borrowed. */
struct gate_notice {
	const char	*event;		/* "start", "batch", "outcome" */
	const char	*deployment_id;
	const char	*application;
	const char	*group;
	const char	*revision;	/* commit, else sha256 */
	const char	*outcome;	/* "InProgress", "Succeeded", ... */
	const char	*reason;	/* or NULL */
	long		 batch;		/* "batch": 0-based; else -1 */
	size_t		 nbatches;
	size_t		 instances;	/* in the deployment or batch */
	const char	*rollback_of;	/* or NULL */
};

/*
 * The SNS message (a JSON object, schema "hookd.notice/1", new string)
 * and its subject ("hookd web/production d-...: Stopped", at most
 * SNS's 99 printable ASCII characters, written to subject).
 */
char	*gates_notice_json(const struct gate_notice *);
void	 gates_notice_subject(const struct gate_notice *, char *subject,
	    size_t len);

#endif /* HOOKD_GATES_H */
