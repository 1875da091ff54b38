/* private_dir.h - a new folder only this user can enter, for a program's temporary files.
 *
 * A file at a predictable name in a world-writable folder ("/tmp/forklore-demo.fifo") can be
 * planted by anyone before the program makes it: a symbolic link there turns a root program's
 * write into a write wherever the link points.  mkdtemp(3) makes a folder with a random name and
 * mode 0700, atomically, failing rather than reusing one that exists: what the program then
 * makes inside it can only be its own.  The folder goes in $TMPDIR when that names a folder
 * (the convention mkstemp users, Python's tempfile and the test runner follow), else in /tmp.
 *
 * Python counterpart: tempfile.mkdtemp(prefix="forklore-TAG-").
 */
#ifndef FORKLORE_PRIVATE_DIR_H
#define FORKLORE_PRIVATE_DIR_H

#include <stddef.h>

/* The folder temporary folders go in: $TMPDIR if it is an absolute path, else "/tmp". */
const char *temp_root(void);

/* Make TEMP_ROOT/forklore-TAG-PID-XXXXXX (mode 0700) and write its path into dir.  The pid
 * tells a leftover folder's maker, as unique_ipc_name's does for IPC names (so a test can find
 * folders whose maker has died).  Returns 0, or -1 with errno set (ENAMETOOLONG when dir is too
 * small). */
int make_private_dir(char *dir, size_t size, const char *tag);

#endif
