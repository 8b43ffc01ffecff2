// SPDX-License-Identifier: GPL-2.0
/* The table of formats (user/formats.c): which name gives which format. */
#include "csv.h"
#include "formats.h"
#include "jsonl.h"
#include "mprof.h"
#include "unit.h"

TEST(formats_by_name)
{
	CHECK(mt_format_by_name("csv") == &mt_csv_format);
	CHECK(mt_format_by_name("jsonl") == &mt_jsonl_format);
	CHECK(mt_format_by_name("mprof") == &mt_mprof_format);
	CHECK(mt_format_by_name("json") == NULL);
	CHECK(mt_format_by_name("") == NULL);
	CHECK_STREQ(mt_jsonl_format.name, "jsonl");
	CHECK_STREQ(mt_mprof_format.name, "mprof");
}

/* -F's default and its error message come from the table too */
TEST(formats_default_and_names)
{
	CHECK(mt_format_default() == &mt_csv_format);
	CHECK_STREQ(mt_format_names(), "csv, jsonl or mprof");
	CHECK_STREQ(mt_format_names(), "csv, jsonl or mprof"); /* built again, the same */
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(formats_by_name),
		UT(formats_default_and_names),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
