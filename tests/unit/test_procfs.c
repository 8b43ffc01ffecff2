// SPDX-License-Identifier: GPL-2.0
/*
 * The /proc parsers (user/procfs.h), fed what the kernel writes in each file.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fileio.h"
#include "procfs.h"
#include "unit.h"

/* ---- /proc/PID/stat ---- */

/* a shell, as Linux 6.1 writes its stat (52 fields) */
TEST(stat_plain_process)
{
	static const char text[] =
		"1234 (bash) S 1200 1234 1234 34816 1300 4194304 2093 8420 0 2 3 1 12 5 20 0 1 0 "
		"52103 9347072 1302 18446744073709551615 94823041536000 94823042449645 "
		"140727325137680 0 0 0 65536 3686404 1266761467 1 0 0 17 1 0 0 0 0 0 "
		"94823042692080 94823042740336 94823057338368 140727325143547 140727325143552 "
		"140727325143552 140727325143022 0\n";
	struct procfs_stat st;

	REQUIRE(procfs_parse_stat(text, &st) == 0);
	CHECK_STREQ(st.comm, "bash");
	CHECK_EQ_INT(st.state, 'S');
	CHECK_EQ_U64(st.ppid, 1200);
	CHECK_EQ_U64(st.flags, 4194304);
	CHECK_EQ_U64(st.utime_ticks, 3);
	CHECK_EQ_U64(st.stime_ticks, 1);
	CHECK_EQ_INT(st.threads, 1);
	CHECK_EQ_U64(st.start_ticks, 52103);
}

/*
 * prctl(PR_SET_NAME, "a) b (c\nd e"): stat writes the name raw, so only the last ')' ends it
 * (a live process's stat, read on Linux 6.18)
 */
TEST(stat_name_with_spaces_parens_and_newline)
{
	static const char text[] =
		"1000 (a) b (c\nd e) S 913 911 31800 0 -1 4194368 268 0 0 0 1 0 0 0 20 0 1 0 836585 "
		"17301504 2692 18446744073709551615 94380306505728 94380306506069 140724147042320 0 0 "
		"0 0 16781312 2 1 0 0 17 0 0 0 0 0 0 94380306517424 94380306518040 94381269524480 "
		"140724147050089 140724147050513 140724147050513 140724147052495 0\n";
	struct procfs_stat st;

	REQUIRE(procfs_parse_stat(text, &st) == 0);
	CHECK_STREQ(st.comm, "a) b (c\nd e");
	CHECK_EQ_INT(st.state, 'S');
	CHECK_EQ_U64(st.ppid, 913);
	CHECK_EQ_U64(st.utime_ticks, 1);
	CHECK_EQ_U64(st.stime_ticks, 0);
	CHECK_EQ_INT(st.threads, 1);
	CHECK_EQ_U64(st.start_ticks, 836585);
	CHECK(!(st.flags & MT_PF_KTHREAD));
}

/* the same process once it exited and before its parent reaped it */
TEST(stat_zombie)
{
	static const char text[] =
		"1000 (a) b (c\nd e) Z 913 911 31800 0 -1 4227148 269 0 0 0 1 0 0 0 20 0 1 0 836585 0 "
		"0 18446744073709551615 0 0 0 0 0 0 0 16781312 2 1 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 "
		"0\n";
	struct procfs_stat st;

	REQUIRE(procfs_parse_stat(text, &st) == 0);
	CHECK_STREQ(st.comm, "a) b (c\nd e");
	CHECK_EQ_INT(st.state, 'Z');
	CHECK_EQ_INT(st.threads, 1);
	CHECK_EQ_U64(st.start_ticks, 836585);
}

/* kthreadd: PF_KTHREAD in the flags, a tty of -1 */
TEST(stat_kernel_thread)
{
	static const char text[] =
		"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 20 0 0 "
		"18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
		"0\n";
	struct procfs_stat st;

	REQUIRE(procfs_parse_stat(text, &st) == 0);
	CHECK_STREQ(st.comm, "kthreadd");
	CHECK_EQ_U64(st.ppid, 0);
	CHECK(st.flags & MT_PF_KTHREAD);
	CHECK_EQ_U64(st.start_ticks, 20);
}

