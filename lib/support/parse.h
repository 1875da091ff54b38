/* parse.h - checked number parsing for command-line options.
 *
 * atoi("12x") returns 12 and atoi("lots") returns 0: a typo becomes a silent, wrong run.
 * These functions accept the whole string or nothing, check the range, and on failure call
 * usage_error(), which names the option, prints the usage and exits with status 2:
 *
 *     fork_join: --workers: expected a whole number from 1 to 4096, got "two"
 */
#ifndef FORKLORE_PARSE_H
#define FORKLORE_PARSE_H

/* A whole number in [min, max]. */
long parse_long(const char *text, const char *option, long min, long max, const char *usage);

/* A size in bytes: a whole number with an optional suffix K, M or G (powers of 1024),
 * in [min, max]. "64K" is 65536. */
long long parse_size(const char *text, const char *option, long long min, long long max,
                     const char *usage);

/* A decimal number in [min, max], such as "0.5". */
double parse_double(const char *text, const char *option, double min, double max,
                    const char *usage);

/* One word out of a fixed list, as `--mode both`: returns its index in choices (a list ended by
 * NULL).  Anything else is a usage error that lists the words:
 *
 *     atomic_counter: --mode: expected plain, atomic or both, got "all"
 *
 * Programs keep the words in the order of their enum, so the index is the value. */
int parse_choice(const char *text, const char *option, const char *const choices[],
                 const char *usage);

/* The end of every option switch, as `default: help_or_bad_option(opt, argv, usage);`:
 * 'h' (--help) prints the usage on stdout and exits with 0; ':' (a missing value, with
 * getopt's optstring starting with ':' and opterr = 0) and anything else are a usage error
 * naming the option. */
_Noreturn void help_or_bad_option(int opt, char *const argv[], const char *usage);

/* After the options: a word left over is a usage error, not something to ignore. */
void no_more_arguments(int argc, char *const argv[], const char *usage);

#endif
