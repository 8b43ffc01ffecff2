// SPDX-License-Identifier: GPL-2.0
/*
 * user/tracefs.c: a tracepoint's id as tracefs writes it (events/CATEGORY/NAME/id), which
 * --exact attaches by.
 */
#include <errno.h>
#include "tracefs.h"
#include "unit.h"

TEST(id_as_the_kernel_writes_it)
{
	CHECK_EQ_INT(mt_tracepoint_id_parse("646\n"), 646);
	CHECK_EQ_INT(mt_tracepoint_id_parse("1"), 1);
	CHECK_EQ_INT(mt_tracepoint_id_parse("2147483647\n"), 2147483647);
}

TEST(not_an_id)
{
	CHECK_EQ_INT(mt_tracepoint_id_parse(""), -EINVAL);
	CHECK_EQ_INT(mt_tracepoint_id_parse("\n"), -EINVAL);
	CHECK_EQ_INT(mt_tracepoint_id_parse("0\n"), -EINVAL);
	CHECK_EQ_INT(mt_tracepoint_id_parse("-5\n"), -EINVAL);
	CHECK_EQ_INT(mt_tracepoint_id_parse(" 646\n"), -EINVAL);
	CHECK_EQ_INT(mt_tracepoint_id_parse("646 647\n"), -EINVAL);
	CHECK_EQ_INT(mt_tracepoint_id_parse("64x\n"), -EINVAL);
	CHECK_EQ_INT(mt_tracepoint_id_parse("2147483648\n"), -EINVAL);
	CHECK_EQ_INT(mt_tracepoint_id_parse("99999999999999999999999\n"), -EINVAL);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(id_as_the_kernel_writes_it),
		UT(not_an_id),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
