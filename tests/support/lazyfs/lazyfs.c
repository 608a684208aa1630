/*
 * lazyfs — a FUSE filesystem that simulates a power cut, for tests.
 *
 *   lazyfs <backing-dir> <mountpoint> [fuse options]     (run it with -f: foreground; multi-threaded)
 *
 * Every operation is passed through to <backing-dir> at once, so the backing directory always shows what the
 * programs under test wrote. In addition, lazyfs remembers, per file, every change to the file's data or size
 * that has not yet been followed by an fsync or fdatasync of that file (through any of its descriptors): before
 * a write, truncate or fallocate reaches the backing file, the bytes it is about to overwrite and the file's
 * size are saved in the file's undo log. fsync/fdatasync of the file empties its log of the changes made before
 * the fsync began (each change has a global sequence number; the fsync notes the current one when it starts).
 *
 * The control file /.lazyfs-control at the mount root (not listed by readdir) drives it:
 *   write "crash"     the power cut: every file's undo log is applied, newest change first (old size back, old
 *                     bytes back), the backing files are fsynced, and from then on every operation except on the
 *                     control file (and getattr of the root) fails with EIO — nothing after the cut reaches the
 *                     backing directory, which is left as a disk would be after losing power.
 *   write "sync-all"  empties every undo log, as if every file had been fsynced (for test setup).
 *   write "fsync-delay <ms>"
 *                     a slow disk: from now on every fsync/fdatasync of a file waits <ms> milliseconds before it
 *                     returns ("fsync-delay 0", the default, turns it off). Other operations, on any file, go on
 *                     being served meanwhile. The fsync keeps (drops from the log) only the changes made before it
 *                     began: changes that arrive while it waits stay undoable. A crash while it waits makes it
 *                     fail with EIO, keeping nothing. A new delay applies to fsyncs already waiting too (counted
 *                     from their start), so "fsync-delay 0" lets them all return at once.
 *   write "fail-fsync" a failing disk: from now on every fsync/fdatasync of a file fails with EIO and keeps
 *                     nothing (writes still succeed, into the undo log, as into a page cache that cannot be
 *                     written back).
 *   read              "pending <files> <bytes>\n" — files with a non-empty log, bytes of old data saved — then
 *                     "fsync-delay <ms>\n", "fsyncs-in-flight <n>\n" (fsyncs of files begun and not yet
 *                     returned), and "crashed\n" after a crash.
 *
 * Threads: libfuse's multi-threaded loop; one mutex guards all the state (undo logs, sequence numbers, the crashed
 * flag, the delay) and every operation holds it while it works, so each write is recorded and made as one step.
 * Only an fsync's wait is done without it.
 *
 * Simplifications (the model is "file data and size are lost unless fsynced"):
 *   - Namespace operations — create, mkdir, unlink, rmdir, rename, link — are durable at once: after a crash a file
 *     created without an fsync exists, with the size it had at its last fsync (0 if never synced); a rename or
 *     unlink is never undone. Directory fsync is accepted and does nothing.
 *   - Metadata (mode, owner, times) is not rolled back.
 *   - Changes are kept in memory, including a copy of every overwritten byte range, until the file is synced.
 *   - Undo logs are keyed by the backing file's inode and hold a descriptor of their own on it, so they apply
 *     even to a file that was renamed or unlinked since (undoing an unlinked file's data changes nothing visible).
 *   - The backing directory must not be changed behind lazyfs's back while it is mounted.
 *
 * Kernel side: no writeback_cache, so every write(2) reaches lazyfs before it returns and an fsync reaches
 * lazyfs after the data it covers. Page-cache I/O (and so mmap MAP_SHARED, which SQLite uses for its -shm file)
 * works as usual; dirty mmap pages reach lazyfs as writes when the kernel writes them back (at the latest on
 * fsync or munmap/close). lock/flock are not implemented, so the kernel does POSIX and BSD locking locally.
 * Entry and attribute timeouts are 0 so that, after a crash, even stat(2) fails.
 * The kernel holds a file's inode lock during its fsync, and write(2), truncate and fallocate of that inode wait
 * for it; the high-level API gives every name its own inode, so a write through a hard link of the file (another
 * name, the same backing file) is what reaches lazyfs while the file's fsync waits.
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE

#include <fuse.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define CONTROL_PATH "/.lazyfs-control"
#define CONTROL_FH UINT64_MAX /* file handle of an open control file; real handles are backing fds */

