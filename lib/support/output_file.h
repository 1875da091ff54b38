/* output_file.h - write a file named on the command line without harming what is already there.
 *
 * A program told "write your results to PATH" must not assume PATH is a plain file.  Writing a
 * temporary file and renaming it over PATH makes a reader never see half a file, but a rename
 * replaces whatever name it lands on: given /dev/null, as root, it would swap the machine's
 * character device for a regular file (forklore's own grader once did exactly that).  So:
 *
 *   PATH absent, or a regular file   a new file PATH.XXXXXX is made beside it with mkstemp
 *                                     (O_EXCL, mode 0600, then the usual 0644 less the umask)
 *                                     and renamed over PATH when complete: all or nothing.
 *   a character device or a FIFO     opened and written in place (/dev/null, /dev/stdout, a
 *                                     FIFO a test reads); never created, truncated or removed.
 *   a symbolic link                  refused (ELOOP): following it would write wherever its
 *                                     owner chose, which is how a planted link attacks root.
 *   a directory, a socket, ...       refused (EISDIR, EINVAL).
 *
 * Python counterpart: none in the standard library; `tempfile.NamedTemporaryFile(dir=...,
 * delete=False)` + `os.replace` is the usual recipe, and it has the same device hazard.
 */
#ifndef FORKLORE_OUTPUT_FILE_H
#define FORKLORE_OUTPUT_FILE_H

#include <stdio.h>

struct output_file {
    FILE *stream;    /* write here */
    char *path;      /* what the caller asked for */
    char *temp_path; /* the file being written, renamed to path by commit; NULL in place */
};

/* Open path for writing by the rules above.  Returns 0, or -1 with errno set (ELOOP for a
 * symbolic link, EISDIR for a directory, EINVAL for another kind of file, or what the calls
 * said).  The caller writes to out->stream, then calls output_file_commit or _abandon. */
int output_file_open(struct output_file *out, const char *path);

/* Flush and close; rename the temporary into place.  Returns 0, or -1 with errno set (a full
 * disk shows here), in which case the temporary is removed and path is left as it was. */
int output_file_commit(struct output_file *out);

/* Close and remove the temporary: path is left as it was. */
void output_file_abandon(struct output_file *out);

/* For files a program writes inside a folder of its own, where all-or-nothing does not matter:
 * the same refusals (a link, a directory, another user's file), but a regular file is created
 * or truncated in place rather than replaced.  Returns the stream, or NULL with errno set. */
FILE *output_stream_open(const char *path);

/* A folder a program is told to write into must be a folder itself: a symbolic link to one
 * would send the files wherever its owner chose.  Returns 0, or -1 with errno set (ELOOP for
 * a link, ENOTDIR for anything else, or what lstat said). */
int output_folder_check(const char *path);

/* Why output_file_open refused, in words, for the one-line message
 * "cannot write PATH: REASON" ("it is a symbolic link ...", or strerror's text). */
const char *output_file_reason(int err);

#endif
