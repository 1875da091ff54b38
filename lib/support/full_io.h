/* full_io.h - all of a buffer through read(2) and write(2), which may move less than asked.
 *
 * A pipe or a socket hands over what fits or what is there: write() may take part of a
 * buffer (a signal, a nearly full pipe, a socket's send buffer), read() returns what has
 * arrived so far.  Both may also fail with EINTR before moving anything.  These loops carry
 * on until the whole buffer has moved, end of file, or a real error:
 *
 *   write_fully(fd, buf, len)   0, or -1 with errno set (EPIPE: the reader is gone)
 *   read_fully(fd, buf, len)    the bytes read: len, or fewer at end of file; -1 with errno
 *   write_all / read_all        the same, but a failure ends the process (die, error.h)
 *   close_or_die(fd)            close(2), checked: a failed close can mean lost data (NFS,
 *                               a full disk) or a descriptor already closed by mistake
 *   flush_or_die(stream)        fflush(3), checked: buffered output that cannot be written
 *   fclose_or_die(stream)       fclose(3), checked, for the same reasons as close
 */
#ifndef FORKLORE_FULL_IO_H
#define FORKLORE_FULL_IO_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

int write_fully(int fd, const void *buf, size_t len);
ssize_t read_fully(int fd, void *buf, size_t len);
void write_all(int fd, const void *buf, size_t len);
size_t read_all(int fd, void *buf, size_t len);
void close_or_die(int fd);
void flush_or_die(FILE *stream);
void fclose_or_die(FILE *stream);

#endif