/* One change to a file's data or size, with what it destroyed. */
struct change {
	struct change *older;
	uint64_t seq; /* when it was made: 1, 2, 3… across all files */
	off_t size;   /* the file's size before the change */
	off_t off;    /* where `data` was in the file */
	size_t len;   /* bytes saved: the part of the changed range that was below `size` */
	char data[];
};

/* A file with changes since its last fsync. */
struct pending {
	struct pending *next;
	dev_t dev;
	ino_t ino;
	int fd;                 /* our own descriptor of the backing file (a dup), open while the log is not empty */
	struct change *newest;  /* the undo log, newest change first */
	size_t bytes;           /* sum of the saved lengths */
};

static int backing = -1;           /* the backing directory; every path is resolved relative to it */
static struct pending *pendings;   /* every file with a non-empty undo log */
static int crashed;                /* after "crash", everything but the control file fails with EIO */
static uint64_t last_seq;          /* the sequence number of the latest change recorded */
static long fsync_delay_ms;        /* "fsync-delay": how long every fsync waits before it returns */
static int fsync_fails;            /* "fail-fsync": every fsync of a file answers EIO (a failing disk) */
static unsigned fsyncs_in_flight;  /* fsyncs begun and not yet returned */

/* Guards everything above (and the file table: the undo logs' descriptors). Held by every operation while it
   works; released only while an fsync waits, on `fsync_wake` (signalled when the delay changes or on the crash). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fsync_wake; /* on CLOCK_MONOTONIC: set up in main() */

/* "/a/b" -> "a/b" relative to `backing`; "/" -> ".". */
static const char *rel(const char *path)
{
	return path[1] ? path + 1 : ".";
}

static int is_control(const char *path, const struct fuse_file_info *fi)
{
	if (fi)
		return fi->fh == CONTROL_FH;
	return path && strcmp(path, CONTROL_PATH) == 0;
}

/* ---- undo logs ---- */

static struct pending **find_pending(const struct stat *st)
{
	struct pending **p;
	for (p = &pendings; *p; p = &(*p)->next)
		if ((*p)->dev == st->st_dev && (*p)->ino == st->st_ino)
			return p;
	return p; /* the terminating NULL link */
}

static void free_pending(struct pending **link)
{
	struct pending *p = *link;
	struct change *c, *older;
	for (c = p->newest; c; c = older) {
		older = c->older;
		free(c);
	}
	close(p->fd);
	*link = p->next;
	free(p);
}