TEST(stat_malformed)
{
	struct procfs_stat st;

	CHECK_EQ_INT(procfs_parse_stat("", &st), -EINVAL);
	CHECK_EQ_INT(procfs_parse_stat("1234 bash S 1200", &st), -EINVAL);
	CHECK_EQ_INT(procfs_parse_stat("1234 (bash", &st), -EINVAL);
	CHECK_EQ_INT(procfs_parse_stat("1234 (bash)", &st), -EINVAL);
	CHECK_EQ_INT(procfs_parse_stat(") 1234 (", &st), -EINVAL);
	/* cut short before the start time */
	CHECK_EQ_INT(procfs_parse_stat("1234 (bash) S 1200 1234 1234 34816 1300 4194304 2093 8420 "
				       "0 2 3 1 12 5 20 0 1 0\n",
				       &st),
		     -EINVAL);
}

/* ---- /proc/PID/status ---- */

/* a running process (Linux 6.18), up to the line after the RSS split */
TEST(status_process_with_rss)
{
	static const char text[] = "Name:\tpython3\n"
				   "Umask:\t0022\n"
				   "State:\tS (sleeping)\n"
				   "Tgid:\t1000\n"
				   "Ngid:\t0\n"
				   "Pid:\t1000\n"
				   "PPid:\t913\n"
				   "TracerPid:\t0\n"
				   "Uid:\t0\t0\t0\t0\n"
				   "Gid:\t0\t0\t0\t0\n"
				   "FDSize:\t256\n"
				   "Groups:\t \n"
				   "NStgid:\t1000\n"
				   "NSpid:\t1000\n"
				   "NSpgid:\t911\n"
				   "NSsid:\t31800\n"
				   "Kthread:\t0\n"
				   "VmPeak:\t   16896 kB\n"
				   "VmSize:\t   16896 kB\n"
				   "VmLck:\t       0 kB\n"
				   "VmPin:\t       0 kB\n"
				   "VmHWM:\t   10868 kB\n"
				   "VmRSS:\t   10868 kB\n"
				   "RssAnon:\t    7072 kB\n"
				   "RssFile:\t    3792 kB\n"
				   "RssShmem:\t       4 kB\n"
				   "VmData:\t    8116 kB\n"
				   "Threads:\t1\n";
	struct procfs_status st;

	CHECK_EQ_INT(procfs_parse_status(text, &st), 0);
	CHECK_EQ_INT(st.tgid, 1000);
	CHECK(st.has_mm);
	CHECK_EQ_U64(st.anon_bytes, 7072 * 1024ULL);
	CHECK_EQ_U64(st.file_bytes, 3792 * 1024ULL);
	CHECK_EQ_U64(st.shmem_bytes, 4 * 1024ULL);
}

/* kthreadd: no address space, so no Vm* or Rss* line at all */
TEST(status_kernel_thread_without_vmrss)
{
	static const char text[] = "Name:\tkthreadd\n"
				   "Umask:\t0022\n"
				   "State:\tS (sleeping)\n"
				   "Tgid:\t2\n"
				   "Ngid:\t0\n"
				   "Pid:\t2\n"
				   "PPid:\t0\n"
				   "TracerPid:\t0\n"
				   "Uid:\t0\t0\t0\t0\n"
				   "Gid:\t0\t0\t0\t0\n"
				   "FDSize:\t64\n"
				   "Groups:\t \n"
				   "NStgid:\t2\n"
				   "NSpid:\t2\n"
				   "NSpgid:\t0\n"
				   "NSsid:\t0\n"
				   "Kthread:\t1\n"
				   "Threads:\t1\n"
				   "SigQ:\t0/96362\n"
				   "SigIgn:\tffffffffffffffff\n"
				   "Cpus_allowed_list:\t0-1\n"
				   "voluntary_ctxt_switches:\t120\n"
				   "nonvoluntary_ctxt_switches:\t0\n";
	struct procfs_status st;

	CHECK_EQ_INT(procfs_parse_status(text, &st), 0);
	CHECK_EQ_INT(st.tgid, 2);
	CHECK(!st.has_mm);
	CHECK_EQ_U64(st.anon_bytes, 0);
	CHECK_EQ_U64(st.file_bytes, 0);
	CHECK_EQ_U64(st.shmem_bytes, 0);
}

/*
 * A zombie has given its address space back: no VmRSS line. Its name (escaped here, unlike in
 * stat) reads like the lines that count, but only a line's start is looked at.
 */
