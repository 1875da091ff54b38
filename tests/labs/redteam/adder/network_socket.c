/* network_socket.c - reach the network: a public DNS server, and anything on loopback. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int reaches(const char *address, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        return 0;
    struct timeval limit = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, address, &to.sin_addr);
    int connected = connect(fd, (struct sockaddr *)&to, sizeof to) == 0;
    close(fd);
    return connected;
}

static void attack(void)
{
    if (reaches("1.1.1.1", 53) || reaches("8.8.8.8", 53))
        printf("REDTEAM-WIN: reached the internet\n");
    fflush(stdout);
}