/* Reads exactly len bytes at off (fewer only at end of file); -errno on error. */
static ssize_t pread_full(int fd, char *buf, size_t len, off_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, off + (off_t)done);
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int pwrite_full(int fd, const char *buf, size_t len, off_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(fd, buf + done, len - done, off + (off_t)done);
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/*
 * Called before a change to the backing file `fd` that may alter bytes [off, off+len) (len may reach past the end
 * of the file; len 0 for a change of size only): saves those bytes that exist and the file's size. `fd` must be
 * open for reading. Returns 0 or -errno (then the change must not be made).
 */
static int record(int fd, off_t off, size_t len)
{
	struct stat st;
	struct pending **link, *p;
	struct change *c;
	size_t keep = 0;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (off < st.st_size)
		keep = (size_t)(st.st_size - off) < len ? (size_t)(st.st_size - off) : len;
	c = malloc(sizeof *c + keep);
	if (!c)
		return -ENOMEM;
	c->size = st.st_size;
	c->off = off;
	n = pread_full(fd, c->data, keep, off);
	if (n < 0) {
		free(c);
		return (int)n;
	}
	c->len = (size_t)n;

	link = find_pending(&st);
	if (!*link) {
		p = calloc(1, sizeof *p);
		if (!p || (p->fd = dup(fd)) < 0) {
			int err = p ? -errno : -ENOMEM;
			free(p);
			free(c);
			return err;
		}
		p->dev = st.st_dev;
		p->ino = st.st_ino;
		*link = p;
	}
	p = *link;
	c->seq = ++last_seq;
	c->older = p->newest;
	p->newest = c;
	p->bytes += c->len;
	return 0;
}

/* The file behind `fd` is durable as it was after change `upto`: forget its changes up to that one. Later changes
   (newer in the log) stay; undoing them brings back the file as it was then. */
static void synced(int fd, uint64_t upto)
{
	struct stat st;
	struct pending **link, *p;
	struct change **cut, *c, *older;
	if (fstat(fd, &st) < 0 || !*(link = find_pending(&st)))
		return;
	p = *link;
	for (cut = &p->newest; *cut && (*cut)->seq > upto; cut = &(*cut)->older)
		;
	for (c = *cut; c; c = older) {
		older = c->older;
		p->bytes -= c->len;
		free(c);
	}
	*cut = NULL;
	if (!p->newest)
		free_pending(link);
}

/* The power cut: undo every unsynced change, newest first, and make the result durable. */
static void crash(void)
{
	while (pendings) {
		struct pending *p = pendings;
		struct change *c;
		for (c = p->newest; c; c = c->older) {
			/* Back to the size before the change (cutting what it appended, or re-growing what it cut), then
			   the bytes it overwrote, which all lie below that size. */
			if (ftruncate(p->fd, c->size) < 0 || pwrite_full(p->fd, c->data, c->len, c->off) < 0)
				fprintf(stderr, "lazyfs: undo failed for inode %lu: %s\n", (unsigned long)p->ino, strerror(errno));
		}
		if (fsync(p->fd) < 0)
			fprintf(stderr, "lazyfs: fsync failed for inode %lu: %s\n", (unsigned long)p->ino, strerror(errno));
		free_pending(&pendings);
	}
	crashed = 1;
	pthread_cond_broadcast(&fsync_wake); /* fsyncs waiting now fail */
}

/* ---- the control file ---- */

static int control_text(char *buf, size_t size)
{
	size_t files = 0, bytes = 0;
	struct pending *p;
	for (p = pendings; p; p = p->next) {
		files++;
		bytes += p->bytes;
	}
	return snprintf(buf, size, "pending %zu %zu\nfsync-delay %ld\nfsyncs-in-flight %u\n%s", files, bytes,
			fsync_delay_ms, fsyncs_in_flight, crashed ? "crashed\n" : "");
}

/* "fsync-delay <ms>": 0 to 3600000 (an hour), in decimal digits. */
static int set_fsync_delay(const char *digits, size_t size)
{
	long ms = 0;
	size_t i;
	if (size == 0 || size > 7)
		return -EINVAL;
	for (i = 0; i < size; i++) {
		if (digits[i] < '0' || digits[i] > '9')
			return -EINVAL;
		ms = ms * 10 + (digits[i] - '0');
	}
	if (ms > 3600000)
		return -EINVAL;
	fsync_delay_ms = ms;
	pthread_cond_broadcast(&fsync_wake); /* waiting fsyncs recompute their deadline */
	return 0;
}

static int control_write(const char *buf, size_t size)
{
	while (size > 0 && (buf[size - 1] == '\n' || buf[size - 1] == ' '))
		size--;
	if (size == 5 && memcmp(buf, "crash", 5) == 0) {
		if (!crashed)
			crash();
		return 0;
	}
	if (size == 8 && memcmp(buf, "sync-all", 8) == 0) {
		if (crashed)
			return -EIO;
		while (pendings)
			free_pending(&pendings);
		return 0;
	}
	if (size > 12 && memcmp(buf, "fsync-delay ", 12) == 0)
		return set_fsync_delay(buf + 12, size - 12);
	if (size == 10 && memcmp(buf, "fail-fsync", 10) == 0) {
		fsync_fails = 1;
		return 0;
	}
	return -EINVAL;
}

/* ---- file system operations (do_*: called with the lock held, see the lfs_* wrappers at the end) ---- */

/* Flags for opening the backing file: always readable (record() reads what a write overwrites); no O_TRUNC
   (done through record() instead), no O_APPEND (the kernel supplies the offset of every write), no O_DIRECT
   (buffers from FUSE are not aligned). */
static int backing_flags(int flags)
{
	flags &= ~(O_TRUNC | O_APPEND | O_DIRECT);
	if ((flags & O_ACCMODE) == O_WRONLY)
		flags = (flags & ~O_ACCMODE) | O_RDWR;
	return flags;
}

/* Truncates `fd` to `size`, with undo. */
static int truncate_fd(int fd, off_t size)
{
	int err = record(fd, size, SIZE_MAX);
	if (err)
		return err;
	return ftruncate(fd, size) < 0 ? -errno : 0;
}

static void *lfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE; /* off by default; never let the kernel hold back writes */
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->hard_remove = 1; /* unlink at once instead of renaming open files to .fuse_hidden* */
	return NULL;
}

