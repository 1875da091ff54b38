/* test_lessons.c - the lessons quote the code as it is.
 *
 * A lesson explains code by quoting it in ```c blocks.  When the code changes and the quote
 * does not, the lesson teaches something the program no longer does, and no other test
 * notices.  So every ```c block in lessons/ must appear in some source file under patterns/,
 * lib/, tools/ or bench/: its lines, in order and next to each other (blank lines and the
 * indentation and the width of the spaces inside a line aside).
 * A line "..." (or a comment holding only "...") marks a gap: the pieces around it must appear
 * in the same file, in that order.  A block that is a sketch, not a quote, says so on the line
 * before it with the comment <!-- sketch: not a quote -->.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FORKLORE_ROOT
#error "FORKLORE_ROOT (the top of the tree) is set by the Makefile"
#endif

enum { MAX_FILES = 512, MAX_LINES = 8192 };

struct text {
    char path[256];
    char *lines[MAX_LINES]; /* trimmed, blank lines left out */
    int count;
};

static struct text sources[MAX_FILES];
static int nsources;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    /* A run of spaces inside the line counts as one: clang-format realigns trailing comments
     * and initialisers, and a quote should not go stale for that. */
    char *to = s;
    for (const char *from = s; *from; from++)
        if (!((*from == ' ' || *from == '\t') && to > s && to[-1] == ' '))
            *to++ = *from == '\t' ? ' ' : *from;
    *to = '\0';
    return s;
}

static void load(struct text *t, const char *path)
{
    snprintf(t->path, sizeof t->path, "%s", path);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot read %s", path);
    char line[4096];
    while (fgets(line, sizeof line, f) && t->count < MAX_LINES) {
        char *s = trim(line);
        if (*s)
            t->lines[t->count++] = strdup(s);
    }
    fclose(f);
}

static void load_sources(void)
{
    const char *patterns[] = {FORKLORE_ROOT "/patterns/*/*.[ch]", FORKLORE_ROOT "/lib/*/*.[ch]",
                              FORKLORE_ROOT "/tools/*.c", FORKLORE_ROOT "/bench/*.[ch]",
                              FORKLORE_ROOT "/bench/workloads/*.c"};
    for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
        glob_t g;
        if (glob(patterns[p], 0, NULL, &g) != 0)
            continue;
        for (size_t i = 0; i < g.gl_pathc && nsources < MAX_FILES; i++)
            load(&sources[nsources++], g.gl_pathv[i]);
        globfree(&g);
    }
    cr_assert_gt(nsources, 10, "the sources were found under %s", FORKLORE_ROOT);
}

static int is_gap(const char *s)
{
    return strcmp(s, "...") == 0 || strcmp(s, "/* ... */") == 0 || strcmp(s, "// ...") == 0;
}

/* Does `block` (trimmed, non-blank lines, gaps included) appear in `t`? */
static int appears_in(const struct text *t, char **block, int n)
{
    int from = 0, i = 0;
    while (i < n) {
        if (is_gap(block[i])) {
            i++;
            continue;
        }
        int len = 0;
        while (i + len < n && !is_gap(block[i + len]))
            len++;
        int found = -1;
        for (int k = from; k + len <= t->count && found < 0; k++) {
            int same = 1;
            for (int j = 0; j < len && same; j++)
                same = strcmp(t->lines[k + j], block[i + j]) == 0;
            if (same)
                found = k;
        }
        if (found < 0)
            return 0;
        from = found + len;
        i += len;
    }
    return 1;
}

Test(lessons, every_quoted_c_block_is_in_the_code_it_quotes)
{
    load_sources();
    glob_t g;
    cr_assert_eq(glob(FORKLORE_ROOT "/lessons/*.md", 0, NULL, &g), 0, "no lessons found");
    int blocks = 0, stale = 0;
    for (size_t l = 0; l < g.gl_pathc; l++) {
        FILE *f = fopen(g.gl_pathv[l], "r");
        cr_assert_not_null(f);
        char line[4096], previous[4096] = "";
        int number = 0, in_block = 0, sketch = 0, start = 0;
        char *block[512];
        int n = 0;
        while (fgets(line, sizeof line, f)) {
            number++;
            char *s = trim(line);
            if (!in_block && strncmp(s, "```c", 4) == 0 && (s[4] == '\0' || s[4] == ' ')) {
                in_block = 1;
                sketch = strstr(previous, "<!-- sketch: not a quote -->") != NULL;
                start = number;
                n = 0;
            } else if (in_block && strncmp(s, "```", 3) == 0) {
                in_block = 0;
                if (sketch || n == 0)
                    continue;
                blocks++;
                int found = 0;
                for (int i = 0; i < nsources && !found; i++)
                    found = appears_in(&sources[i], block, n);
                if (!found) {
                    stale++;
                    cr_log_error("%s:%d: this quote is in no source file: %s", g.gl_pathv[l],
                                 start, block[0]);
                }
                for (int i = 0; i < n; i++)
                    free(block[i]);
            } else if (in_block && *s && n < 512) {
                block[n++] = strdup(s);
            }
            if (*s)
                snprintf(previous, sizeof previous, "%s", s);
        }
        fclose(f);
    }
    globfree(&g);
    cr_assert_gt(blocks, 20, "the lessons quote code");
    cr_assert_eq(stale, 0, "%d of %d quoted blocks no longer match the code (listed above)",
                 stale, blocks);
}
