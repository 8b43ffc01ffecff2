// SPDX-License-Identifier: GPL-2.0
/* The table of formats: which name gives which format. */
#include "writer.h"
#include "unit.h"

TEST(formats_by_name)
{
	CHECK(writer_format("csv") == &mt_csv_format);
	CHECK(writer_format("jsonl") == &mt_jsonl_format);
	CHECK(writer_format("mprof") == &mt_mprof_format);
	CHECK(writer_format("json") == NULL);
	CHECK(writer_format("") == NULL);
	CHECK_STREQ(mt_jsonl_format.name, "jsonl");
	CHECK_STREQ(mt_mprof_format.name, "mprof");
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(formats_by_name),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