static int do_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	if (is_control(path, fi)) {
		memset(st, 0, sizeof *st);
		st->st_mode = S_IFREG | 0666;
		st->st_nlink = 1;
		st->st_uid = getuid();
		st->st_gid = getgid();
		clock_gettime(CLOCK_REALTIME, &st->st_mtim);
		st->st_atim = st->st_ctim = st->st_mtim;
		return 0;
	}
	if (crashed && !(path && strcmp(path, "/") == 0))
		return -EIO;
	if (fi)
		return fstat((int)fi->fh, st) < 0 ? -errno : 0;
	return fstatat(backing, rel(path), st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int do_access(const char *path, int mask)
{
	if (is_control(path, NULL))
		return 0;
	if (crashed)
		return -EIO;
	return faccessat(backing, rel(path), mask, 0) < 0 ? -errno : 0;
}

static int do_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	DIR *dir;
	struct dirent *e;
	int fd;
	(void)off;
	(void)fi;
	(void)flags;
	if (crashed)
		return -EIO;
	if (!path)
		return -ENOENT; /* a directory removed while open */
	fd = openat(backing, rel(path), O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		int err = -errno;
		close(fd);
		return err;
	}
	while ((e = readdir(dir))) {
		struct stat st = { .st_ino = e->d_ino, .st_mode = (mode_t)DTTOIF(e->d_type) };
		if (fill(buf, e->d_name, &st, 0, 0))
			break;
	}
	closedir(dir);
	return 0;
}

static int do_mkdir(const char *path, mode_t mode)
{
	if (crashed)
		return -EIO;
	return mkdirat(backing, rel(path), mode) < 0 ? -errno : 0;
}

static int do_rmdir(const char *path)
{
	if (crashed)
		return -EIO;
	return unlinkat(backing, rel(path), AT_REMOVEDIR) < 0 ? -errno : 0;
}

static int do_unlink(const char *path)
{
	if (is_control(path, NULL))
		return -EPERM;
	if (crashed)
		return -EIO;
	return unlinkat(backing, rel(path), 0) < 0 ? -errno : 0;
}

static int do_rename(const char *from, const char *to, unsigned int flags)
{
	if (is_control(from, NULL) || is_control(to, NULL))
		return -EPERM;
	if (crashed)
		return -EIO;
	if (flags)
		return -EINVAL; /* RENAME_NOREPLACE / RENAME_EXCHANGE: not needed */
	return renameat(backing, rel(from), backing, rel(to)) < 0 ? -errno : 0;
}

static int do_link(const char *from, const char *to)
{
	if (is_control(from, NULL) || is_control(to, NULL))
		return -EPERM;
	if (crashed)
		return -EIO;
	return linkat(backing, rel(from), backing, rel(to), 0) < 0 ? -errno : 0;
}

/* Opens the backing file for open and create (`extra`: O_CREAT or 0); O_TRUNC goes through the undo log. */
static int open_backing(const char *path, int extra, mode_t mode, struct fuse_file_info *fi)
{
	int fd, err;
	if (crashed)
		return -EIO;
	fd = openat(backing, rel(path), backing_flags(fi->flags) | extra, mode);
	if (fd < 0)
		return -errno;
	if ((fi->flags & O_TRUNC) && (err = truncate_fd(fd, 0))) {
		close(fd);
		return err;
	}
	fi->fh = (uint64_t)fd;
	return 0;
}

static int do_open(const char *path, struct fuse_file_info *fi)
{
	if (is_control(path, NULL)) {
		fi->fh = CONTROL_FH;
		fi->direct_io = 1; /* no page cache: reads are not limited by its size of 0, writes come straight here */
		return 0;
	}
	return open_backing(path, 0, 0, fi);
}