TEST(status_zombie_named_like_a_field)
{
	static const char text[] = "Name:\tVmRSS: 9 kB\\nTgid: 7\n"
				   "State:\tZ (zombie)\n"
				   "Tgid:\t1000\n"
				   "Ngid:\t0\n"
				   "Pid:\t1000\n"
				   "PPid:\t913\n"
				   "TracerPid:\t0\n"
				   "Uid:\t0\t0\t0\t0\n"
				   "Gid:\t0\t0\t0\t0\n"
				   "FDSize:\t0\n"
				   "Groups:\t \n"
				   "NStgid:\t1000\n"
				   "NSpid:\t1000\n"
				   "NSpgid:\t911\n"
				   "NSsid:\t31800\n"
				   "Kthread:\t0\n"
				   "Threads:\t1\n"
				   "SigQ:\t0/96362\n";
	struct procfs_status st;

	CHECK_EQ_INT(procfs_parse_status(text, &st), 0);
	CHECK_EQ_INT(st.tgid, 1000);
	CHECK(!st.has_mm);
	CHECK_EQ_U64(st.anon_bytes, 0);
}

/* a thread's status names its process in Tgid; no Tgid line at all reads as -1 */
TEST(status_thread_and_missing_tgid)
{
	struct procfs_status st;

	CHECK_EQ_INT(procfs_parse_status("Name:\tworker\nState:\tS (sleeping)\nTgid:\t1000\n"
					 "Ngid:\t0\nPid:\t1003\nPPid:\t913\n",
					 &st),
		     0);
	CHECK_EQ_INT(st.tgid, 1000);
	CHECK_EQ_INT(procfs_parse_status("", &st), 0);
	CHECK_EQ_INT(st.tgid, -1);
	CHECK(!st.has_mm);
}

struct mounts {
	char v2[256], v2_root[256], v1[256], v1_root[256];
};

static void parse_mounts(const char *text, struct mounts *m)
{
	memset(m, 'x', sizeof(*m)); /* what is not found must come back "" */
	CHECK_EQ_INT(procfs_parse_mountinfo(text, m->v2, sizeof(m->v2), m->v2_root,
					    sizeof(m->v2_root), m->v1, sizeof(m->v1), m->v1_root,
					    sizeof(m->v1_root)),
		     0);
}

struct paths {
	char v2[256], v1[256];
};

static void parse_paths(const char *text, struct paths *p)
{
	memset(p, 'x', sizeof(*p));
	CHECK_EQ_INT(procfs_parse_pid_cgroup(text, p->v2, sizeof(p->v2), p->v1, sizeof(p->v1)), 0);
}

/* ---- /proc/self/mountinfo ---- */

/* Debian 12 host, systemd, unified hierarchy only */
TEST(mountinfo_v2_only_host)
{
	static const char text[] =
		"22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
		"23 28 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
		"24 28 0:5 / /dev rw,nosuid,relatime shared:8 - devtmpfs udev "
		"rw,size=4005772k,nr_inodes=1001443,mode=755,inode64\n"
		"28 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
		"26 23 0:6 / /sys/kernel/security rw,nosuid,nodev,noexec,relatime shared:3 - "
		"securityfs securityfs rw\n"
		"29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 "
		"cgroup2 rw,nsdelegate,memory_recursiveprot\n"
		"30 23 0:27 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:5 - pstore "
		"pstore rw\n"
		"31 23 0:28 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:6 - bpf bpf "
		"rw,mode=700\n";
	struct mounts m;

	parse_mounts(text, &m);
	CHECK_STREQ(m.v2, "/sys/fs/cgroup");
	CHECK_STREQ(m.v2_root, "/");
	CHECK_STREQ(m.v1, "");
	CHECK_STREQ(m.v1_root, "");
}

/* this test machine: v1 controllers, cgroup2 at /sys/fs/cgroup/unified, no optional fields */
TEST(mountinfo_hybrid_this_machine)
{
	static const char text[] =
		"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,"
		"resgid=65534\n"
		"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
		"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
		"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
		"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
		"36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
		"37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
		"38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
		"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
		"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
	struct mounts m;

	parse_mounts(text, &m);
	CHECK_STREQ(m.v2, "/sys/fs/cgroup/unified");
	CHECK_STREQ(m.v2_root, "/");
	CHECK_STREQ(m.v1, "/sys/fs/cgroup/memory");
	CHECK_STREQ(m.v1_root, "/");
}

/* Debian 10 style hybrid: optional fields, controllers mounted together, systemd's v1 first */
TEST(mountinfo_hybrid_systemd_shared_fields)
{
	static const char text[] =
		"25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:6 - tmpfs tmpfs "
		"ro,mode=755\n"
		"26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:7 - "
		"cgroup2 cgroup2 rw,nsdelegate\n"
		"27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:8 - "
		"cgroup cgroup rw,xattr,name=systemd\n"
		"31 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime "
		"shared:12 - cgroup cgroup rw,cpu,cpuacct\n"
		"33 25 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 "
		"master:3 - cgroup cgroup rw,memory\n";
	struct mounts m;

	parse_mounts(text, &m);
	CHECK_STREQ(m.v2, "/sys/fs/cgroup/unified");
	CHECK_STREQ(m.v1, "/sys/fs/cgroup/memory");
	CHECK_STREQ(m.v1_root, "/");
}

