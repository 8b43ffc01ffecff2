// SPDX-License-Identifier: GPL-2.0
/*
 * user/programs.c: the table of BPF programs (essential or optional, twins, fallbacks), the plan
 * of what to load as the kernel refuses programs, libbpf's naming of a failed program, and
 * MEMTRACE_BPF_REFUSE (SPEC: Guarantees, a kernel that refuses one BPF program).
 */
#include <errno.h>
#include <string.h>
#include "programs.h"
#include "unit.h"

static void all_present(bool present[MT_PROG_NR])
{
	for (int p = 0; p < MT_PROG_NR; p++)
		present[p] = true;
	/* a kernel has one shape of mark_victim */
	present[MT_PROG_OOM_PID] = false;
}

TEST(table_is_whole_and_consistent)
{
	int essential = 0;

	for (int p = 0; p < MT_PROG_NR; p++) {
		const struct mt_prog_info *i = &mt_progs[p];

		REQUIRE(i->name != NULL);
		CHECK(i->hook != NULL && i->gives != NULL);
		CHECK(i->modes != 0);
		CHECK_EQ_INT(mt_prog_by_name(i->name), p);
		if (i->essential) {
			essential++;
			CHECK(i->twin == MT_PROG_NONE && !i->is_twin);
		} else if (i->on_request) {
			/* asked for, it is essential: nothing replaces it */
			CHECK(i->twin == MT_PROG_NONE && !i->is_twin);
		} else if (!i->is_twin) {
			/* every optional feature says what replaces it */
			CHECK(i->without != NULL);
		}
		if (i->twin != MT_PROG_NONE) {
			CHECK(mt_progs[i->twin].is_twin);
			CHECK_EQ_INT(mt_prog_feature(i->twin), p);
		}
	}
	/* RSS and peaks, new processes, exec, exit rows: nothing else is essential */
	CHECK_EQ_INT(essential, 4);
	CHECK(mt_progs[MT_PROG_RSS_STAT].essential && mt_progs[MT_PROG_EXIT].essential);
	CHECK(!mt_progs[MT_PROG_READ].essential && !mt_progs[MT_PROG_OOM].essential);
	CHECK_EQ_INT(mt_prog_by_name("no_such_prog"), MT_PROG_NONE);
}

TEST(plan_loads_what_the_mode_needs)
{
	bool present[MT_PROG_NR];
	struct mt_load_plan plan;

	all_present(present);
	mt_plan_init(&plan, MT_MODE_PIDS, present);
	CHECK(plan.load[MT_PROG_RSS_STAT] && plan.load[MT_PROG_FAULT] && plan.load[MT_PROG_READ]);
	CHECK(plan.load[MT_PROG_OOM] && !plan.load[MT_PROG_OOM_PID]);
	/* the tp_btf program, not its classic twin; no seeding, no cgroup moves */
	CHECK(!plan.load[MT_PROG_FAULT_TP] && !plan.load[MT_PROG_PAGE_ALLOC_TP]);
	CHECK(!plan.load[MT_PROG_SEED] && !plan.load[MT_PROG_CGROUP_ATTACH]);

	mt_plan_init(&plan, MT_MODE_ALL, present);
	CHECK(plan.load[MT_PROG_SEED] && !plan.load[MT_PROG_CGROUP_ATTACH]);
	mt_plan_init(&plan, MT_MODE_CGROUP, present);
	CHECK(plan.load[MT_PROG_SEED] && plan.load[MT_PROG_CGROUP_ATTACH]);
}

