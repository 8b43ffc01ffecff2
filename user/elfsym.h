/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The symbols and segments of an ELF file, read with libelf: what is needed to find a variable
 * of a program or library in a process that runs it (its address, once the load bias is known,
 * and the value it starts with).
 *
 * Functions that can fail return a negative errno and leave a sentence saying what failed in
 * elfsym_error().
 */
#ifndef MT_ELFSYM_H
#define MT_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct elfsym_file;

struct elfsym_sym {
	uint64_t value; /* st_value: the address before any load bias */
	uint64_t size;
	unsigned shndx; /* the section it lies in */
};

/* A PT_LOAD program header. */
struct elfsym_seg {
	uint64_t vaddr, offset, filesz, memsz;
	uint32_t flags; /* PF_R, PF_W, PF_X */
};

/*
 * Open the ELF file on fd (a duplicate is kept: the caller's fd is its own to close) or at path.
 * 0 with *out set, or -errno with a sentence in why (-ENOEXEC: not an ELF file, or a kind
 * libelf cannot read).
 */
int elfsym_open_fd(int fd, struct elfsym_file **out, char *why, size_t why_len);
int elfsym_open(const char *path, struct elfsym_file **out, char *why, size_t why_len);
void elfsym_close(struct elfsym_file *f);

/* What the last failed call on f said. */
const char *elfsym_error(const struct elfsym_file *f);

/* e_type: ET_EXEC (addresses are final), ET_DYN (moved by a load bias), ... */
unsigned elfsym_type(const struct elfsym_file *f);

/* The PT_LOAD segments, in program header order; their count in *n. */
const struct elfsym_seg *elfsym_segments(const struct elfsym_file *f, size_t *n);

/*
 * The defined symbol name, from .dynsym, else from .symtab (a stripped file has only the first).
 * 0, -ENOENT (not defined) or -EINVAL (the file's symbol tables cannot be read).
 */
int elfsym_lookup(struct elfsym_file *f, const char *name, struct elfsym_sym *out);

/*
 * The first len bytes of sym's initial value as the file holds it (a .bss symbol's are zeros):
 * what a variable holds before the program writes to it. Reads min(len, sym->size) bytes and
 * returns that count, or -errno.
 */
ssize_t elfsym_read_initial(struct elfsym_file *f, const struct elfsym_sym *sym, void *buf,
			    size_t len);

/*
 * Call fn with each DT_NEEDED name (the libraries the dynamic linker loads), until it returns
 * false. 0 (also when there is no dynamic section) or -errno.
 */
int elfsym_for_each_needed(struct elfsym_file *f, bool (*fn)(void *ctx, const char *name),
			   void *ctx);

#endif