/* memory co-mounted with other controllers counts; name=memory or memory_x do not */
TEST(mountinfo_v1_memory_in_controller_list)
{
	struct mounts m;

	parse_mounts("40 31 0:37 / /cg/named rw - cgroup cgroup rw,name=memory\n"
		     "41 31 0:38 / /cg/other rw - cgroup cgroup rw,memory_x,cpu\n"
		     "42 31 0:39 / /cg/combo rw,relatime - cgroup cgroup rw,cpu,memory,pids\n",
		     &m);
	CHECK_STREQ(m.v1, "/cg/combo");
	CHECK_STREQ(m.v2, "");
	/* "memory" as the fs type or the source is not the controller */
	parse_mounts("40 31 0:37 / /cg/a rw - memory cgroup rw\n"
		     "41 31 0:38 / /cg/b rw - cgroup memory rw,cpu\n",
		     &m);
	CHECK_STREQ(m.v1, "");
}

/* Docker without a cgroup namespace: the mounts show the container's own cgroup as root */
TEST(mountinfo_container_mount_root)
{
	static const char v1[] =
		"1290 1289 0:104 / / rw,relatime master:590 - overlay overlay rw,lowerdir=/a,"
		"upperdir=/b,workdir=/c\n"
		"1299 1298 0:29 /docker/3f1c0e9a8b7d /sys/fs/cgroup/cpu,cpuacct "
		"ro,nosuid,nodev,noexec,relatime master:11 - cgroup cgroup rw,cpu,cpuacct\n"
		"1300 1298 0:32 /docker/3f1c0e9a8b7d /sys/fs/cgroup/memory "
		"ro,nosuid,nodev,noexec,relatime master:15 - cgroup cgroup rw,memory\n";
	static const char v2[] =
		"580 575 0:26 /system.slice/docker-3f1c0e9a8b7d.scope /sys/fs/cgroup "
		"ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,"
		"memory_recursiveprot\n";
	struct mounts m;

	parse_mounts(v1, &m);
	CHECK_STREQ(m.v1, "/sys/fs/cgroup/memory");
	CHECK_STREQ(m.v1_root, "/docker/3f1c0e9a8b7d");
	CHECK_STREQ(m.v2, "");
	parse_mounts(v2, &m);
	CHECK_STREQ(m.v2, "/sys/fs/cgroup");
	CHECK_STREQ(m.v2_root, "/system.slice/docker-3f1c0e9a8b7d.scope");
	CHECK_STREQ(m.v1, "");
}

/* the kernel writes space, tab, newline and backslash in paths as \040 \011 \012 \134 */
TEST(mountinfo_octal_escapes)
{
	struct mounts m;

	parse_mounts("50 23 0:40 /my\\040root /mnt/my\\040cgroup\\011v2\\134x rw - cgroup2 none "
		     "rw\n"
		     "51 23 0:41 / /mnt/a\\040-\\040b rw - cgroup cgroup rw,memory\n",
		     &m);
	CHECK_STREQ(m.v2, "/mnt/my cgroup\tv2\\x");
	CHECK_STREQ(m.v2_root, "/my root");
	CHECK_STREQ(m.v1, "/mnt/a - b");
	/* a backslash not followed by three octal digits stays as is */
	parse_mounts("50 23 0:40 / /mnt/a\\9b\\04 rw - cgroup2 none rw", &m);
	CHECK_STREQ(m.v2, "/mnt/a\\9b\\04");
}

