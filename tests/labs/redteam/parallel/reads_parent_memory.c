/* reads_parent_memory.c - appended to the parallel lab's starter code: a constructor that tries
 * to read the memory of its parent, the test program that holds the pass token, through
 * /proc/PARENT/mem and process_vm_readv, looking for the token (32 hex digits) to forge a
 * verdict with.  The test program is not dumpable and runs as another process than this one,
 * so both reads must fail; it says "REDTEAM-WIN" when either worked. */
#include <sys/uio.h>

__attribute__((constructor)) static void read_parent(void)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)getppid());
    FILE *maps = fopen(path, "r");
    snprintf(path, sizeof path, "/proc/%d/mem", (int)getppid());
    int mem = open(path, O_RDONLY);
    while (maps && fgets(line, sizeof line, maps)) {
        unsigned long low, high;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &low, &high, perms) != 3 || perms[0] != 'r')
            continue;
        char byte;
        struct iovec mine = {&byte, 1}, theirs = {(void *)low, 1};
        if (process_vm_readv(getppid(), &mine, 1, &theirs, 1, 0) == 1 ||
            (mem != -1 && pread(mem, &byte, 1, (off_t)low) == 1)) {
            fprintf(stderr, "REDTEAM-WIN: read the test program's memory at %lx\n", low);
            break;
        }
    }
    if (maps)
        fclose(maps);
    if (mem != -1)
        close(mem);
}