static int do_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	if (is_control(path, NULL))
		return -EPERM;
	return open_backing(path, O_CREAT, mode, fi);
}

static int do_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n;
	(void)path;
	if (is_control(NULL, fi)) {
		char text[256];
		int len = control_text(text, sizeof text);
		if (off >= len)
			return 0;
		n = len - off < (off_t)size ? len - off : (off_t)size;
		memcpy(buf, text + off, (size_t)n);
		return (int)n;
	}
	if (crashed)
		return -EIO;
	n = pread((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int do_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n;
	int err;
	(void)path;
	if (is_control(NULL, fi))
		return (err = control_write(buf, size)) ? err : (int)size;
	if (crashed)
		return -EIO;
	if ((err = record((int)fi->fh, off, size)))
		return err;
	n = pwrite((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int do_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	int fd, err;
	if (is_control(path, fi))
		return 0; /* open(O_TRUNC) of the control file */
	if (crashed)
		return -EIO;
	if (fi)
		return truncate_fd((int)fi->fh, size);
	fd = openat(backing, rel(path), O_RDWR);
	if (fd < 0)
		return -errno;
	err = truncate_fd(fd, size);
	close(fd);
	return err;
}

static int do_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	int fd = (int)fi->fh, err;
	(void)path;
	if (is_control(NULL, fi))
		return -EOPNOTSUPP;
	if (crashed)
		return -EIO;
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP; /* collapse/insert range move data around: not needed */
	/* Plain allocation changes at most the size; punching or zeroing also destroys the range's bytes. */
	err = record(fd, off, (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) ? (size_t)len : 0);
	if (err)
		return err;
	return fallocate(fd, mode, off, len) < 0 ? -errno : 0;
}

/* ts + ms milliseconds */
static struct timespec plus_ms(struct timespec ts, long ms)
{
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static int before(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* Not wrapped in LOCKED: it takes the lock itself, and waits (the slow disk) without it. */
static int lfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct timespec start, now, deadline;
	uint64_t upto;
	int err = 0;
	(void)path;
	(void)datasync;
	if (is_control(NULL, fi))
		return 0;
	pthread_mutex_lock(&lock);
	if (crashed || fsync_fails) {
		err = -EIO; /* a failing disk keeps nothing of what it was asked to flush */
		goto out;
	}
	/* What the fsync covers: the changes made before it began (the kernel sends it once the writes it covers have
	   reached us). */
	upto = last_seq;
	fsyncs_in_flight++;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		/* The delay is read again at every wake-up: a new one applies to this fsync too. */
		deadline = plus_ms(start, fsync_delay_ms);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (crashed || !before(now, deadline))
			break;
		pthread_cond_timedwait(&fsync_wake, &lock, &deadline); /* unlocks while it waits */
	}
	fsyncs_in_flight--;
	if (crashed) {
		err = -EIO; /* the power went while the disk was still writing: nothing is known to be durable */
		goto out;
	}
	/* Durable from now on. (The backing file itself is not fsynced: only a real power cut would need that, and
	   the simulated one makes its result durable in crash().) */
	synced((int)fi->fh, upto);
out:
	pthread_mutex_unlock(&lock);
	return err;
}

static int do_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	if (is_control(NULL, fi))
		return 0;
	return crashed ? -EIO : 0;
}

static int do_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	if (!is_control(NULL, fi))
		close((int)fi->fh); /* even after a crash: the undo logs hold descriptors of their own */
	return 0;
}

static int do_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	if (is_control(path, fi))
		return 0;
	if (crashed)
		return -EIO;
	if (fi)
		return futimens((int)fi->fh, tv) < 0 ? -errno : 0;
	return utimensat(backing, rel(path), tv, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int do_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	if (is_control(path, fi))
		return 0;
	if (crashed)
		return -EIO;
	if (fi)
		return fchmod((int)fi->fh, mode) < 0 ? -errno : 0;
	return fchmodat(backing, rel(path), mode, 0) < 0 ? -errno : 0;
}