TEST(mountinfo_first_wins_and_odd_input)
{
	struct mounts m;
	char tiny[8] = "junk", root[8] = "junk", v1[8] = "junk", v1_root[8] = "junk";

	/* several mounts of a hierarchy: the first; the last line may lack its newline */
	parse_mounts("1 0 0:1 / /first rw - cgroup2 cgroup2 rw\n"
		     "2 0 0:1 / /second rw - cgroup2 cgroup2 rw\n"
		     "3 0 0:2 / /mem1 rw - cgroup cgroup rw,memory\n"
		     "4 0 0:2 / /mem2 rw - cgroup cgroup rw,memory",
		     &m);
	CHECK_STREQ(m.v2, "/first");
	CHECK_STREQ(m.v1, "/mem1");
	parse_mounts("", &m);
	CHECK_STREQ(m.v2, "");
	CHECK_STREQ(m.v2_root, "");
	CHECK_STREQ(m.v1, "");
	CHECK_STREQ(m.v1_root, "");
	/* truncated lines, no " - " separator */
	parse_mounts("1 0 0:1 / /x rw cgroup2\n"
		     "2 0 0:1 /\n"
		     "\n"
		     "3 0 0:1 / /y rw -\n"
		     "4 0 0:1 / /z rw - cgroup\n",
		     &m);
	CHECK_STREQ(m.v2, "");
	CHECK_STREQ(m.v1, "");
	/* a mount point too long for the buffer counts as missing: a later one that fits wins */
	CHECK_EQ_INT(procfs_parse_mountinfo("1 0 0:1 / /much/too/long rw - cgroup2 c rw\n"
					    "2 0 0:1 / /short rw - cgroup2 c rw\n"
					    "3 0 0:2 / /sys/fs/cgroup/memory rw - cgroup c "
					    "rw,memory\n",
					    tiny, sizeof(tiny), root, sizeof(root), v1, sizeof(v1),
					    v1_root, sizeof(v1_root)),
		     0);
	CHECK_STREQ(tiny, "/short");
	CHECK_STREQ(root, "/");
	CHECK_STREQ(v1, "");
	CHECK_STREQ(v1_root, "");
}

/* ---- /proc/PID/cgroup ---- */

TEST(proc_cgroup_v2_only)
{
	struct paths p;

	parse_paths("0::/user.slice/user-1000.slice/session-2.scope\n", &p);
	CHECK_STREQ(p.v2, "/user.slice/user-1000.slice/session-2.scope");
	CHECK_STREQ(p.v1, "");
	parse_paths("0::/\n", &p);
	CHECK_STREQ(p.v2, "/");
	parse_paths("0::/system.slice/cron.service", &p); /* no newline at the end */
	CHECK_STREQ(p.v2, "/system.slice/cron.service");
}

/* this machine's /proc/self/cgroup */
TEST(proc_cgroup_hybrid_this_machine)
{
	struct paths p;

	parse_paths("9:name=systemd:/\n"
		    "8:pids:/\n"
		    "7:blkio:/\n"
		    "6:freezer:/\n"
		    "5:devices:/\n"
		    "4:memory:/process_api/ffc5d814788eacb6d56e29671f429a6b\n"
		    "3:cpuset:/\n"
		    "2:cpuacct:/\n"
		    "1:cpu:/\n"
		    "0::/\n",
		    &p);
	CHECK_STREQ(p.v1, "/process_api/ffc5d814788eacb6d56e29671f429a6b");
	CHECK_STREQ(p.v2, "/");
}

TEST(proc_cgroup_controller_lists)
{
	struct paths p;

	parse_paths("12:pids:/user.slice\n"
		    "5:cpu,memory:/x\n"
		    "0::/user.slice/user-1000.slice/session-3.scope\n",
		    &p);
	CHECK_STREQ(p.v1, "/x");
	CHECK_STREQ(p.v2, "/user.slice/user-1000.slice/session-3.scope");
	parse_paths("3:memory,name=foo:/a/b\n", &p);
	CHECK_STREQ(p.v1, "/a/b");
	parse_paths("3:blkio,memory:/\n", &p);
	CHECK_STREQ(p.v1, "/");
}

/* name=systemd (or any other named hierarchy) is not the memory controller */
TEST(proc_cgroup_named_hierarchy_is_not_memory)
{
	struct paths p;

	parse_paths("1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n"
		    "2:name=memory:/named\n"
		    "3:memory_x:/other\n"
		    "4:cpu,cpuacct:/c\n",
		    &p);
	CHECK_STREQ(p.v1, "");
	CHECK_STREQ(p.v2, "");
	/* and a v1 hierarchy with an empty controller list but ID != 0 is not v2 */
	parse_paths("10::/not-v2\n", &p);
	CHECK_STREQ(p.v2, "");
}

