/* poisons_dev_shm.c - leave a shared memory object and a named semaphore in /dev/shm for the
 * next test (or the next student) to trip over; say so if one from an earlier run is there. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/mman.h>

static void attack(void)
{
    int fd = shm_open("/redteam-poison", O_CREAT | O_EXCL | O_RDWR, 0666);
    if (fd == -1 && errno == EEXIST)
        printf("REDTEAM-WIN: the poison of an earlier run is still there\n");
    sem_t *sem = sem_open("/redteam-semaphore", O_CREAT, 0666, 0);
    if (sem != SEM_FAILED)
        sem_close(sem);
    fflush(stdout);
}