static int do_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	if (is_control(path, fi))
		return 0;
	if (crashed)
		return -EIO;
	if (fi)
		return fchown((int)fi->fh, uid, gid) < 0 ? -errno : 0;
	return fchownat(backing, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int do_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	if (crashed)
		return -EIO;
	return fstatvfs(backing, st) < 0 ? -errno : 0;
}

/* ---- the operations as libfuse calls them, from any of its threads: each one under the lock ---- */

#define LOCKED(call)                               \
	do {                                       \
		int ret_;                          \
		pthread_mutex_lock(&lock);         \
		ret_ = (call);                     \
		pthread_mutex_unlock(&lock);       \
		return ret_;                       \
	} while (0)

static int lfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	LOCKED(do_getattr(path, st, fi));
}
static int lfs_access(const char *path, int mask) { LOCKED(do_access(path, mask)); }
static int lfs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
		       enum fuse_readdir_flags flags)
{
	LOCKED(do_readdir(path, buf, fill, off, fi, flags));
}
static int lfs_mkdir(const char *path, mode_t mode) { LOCKED(do_mkdir(path, mode)); }
static int lfs_rmdir(const char *path) { LOCKED(do_rmdir(path)); }
static int lfs_unlink(const char *path) { LOCKED(do_unlink(path)); }
static int lfs_rename(const char *from, const char *to, unsigned int flags) { LOCKED(do_rename(from, to, flags)); }
static int lfs_link(const char *from, const char *to) { LOCKED(do_link(from, to)); }
static int lfs_open(const char *path, struct fuse_file_info *fi) { LOCKED(do_open(path, fi)); }
static int lfs_create(const char *path, mode_t mode, struct fuse_file_info *fi) { LOCKED(do_create(path, mode, fi)); }
static int lfs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	LOCKED(do_read(path, buf, size, off, fi));
}
static int lfs_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	LOCKED(do_write(path, buf, size, off, fi));
}
static int lfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	LOCKED(do_truncate(path, size, fi));
}
static int lfs_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	LOCKED(do_fallocate(path, mode, off, len, fi));
}
static int lfs_flush(const char *path, struct fuse_file_info *fi) { LOCKED(do_flush(path, fi)); }
static int lfs_release(const char *path, struct fuse_file_info *fi) { LOCKED(do_release(path, fi)); }
static int lfs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	LOCKED(do_utimens(path, tv, fi));
}
static int lfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) { LOCKED(do_chmod(path, mode, fi)); }
static int lfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	LOCKED(do_chown(path, uid, gid, fi));
}
static int lfs_statfs(const char *path, struct statvfs *st) { LOCKED(do_statfs(path, st)); }

static const struct fuse_operations ops = {
	.init = lfs_init,
	.getattr = lfs_getattr,
	.access = lfs_access,
	.readdir = lfs_readdir,
	.mkdir = lfs_mkdir,
	.rmdir = lfs_rmdir,
	.unlink = lfs_unlink,
	.rename = lfs_rename,
	.link = lfs_link,
	.open = lfs_open,
	.create = lfs_create,
	.read = lfs_read,
	.write = lfs_write,
	.truncate = lfs_truncate,
	.fallocate = lfs_fallocate,
	.fsync = lfs_fsync,
	.flush = lfs_flush,
	.release = lfs_release,
	.utimens = lfs_utimens,
	.chmod = lfs_chmod,
	.chown = lfs_chown,
	.statfs = lfs_statfs,
	/* no .lock / .flock: the kernel keeps locks locally, which is what SQLite needs */
};

int main(int argc, char *argv[])
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s <backing-dir> <mountpoint> [fuse options]\n", argv[0]);
		return 2;
	}
	{
		pthread_condattr_t attr;
		if (pthread_condattr_init(&attr) || pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) ||
		    pthread_cond_init(&fsync_wake, &attr)) {
			fprintf(stderr, "lazyfs: cannot set up the fsync condition variable\n");
			return 1;
		}
		pthread_condattr_destroy(&attr);
	}
	backing = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (backing < 0) {
		perror(argv[1]);
		return 1;
	}
	/* fuse_main sees: argv[0] <mountpoint> [fuse options] */
	argv[1] = argv[0];
	return fuse_main(argc - 1, argv + 1, &ops, NULL);
}