TEST(proc_cgroup_odd_paths_and_input)
{
	struct paths p;
	char v2[8], v1[8];

	/* cgroup names may hold colons: everything after the second colon is the path */
	parse_paths("4:memory:/a:b/c:d\n0::/x:y\n", &p);
	CHECK_STREQ(p.v1, "/a:b/c:d");
	CHECK_STREQ(p.v2, "/x:y");
	/* memory line before the v2 line, first of each wins */
	parse_paths("4:memory:/m1\n0::/u1\n4:memory:/m2\n0::/u2\n", &p);
	CHECK_STREQ(p.v1, "/m1");
	CHECK_STREQ(p.v2, "/u1");
	/* outside our cgroup namespace's root */
	parse_paths("0::/../../sibling\n", &p);
	CHECK_STREQ(p.v2, "/../../sibling");
	parse_paths("", &p);
	CHECK_STREQ(p.v1, "");
	CHECK_STREQ(p.v2, "");
	parse_paths("garbage\n\nno colon here\n4:memory\n", &p);
	CHECK_STREQ(p.v1, "");
	CHECK_STREQ(p.v2, "");
	/* too long for the buffer: "" */
	strcpy(v2, "junk");
	strcpy(v1, "junk");
	CHECK_EQ_INT(procfs_parse_pid_cgroup("0::/0123456789\n4:memory:/abcdefg\n", v2, sizeof(v2),
					      v1, sizeof(v1)),
		     0);
	CHECK_STREQ(v2, "");
	CHECK_STREQ(v1, "");
	CHECK_EQ_INT(procfs_parse_pid_cgroup("0::/012345\n4:memory:/abcdef\n", v2, sizeof(v2), v1,
					      sizeof(v1)),
		     0);
	CHECK_STREQ(v2, "/012345");
	CHECK_STREQ(v1, "/abcdef");
}

/* ---- /proc/cgroups ---- */

TEST(hierarchy_of_controller)
{
	static const char text[] = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
				   "cpuset\t3\t1\t1\n"
				   "memory\t4\t31\t1\n"
				   "pids\t0\t1\t1\n"
				   "hugetlb\t9\t1\t0\n";

	CHECK_EQ_INT(procfs_parse_cgroups(text, "memory"), 4);
	CHECK_EQ_INT(procfs_parse_cgroups(text, "cpuset"), 3);
	/* on the v2 hierarchy: 0 */
	CHECK_EQ_INT(procfs_parse_cgroups(text, "pids"), 0);
	/* disabled, absent, a prefix of a name */
	CHECK_EQ_INT(procfs_parse_cgroups(text, "hugetlb"), -1);
	CHECK_EQ_INT(procfs_parse_cgroups(text, "rdma"), -1);
	CHECK_EQ_INT(procfs_parse_cgroups(text, "mem"), -1);
	CHECK_EQ_INT(procfs_parse_cgroups("", "memory"), -1);
	CHECK_EQ_INT(procfs_parse_cgroups("memory 4 31", "memory"), -1);
}

/* ---- /proc/kallsyms ---- */

static const char *const memcg_syms[] = { "mem_cgroup_out_of_memory", "mem_cgroup_oom" };

/* procfs_parse_kallsyms over text, as if it were /proc/kallsyms */
static int find_ranges(const char *text, const char *const *names, size_t n,
		       struct mt_ksym_range *out)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	if (!f) {
		ut_fail(__FILE__, __LINE__, "fmemopen: %s", strerror(errno));
		return -1000;
	}
	/* garbage in: what is not found must come back {0, 0} */
	memset(out, 0x77, n * sizeof(*out));
	r = procfs_parse_kallsyms(f, names, n, out);
	fclose(f);
	return r;
}

#define CHECK_RANGE(range, s, e)                                                                   \
	do {                                                                                       \
		CHECK_EQ_U64((range).start, (s));                                                  \
		CHECK_EQ_U64((range).end, (e));                                                    \
	} while (0)

TEST(ksyms_sorted_text)
{
	static const char text[] =
		"ffffffff81000000 T _stext\n"
		"ffffffff8168b9f0 T mem_cgroup_oom_synchronize\n"
		"ffffffff8168bab0 t mem_cgroup_out_of_memory\n"
		"ffffffff8168bc40 T mem_cgroup_oom\n"
		"ffffffff8168bd00 t mem_cgroup_oom_control_read\n"
		"ffffffff82000000 D _sdata\n";
	struct mt_ksym_range r[2];

	CHECK_EQ_INT(find_ranges(text, memcg_syms, 2, r), 2);
	CHECK_RANGE(r[0], 0xffffffff8168bab0ULL, 0xffffffff8168bc40ULL);
	/* a name that is a prefix of another does not take the other's place */
	CHECK_RANGE(r[1], 0xffffffff8168bc40ULL, 0xffffffff8168bd00ULL);
}

