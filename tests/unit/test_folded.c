// SPDX-License-Identifier: GPL-2.0
/*
 * user/folded.c: the folded stack format flame-graph tools read. A frame never holds what ends
 * a frame (';') or a line: both become ':'; stacks come out sorted, equal ones as one line with
 * their bytes summed; the stack buffer is taken and left empty for the next.
 */
#include <stdlib.h>
#include <string.h>
#include "folded.h"
#include "unit.h"

static char *write_all(struct mt_folded *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		abort();
	CHECK_EQ_INT(folded_write(f, out), 0);
	fclose(out);
	return buf;
}

static void add(struct mt_folded *f, const char *const *frames, uint64_t bytes)
{
	struct strbuf stack;

	sb_init(&stack);
	for (; *frames; frames++)
		folded_frame(&stack, *frames);
	folded_add(f, &stack, bytes);
	CHECK(stack.data == NULL && stack.len == 0);
}

TEST(frames_joined_root_first_and_cleaned)
{
	static const char *const a[] = { "main", "operator;(x)", "line\nbreak", NULL };
	struct mt_folded f = { 0 };
	char *text;

	add(&f, a, 4096);
	text = write_all(&f);
	CHECK_STREQ(text, "main;operator:(x);line:break 4096\n");
	free(text);
}

TEST(equal_stacks_merged_and_sorted)
{
	static const char *const b[] = { "main", "g (g.c:3)", NULL };
	static const char *const a[] = { "main", "f (f.c:9)", NULL };
	struct mt_folded f = { 0 };
	char *text;

	add(&f, b, 10);
	add(&f, a, 1);
	add(&f, b, 32);
	text = write_all(&f);
	CHECK_STREQ(text, "main;f (f.c:9) 1\nmain;g (g.c:3) 42\n");
	free(text);
	/* written and let go: the same gathering again is empty */
	text = write_all(&f);
	CHECK_STREQ(text, "");
	free(text);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(frames_joined_root_first_and_cleaned),
		UT(equal_stacks_merged_and_sorted),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
