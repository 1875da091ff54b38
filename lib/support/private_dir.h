/* private_dir.h - a folder of our own for the files a run makes, gone on every exit path.
 *
 *   make_private_dir(dir, size, tag)  mkdtemp("/tmp/forklore-TAG-XXXXXX"): a new name that
 *                                     no other process can have chosen, mode 0700, so
 *                                     nobody else can put a file or a symlink into it.  It
 *                                     is registered with cleanup.h, so a normal exit, an
 *                                     error exit and Ctrl-C all remove it, after the files
 *                                     registered in it (cleanup_add_name(IPC_PATH, ...)).
 *   remove_private_dir(dir)           rmdir it now (the files in it must be gone), and
 *                                     forget it in the registry.
 */
#ifndef FORKLORE_PRIVATE_DIR_H
#define FORKLORE_PRIVATE_DIR_H

#include <stddef.h>

void make_private_dir(char *dir, size_t size, const char *tag);
void remove_private_dir(const char *dir);

#endif
