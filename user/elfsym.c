// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elfsym.h"

struct elfsym_file {
	int fd;
	Elf *elf;
	unsigned type;
	struct elfsym_seg *segs;
	size_t nr_segs;
	char err[256];
};

static int __attribute__((format(printf, 3, 4)))
fail(struct elfsym_file *f, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->err, sizeof(f->err), fmt, ap);
	va_end(ap);
	return err;
}

static const char *elf_why(void)
{
	const char *msg = elf_errmsg(-1);

	return msg ? msg : "unknown libelf error";
}

/* The PT_LOAD headers, copied once: the load bias is worked out from them for every symbol. */
static int read_segments(struct elfsym_file *f)
{
	size_t phnum;

	if (elf_getphdrnum(f->elf, &phnum))
		return fail(f, -ENOEXEC, "program headers unreadable: %s", elf_why());
	f->segs = calloc(phnum ? phnum : 1, sizeof(*f->segs));
	if (!f->segs)
		return fail(f, -ENOMEM, "out of memory");
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(f->elf, (int)i, &ph))
			return fail(f, -ENOEXEC, "program header %zu unreadable: %s", i, elf_why());
		if (ph.p_type != PT_LOAD)
			continue;
		f->segs[f->nr_segs++] = (struct elfsym_seg){
			.vaddr = ph.p_vaddr,
			.offset = ph.p_offset,
			.filesz = ph.p_filesz,
			.memsz = ph.p_memsz,
			.flags = ph.p_flags,
		};
	}
	return 0;
}

int elfsym_open_fd(int fd, struct elfsym_file **out, char *why, size_t why_len)
{
	struct elfsym_file *f;
	GElf_Ehdr eh;
	int err;

	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(why, why_len, "libelf too old: %s", elf_why());
		return -ENOSYS;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	f->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (f->fd < 0) {
		err = -errno;
		snprintf(why, why_len, "dup: %s", strerror(errno));
		free(f);
		return err;
	}
	/* not ELF_C_READ_MMAP: the file may be one a process maps (map_files), and libelf reads
	 * only the parts asked for */
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	if (!f->elf) {
		err = fail(f, -ENOEXEC, "not readable as ELF: %s", elf_why());
		goto out_fail;
	}
	if (elf_kind(f->elf) != ELF_K_ELF) {
		err = fail(f, -ENOEXEC, "not an ELF file");
		goto out_fail;
	}
	if (!gelf_getehdr(f->elf, &eh)) {
		err = fail(f, -ENOEXEC, "ELF header unreadable: %s", elf_why());
		goto out_fail;
	}
	f->type = eh.e_type;
	err = read_segments(f);
	if (err)
		goto out_fail;
	*out = f;
	return 0;

out_fail:
	snprintf(why, why_len, "%s", f->err);
	elfsym_close(f);
	return err;
}

int elfsym_open(const char *path, struct elfsym_file **out, char *why, size_t why_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err;

	*out = NULL;
	if (fd < 0) {
		err = -errno;
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return err;
	}
	err = elfsym_open_fd(fd, out, why, why_len);
	close(fd);
	return err;
}

void elfsym_close(struct elfsym_file *f)
{
	if (!f)
		return;
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	free(f->segs);
	free(f);
}

const char *elfsym_error(const struct elfsym_file *f)
{
	return f->err;
}

unsigned elfsym_type(const struct elfsym_file *f)
{
	return f->type;
}

const struct elfsym_seg *elfsym_segments(const struct elfsym_file *f, size_t *n)
{
	*n = f->nr_segs;
	return f->segs;
}

/*
 * The first section of type sh_type, its header in *sh and its data in *data: 1, 0 when there
 * is none, -errno (said) when it cannot be read. A file has one symbol table of each type and
 * one dynamic section.
 */
static int section_of_type(struct elfsym_file *f, Elf64_Word sh_type, GElf_Shdr *sh,
			   Elf_Data **data)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(f->elf, scn))) {
		if (!gelf_getshdr(scn, sh))
			return fail(f, -EINVAL, "section header unreadable: %s", elf_why());
		if (sh->sh_type != sh_type)
			continue;
		*data = elf_getdata(scn, NULL);
		if (!*data)
			return fail(f, -EINVAL, "section of type %u unreadable: %s", sh_type,
				    elf_why());
		return 1;
	}
	return 0;
}