/* --exact's program: loaded only when asked for (present), and then the run needs it */
TEST(plan_loads_a_program_on_request_only)
{
	bool present[MT_PROG_NR];
	struct mt_load_plan plan;

	all_present(present);
	present[MT_PROG_RSS_EXACT] = false;
	mt_plan_init(&plan, MT_MODE_PIDS, present);
	CHECK(!plan.load[MT_PROG_RSS_EXACT] && plan.load[MT_PROG_RSS_STAT]);
	CHECK(!mt_plan_essential(&plan, MT_PROG_RSS_EXACT));
	CHECK(mt_plan_essential(&plan, MT_PROG_RSS_STAT));
	CHECK(!mt_plan_essential(&plan, MT_PROG_FAULT));

	present[MT_PROG_RSS_EXACT] = true;
	mt_plan_init(&plan, MT_MODE_ALL, present);
	CHECK(plan.load[MT_PROG_RSS_EXACT] && plan.load[MT_PROG_RSS_STAT]);
	CHECK(mt_plan_essential(&plan, MT_PROG_RSS_EXACT));
	CHECK(!mt_progs[MT_PROG_RSS_EXACT].essential);
}

TEST(plan_takes_the_twin_of_an_absent_hook)
{
	bool present[MT_PROG_NR];
	struct mt_load_plan plan;

	all_present(present);
	present[MT_PROG_FAULT] = false;
	present[MT_PROG_OOM] = false;
	present[MT_PROG_OOM_PID] = true;
	mt_plan_init(&plan, MT_MODE_PIDS, present);
	CHECK(!plan.load[MT_PROG_FAULT] && plan.load[MT_PROG_FAULT_TP]);
	CHECK_EQ_INT(mt_plan_chosen(&plan, MT_PROG_FAULT), MT_PROG_FAULT_TP);
	CHECK(plan.load[MT_PROG_OOM_PID] && mt_plan_has(&plan, MT_PROG_OOM));

	present[MT_PROG_FAULT_TP] = false; /* no tracefs either */
	mt_plan_init(&plan, MT_MODE_PIDS, present);
	CHECK(!mt_plan_has(&plan, MT_PROG_FAULT));
	CHECK_EQ_INT(mt_plan_chosen(&plan, MT_PROG_FAULT), MT_PROG_NONE);
}

TEST(refusal_costs_one_feature)
{
	bool present[MT_PROG_NR];
	struct mt_load_plan plan;

	all_present(present);
	mt_plan_init(&plan, MT_MODE_PIDS, present);
	/* refused at load: the classic twin takes its place (the object is loaded again) */
	CHECK(mt_plan_refuse(&plan, MT_PROG_FAULT, -EPERM, false));
	CHECK(!plan.load[MT_PROG_FAULT] && plan.load[MT_PROG_FAULT_TP]);
	CHECK_EQ_INT(plan.refused[MT_PROG_FAULT], -EPERM);
	CHECK(!plan.refused_at_attach[MT_PROG_FAULT]);
	/* the twin refused at attach: the feature goes */
	CHECK(!mt_plan_refuse(&plan, MT_PROG_FAULT_TP, -EINVAL, true));
	CHECK(!mt_plan_has(&plan, MT_PROG_FAULT));
	CHECK(plan.refused_at_attach[MT_PROG_FAULT_TP]);
	/* no twin: nothing else changes */
	CHECK(!mt_plan_refuse(&plan, MT_PROG_READ, -EPERM, false));
	CHECK(!plan.load[MT_PROG_READ]);
	for (int p = 0; p < MT_PROG_NR; p++)
		if (p != MT_PROG_FAULT && p != MT_PROG_FAULT_TP && p != MT_PROG_READ &&
		    p != MT_PROG_OOM_PID && mt_progs[p].modes & MT_IN_MODE(MT_MODE_PIDS) &&
		    !mt_progs[p].is_twin)
			CHECK(plan.load[p]);
	/* a refusal without an errno still counts as one */
	mt_plan_refuse(&plan, MT_PROG_RENAME, 0, false);
	CHECK(plan.refused[MT_PROG_RENAME] < 0 && !plan.load[MT_PROG_RENAME]);
}

