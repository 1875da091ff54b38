/* parse.c - see parse.h. */
#include "support/parse.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/error.h"

/* strtol and strtod skip leading blanks (" 3" is 3), and strtod reads hexadecimal ("0x10" is
 * 16): neither is what a user means on a command line, so a number must start with a digit,
 * a sign or a point, and contain no x. */
static int plain_number_text(const char *text)
{
    const char *p = text;
    if (*p == '-' || *p == '+')
        p++;
    if (!((*p >= '0' && *p <= '9') || *p == '.'))
        return 0;
    for (; *p; p++)
        if (*p == 'x' || *p == 'X')
            return 0;
    return 1;
}

long parse_long(const char *text, const char *option, long min, long max, const char *usage)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (!plain_number_text(text) || errno != 0 || end == text || *end != '\0' || value < min ||
        value > max)
        usage_error(usage, "%s: expected a whole number from %ld to %ld, got \"%s\"", option, min,
                    max, text);
    return value;
}

long long parse_size(const char *text, const char *option, long long min, long long max,
                     const char *usage)
{
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    int shift = 0;
    switch (*end) {
    case 'K':
    case 'k':
        shift = 10;
        end++;
        break;
    case 'M':
    case 'm':
        shift = 20;
        end++;
        break;
    case 'G':
    case 'g':
        shift = 30;
        end++;
        break;
    default: break;
    }
    int bad = !plain_number_text(text) || errno != 0 || end == text || *end != '\0' || value < 0 ||
              value > (LLONG_MAX >> shift);
    if (!bad)
        value <<= shift;
    if (bad || value < min || value > max)
        usage_error(usage,
                    "%s: expected a size from %lld to %lld bytes (suffix K, M or G "
                    "allowed), got \"%s\"",
                    option, min, max, text);
    return value;
}

double parse_double(const char *text, const char *option, double min, double max, const char *usage)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (!plain_number_text(text) || errno != 0 || end == text || *end != '\0' || !isfinite(value) ||
        value < min || value > max)
        usage_error(usage, "%s: expected a number from %g to %g, got \"%s\"", option, min, max,
                    text);
    return value;
}

int parse_choice(const char *text, const char *option, const char *const choices[],
                 const char *usage)
{
    int count = 0;
    for (; choices[count] != NULL; count++)
        if (strcmp(text, choices[count]) == 0)
            return count;
    /* "a, b or c": the list the reader can choose from, built from the same table. */
    char expected[512] = "";
    size_t used = 0;
    for (int i = 0; i < count && used < sizeof expected; i++) {
        const char *glue = i == 0 ? "" : i == count - 1 ? " or " : ", ";
        int n = snprintf(expected + used, sizeof expected - used, "%s%s", glue, choices[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    usage_error(usage, "%s: expected %s, got \"%s\"", option, expected, text);
}

_Noreturn void help_or_bad_option(int opt, char *const argv[], const char *usage)
{
    if (opt == 'h') { /* asked for: the usage goes to stdout, and it is a success */
        if (fputs(usage, stdout) == EOF || fflush(stdout) == EOF)
            die("stdout");
        exit(EXIT_SUCCESS);
    }
    if (opt == ':')
        usage_error(usage, "option %s needs a value", argv[optind - 1]);
    usage_error(usage, "unknown option %s", argv[optind - 1]);
}

void no_more_arguments(int argc, char *const argv[], const char *usage)
{
    if (optind < argc)
        usage_error(usage, "unexpected argument \"%s\"", argv[optind]);
}