/* name among the defined symbols of the section of type sh_type: 1 found, 0 not, -errno */
static int lookup_in(struct elfsym_file *f, Elf64_Word sh_type, const char *name,
		     struct elfsym_sym *out)
{
	GElf_Shdr sh;
	Elf_Data *data;
	int found = section_of_type(f, sh_type, &sh, &data);

	if (found <= 0)
		return found;
	if (!sh.sh_entsize)
		return fail(f, -EINVAL, "symbol table with entries of size 0");
	size_t count = sh.sh_size / sh.sh_entsize;
	for (size_t i = 1; i < count; i++) {
		GElf_Sym sym;
		const char *sym_name;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		if (sym.st_shndx == SHN_UNDEF || !sym.st_name)
			continue;
		sym_name = elf_strptr(f->elf, sh.sh_link, sym.st_name);
		if (!sym_name || strcmp(sym_name, name))
			continue;
		*out = (struct elfsym_sym){
			.value = sym.st_value,
			.size = sym.st_size,
			.shndx = sym.st_shndx,
		};
		return 1;
	}
	return 0;
}

int elfsym_lookup(struct elfsym_file *f, const char *name, struct elfsym_sym *out)
{
	int found = lookup_in(f, SHT_DYNSYM, name, out);

	if (!found)
		found = lookup_in(f, SHT_SYMTAB, name, out);
	if (found < 0)
		return found;
	if (!found)
		return fail(f, -ENOENT, "no symbol %s", name);
	return 0;
}

/* pread until len bytes or the end of the file: a short read is not an error by itself */
static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, off + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

ssize_t elfsym_read_initial(struct elfsym_file *f, const struct elfsym_sym *sym, void *buf,
			    size_t len)
{
	Elf_Scn *scn;
	GElf_Shdr sh;
	ssize_t got;

	if (len > sym->size)
		len = sym->size;
	/* SHN_ABS, SHN_COMMON, extended indices: no section holds a value to read */
	if (sym->shndx >= SHN_LORESERVE)
		return fail(f, -EINVAL, "symbol in special section %#x", sym->shndx);
	scn = elf_getscn(f->elf, sym->shndx);
	if (!scn || !gelf_getshdr(scn, &sh))
		return fail(f, -EINVAL, "section %u unreadable: %s", sym->shndx, elf_why());
	if (sym->value < sh.sh_addr || sym->value - sh.sh_addr > sh.sh_size ||
	    len > sh.sh_size - (sym->value - sh.sh_addr))
		return fail(f, -EINVAL, "symbol at %#llx (%llu bytes) outside its section",
			    (unsigned long long)sym->value, (unsigned long long)sym->size);
	if (sh.sh_type == SHT_NOBITS) {
		memset(buf, 0, len);
		return (ssize_t)len;
	}
	/* straight from the file, not elf_getdata: .data may be megabytes for a few bytes */
	got = pread_full(f->fd, buf, len, (off_t)(sh.sh_offset + (sym->value - sh.sh_addr)));
	if (got < 0)
		return fail(f, (int)got, "read: %s", strerror((int)-got));
	if ((size_t)got < len)
		return fail(f, -EIO, "file shorter than its section headers say");
	return got;
}

int elfsym_for_each_needed(struct elfsym_file *f, bool (*fn)(void *ctx, const char *name),
			   void *ctx)
{
	GElf_Shdr sh;
	Elf_Data *data;
	int found = section_of_type(f, SHT_DYNAMIC, &sh, &data);

	if (found <= 0)
		return found;
	size_t count = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
	for (size_t i = 0; i < count; i++) {
		GElf_Dyn dyn;
		const char *name;

		if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag != DT_NEEDED)
			continue;
		name = elf_strptr(f->elf, sh.sh_link, dyn.d_un.d_val);
		if (!name)
			return fail(f, -EINVAL, "DT_NEEDED name unreadable: %s", elf_why());
		if (!fn(ctx, name))
			return 0;
	}
	return 0;
}