TEST(libbpf_names_the_failed_program)
{
	CHECK_EQ_INT(mt_prog_in_libbpf_message("prog 'read_procs': failed to load: -1\n"),
		     MT_PROG_READ);
	CHECK_EQ_INT(mt_prog_in_libbpf_message("libbpf: prog 'on_mark_victim_pid': failed to "
					       "load: -22\n"),
		     MT_PROG_OOM_PID);
	/* not ours, not a program, cut short */
	CHECK_EQ_INT(mt_prog_in_libbpf_message("prog 'other': failed to load: -1"), MT_PROG_NONE);
	CHECK_EQ_INT(mt_prog_in_libbpf_message("failed to load object 'memtrace_bpf'"),
		     MT_PROG_NONE);
	CHECK_EQ_INT(mt_prog_in_libbpf_message("prog 'on_fault"), MT_PROG_NONE);
	CHECK_EQ_INT(mt_prog_in_libbpf_message(""), MT_PROG_NONE);
}

TEST(refuse_variable_parses)
{
	enum mt_refuse_at at[MT_PROG_NR];
	char err[512] = "";

	REQUIRE(mt_parse_refusals(NULL, at, err, sizeof(err)) == 0);
	for (int p = 0; p < MT_PROG_NR; p++)
		CHECK_EQ_INT(at[p], MT_REFUSE_NOT);
	REQUIRE(mt_parse_refusals("read_procs,on_mark_victim@attach,,on_fault@load", at, err,
				  sizeof(err)) == 0);
	CHECK_EQ_INT(at[MT_PROG_READ], MT_REFUSE_AT_LOAD);
	CHECK_EQ_INT(at[MT_PROG_OOM], MT_REFUSE_AT_ATTACH);
	CHECK_EQ_INT(at[MT_PROG_FAULT], MT_REFUSE_AT_LOAD);
	CHECK_EQ_INT(at[MT_PROG_RSS_STAT], MT_REFUSE_NOT);
	REQUIRE(mt_parse_refusals("", at, err, sizeof(err)) == 0);
	CHECK_EQ_INT(at[MT_PROG_READ], MT_REFUSE_NOT);
}

TEST(refuse_variable_rejects_what_it_cannot_do)
{
	enum mt_refuse_at at[MT_PROG_NR];
	char err[512];

	CHECK(mt_parse_refusals("on_fault,bogus", at, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no BPF program named 'bogus'") != NULL);
	/* the error lists what can be named */
	CHECK(strstr(err, "read_procs") != NULL);
	CHECK(mt_parse_refusals("on_fault@later", at, err, sizeof(err)) == -1);
	CHECK(strstr(err, "@load or @attach") != NULL);
	CHECK(mt_parse_refusals("@attach", at, err, sizeof(err)) == -1);
	/* the name as bpftool shows it, cut to 15 bytes, is not the program's name */
	CHECK(mt_parse_refusals("on_mark_victim_", at, err, sizeof(err)) == -1);
	/* a name longer than any buffer */
	char longname[200];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(mt_parse_refusals(longname, at, err, sizeof(err)) == -1);
}

TEST(refusal_hints_by_errno)
{
	CHECK(strstr(mt_refusal_hint(-EPERM), "security policy") != NULL);
	CHECK(strstr(mt_refusal_hint(-EACCES), "lockdown") != NULL);
	CHECK(strstr(mt_refusal_hint(-EINVAL), "lacks the hook") != NULL);
	CHECK(strstr(mt_refusal_hint(-ENOENT), "lacks the hook") != NULL);
	CHECK(strstr(mt_refusal_hint(-ENOMEM), "-v") != NULL);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(table_is_whole_and_consistent),
		UT(plan_loads_what_the_mode_needs),
		UT(plan_loads_a_program_on_request_only),
		UT(plan_takes_the_twin_of_an_absent_hook),
		UT(refusal_costs_one_feature),
		UT(libbpf_names_the_failed_program),
		UT(refuse_variable_parses),
		UT(refuse_variable_rejects_what_it_cannot_do),
		UT(refusal_hints_by_errno),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