TEST(ksyms_module_symbols)
{
	static const char text[] =
		"ffffffff81000000 T _stext\n"
		"ffffffffc0a01000 t mem_cgroup_oom\t[fake_memcg]\n"
		"ffffffffc0a01180 t fake_helper\t[fake_memcg]\n"
		"ffffffffc0a02000 T mem_cgroup_out_of_memory\t[fake_memcg]\n";
	struct mt_ksym_range r[2];

	CHECK_EQ_INT(find_ranges(text, memcg_syms, 2, r), 2);
	CHECK_RANGE(r[0], 0xffffffffc0a02000ULL, 0xffffffffc0a03000ULL);
	CHECK_RANGE(r[1], 0xffffffffc0a01000ULL, 0xffffffffc0a01180ULL);
}

/* only text symbols (t, T) count; data and bss ones of the same name do not */
TEST(ksyms_data_symbols_do_not_match)
{
	static const char text[] =
		"ffffffff81600000 d mem_cgroup_oom\n"
		"ffffffff81610000 D mem_cgroup_oom\n"
		"ffffffff81620000 b mem_cgroup_oom\n"
		"ffffffff81630000 B mem_cgroup_out_of_memory\n"
		"ffffffff81640000 r mem_cgroup_out_of_memory\n"
		"ffffffff81650000 T mem_cgroup_oom\n"
		"ffffffff81650100 t next_fn\n";
	struct mt_ksym_range r[2];

	CHECK_EQ_INT(find_ranges(text, memcg_syms, 2, r), 1);
	CHECK_RANGE(r[0], 0, 0);
	CHECK_RANGE(r[1], 0xffffffff81650000ULL, 0xffffffff81650100ULL);
}

/* the end is the lowest address above the start anywhere in the file, of any symbol type */
TEST(ksyms_unsorted_end_is_lowest_address_above)
{
	static const char text[] =
		"ffffffff81700000 T far_away\n"
		"ffffffff8168bab0 t mem_cgroup_out_of_memory\n"
		"ffffffff81690000 T after_a_while\n"
		"ffffffff81000000 T below_it\n"
		"ffffffff8168bc00 d closest_above\n"
		"ffffffff8168bd00 t a_bit_further\n";
	struct mt_ksym_range r[1];

	CHECK_EQ_INT(find_ranges(text, memcg_syms, 1, r), 1);
	CHECK_RANGE(r[0], 0xffffffff8168bab0ULL, 0xffffffff8168bc00ULL);
}

/* aliases at the same address do not end the symbol (a range is never empty) */
TEST(ksyms_aliases_at_the_same_address)
{
	static const char text[] =
		"ffffffff8168bab0 t __alias_before\n"
		"ffffffff8168bab0 t mem_cgroup_out_of_memory\n"
		"ffffffff8168bab0 T __alias_after\n"
		"ffffffff8168bc40 T next_fn\n";
	struct mt_ksym_range r[1];

	CHECK_EQ_INT(find_ranges(text, memcg_syms, 1, r), 1);
	CHECK_RANGE(r[0], 0xffffffff8168bab0ULL, 0xffffffff8168bc40ULL);
}

TEST(ksyms_last_symbol_gets_a_page)
{
	static const char text[] = "ffffffff81000000 T _stext\n"
				   "ffffffff8168bab0 t mem_cgroup_out_of_memory\n";
	struct mt_ksym_range r[1];

	CHECK_EQ_INT(find_ranges(text, memcg_syms, 1, r), 1);
	CHECK_RANGE(r[0], 0xffffffff8168bab0ULL, 0xffffffff8168bab0ULL + 4096);
	/* no newline after the last line */
	CHECK_EQ_INT(find_ranges("ffffffff8168bab0 t mem_cgroup_out_of_memory", memcg_syms, 1, r),
		     1);
	CHECK_RANGE(r[0], 0xffffffff8168bab0ULL, 0xffffffff8168bab0ULL + 4096);
}

/* kptr_restrict: every address reads 0 */
TEST(ksyms_hidden_addresses_are_eperm)
{
	static const char text[] = "0000000000000000 T _stext\n"
				   "0000000000000000 t mem_cgroup_out_of_memory\n"
				   "0000000000000000 T mem_cgroup_oom\n"
				   "0000000000000000 t next_fn\t[some_mod]\n";
	struct mt_ksym_range r[2];

	CHECK_EQ_INT(find_ranges(text, memcg_syms, 2, r), -EPERM);
	CHECK_RANGE(r[0], 0, 0);
	CHECK_RANGE(r[1], 0, 0);
}

TEST(ksyms_names_not_found)
{
	static const char text[] = "ffffffff81000000 T _stext\n"
				   "ffffffff8168bab0 t mem_cgroup_out_of_memory\n"
				   "ffffffff8168bc40 T mem_cgroup_oom_synchronize\n";
	static const char *const names[] = { "not_here", "mem_cgroup_oom",
					     "mem_cgroup_out_of_memory", "mem_cgroup" };
	struct mt_ksym_range r[4];

	CHECK_EQ_INT(find_ranges(text, names, 4, r), 1);
	CHECK_RANGE(r[0], 0, 0);
	CHECK_RANGE(r[1], 0, 0);
	CHECK_RANGE(r[2], 0xffffffff8168bab0ULL, 0xffffffff8168bc40ULL);
	CHECK_RANGE(r[3], 0, 0);
	/* none at all: 0, not an error */
	CHECK_EQ_INT(find_ranges(text, names, 1, r), 0);
	CHECK_RANGE(r[0], 0, 0);
}

/* lines that are not "ADDR TYPE NAME" are skipped */
TEST(ksyms_malformed_lines_are_skipped)
{
	static const char text[] = "\n"
				   "garbage\n"
				   "ffffffff81000000\n"
				   "ffffffff8168bab0 t mem_cgroup_out_of_memory\n"
				   "   \n"
				   "ffffffff8168bc40 T next_fn\n";
	struct mt_ksym_range r[1];

	CHECK_EQ_INT(find_ranges(text, memcg_syms, 1, r), 1);
	CHECK_RANGE(r[0], 0xffffffff8168bab0ULL, 0xffffffff8168bc40ULL);
}

/*
 * A process in a few thousand groups: its status file's Groups: line, written before the RSS
 * lines, makes it longer than a page, and the reader must still find its RSS (root only:
 * setgroups).
 */
TEST(read_process_in_many_groups)
{
	enum { NGROUPS = 3000, TOUCH = 4 << 20 };
	int ready[2];
	char c, path[64], *status = NULL;
	pid_t pid;

	if (geteuid() != 0) {
		fprintf(ut_out, "%s: SKIP %s: not root (setgroups)\n", ut_prog, ut_test_name);
		return;
	}
	REQUIRE(pipe(ready) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		static gid_t groups[NGROUPS];
		volatile char *mem = malloc(TOUCH);

		for (int i = 0; i < NGROUPS; i++)
			groups[i] = (gid_t)(100000 + i);
		if (setgroups(NGROUPS, groups) || !mem)
			_exit(1);
		for (size_t off = 0; off < TOUCH; off += 4096)
			mem[off] = 1; /* volatile: a write the compiler cannot drop */
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	REQUIRE(read(ready[0], &c, 1) == 1);
	close(ready[0]);

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	CHECK(mt_read_file(path, &status) == 0 && strlen(status) > 4096);
	free(status);

	struct proc_stats st;
	struct proc_facts facts;
	char label[256];

	CHECK(procfs_read_process((int)pid, &st, label, sizeof(label), &facts) == 0);
	CHECK(facts.has_mm);
	CHECK(st.anon_bytes >= TOUCH);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	static const struct ut_test tests[] = {
		UT(stat_plain_process),
		UT(stat_name_with_spaces_parens_and_newline),
		UT(stat_zombie),
		UT(stat_kernel_thread),
		UT(stat_malformed),
		UT(status_process_with_rss),
		UT(status_kernel_thread_without_vmrss),
		UT(status_zombie_named_like_a_field),
		UT(status_thread_and_missing_tgid),
		UT(mountinfo_v2_only_host),
		UT(mountinfo_hybrid_this_machine),
		UT(mountinfo_hybrid_systemd_shared_fields),
		UT(mountinfo_v1_memory_in_controller_list),
		UT(mountinfo_container_mount_root),
		UT(mountinfo_octal_escapes),
		UT(mountinfo_first_wins_and_odd_input),
		UT(proc_cgroup_v2_only),
		UT(proc_cgroup_hybrid_this_machine),
		UT(proc_cgroup_controller_lists),
		UT(proc_cgroup_named_hierarchy_is_not_memory),
		UT(proc_cgroup_odd_paths_and_input),
		UT(hierarchy_of_controller),
		UT(ksyms_sorted_text),
		UT(ksyms_module_symbols),
		UT(ksyms_data_symbols_do_not_match),
		UT(ksyms_unsorted_end_is_lowest_address_above),
		UT(ksyms_aliases_at_the_same_address),
		UT(ksyms_last_symbol_gets_a_page),
		UT(ksyms_hidden_addresses_are_eperm),
		UT(ksyms_names_not_found),
		UT(ksyms_malformed_lines_are_skipped),
		UT(read_process_in_many_groups),
	};

	return ut_run(argc, argv, tests, UT_COUNT(tests));
}
