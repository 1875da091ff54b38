/* test_lessons.c - the lessons quote the code as it is.
 *
 * A lesson explains code by quoting it in ```c blocks.  When the code changes and the quote
 * does not, the lesson teaches something the program no longer does, and no other test
 * notices.  So every ```c block in lessons/ must appear in some source file under patterns/,
 * lib/, tools/, bench/ or lessons/examples/ (the bare programs a lesson opens with): its
 * lines, in order and next to each other (blank lines, the indentation and the width of the
 * spaces inside a line aside).
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
#include <unistd.h>

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
    const char *patterns[] = {
        FORKLORE_ROOT "/patterns/*/*.[ch]",   FORKLORE_ROOT "/lib/*/*.[ch]",
        FORKLORE_ROOT "/tools/*.c",           FORKLORE_ROOT "/bench/*.[ch]",
        FORKLORE_ROOT "/bench/workloads/*.c", FORKLORE_ROOT "/lessons/examples/*.c"};
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
                    cr_log_error("%s:%d: this quote is in no source file: %s", g.gl_pathv[l], start,
                                 block[0]);
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
    cr_assert_eq(stale, 0, "%d of %d quoted blocks no longer match the code (listed above)", stale,
                 blocks);
}

/* --- the figures ---------------------------------------------------------------------------
 * A lesson shows a figure with ![caption](figures/NAME.svg) (or .png).  A missing file, or one
 * that a browser would refuse, is a broken picture on the page, and nothing else notices. */

/* The whole of a file, NUL-terminated; NULL when it cannot be read.  *size gets its length. */
static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    cr_assert_not_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            cr_assert_not_null(buf);
        }
    }
    fclose(f);
    buf[n] = '\0';
    *size = n;
    return buf;
}

/* Is this well-formed XML whose root element is an SVG <svg> in the SVG namespace?  Tags must
 * nest and close; comments, <?...?> and <!...> are skipped; attribute values may hold '>'. */
static const char *svg_problem(const char *text)
{
    char stack[64][48];
    int depth = 0, roots = 0;
    const char *p = text;
    while ((p = strchr(p, '<')) != NULL) {
        if (strncmp(p, "<!--", 4) == 0) {
            const char *end = strstr(p + 4, "--");
            if (!end)
                return "an unclosed comment";
            if (end[2] != '>')
                return "a comment holding \"--\", which XML forbids";
            p = end + 3;
            continue;
        }
        if (p[1] == '?' || p[1] == '!') {
            p = strchr(p, '>');
            if (!p)
                return "an unclosed declaration";
            continue;
        }
        int closing = p[1] == '/';
        const char *name = p + 1 + closing, *end = name;
        while (*end && !strchr(" \t\r\n/>", *end))
            end++;
        size_t len = (size_t)(end - name);
        if (len == 0 || len >= sizeof stack[0])
            return "a tag without a proper name";
        const char *q = end;
        char quote = 0;
        for (; *q && (quote || *q != '>'); q++)
            if (quote && *q == quote)
                quote = 0;
            else if (!quote && (*q == '"' || *q == '\''))
                quote = *q;
        if (!*q)
            return "an unclosed tag";
        int self_closing = q[-1] == '/';
        if (closing) {
            if (depth == 0 || strlen(stack[depth - 1]) != len ||
                strncmp(stack[depth - 1], name, len) != 0)
                return "a closing tag that does not match the open one";
            depth--;
        } else {
            if (depth == 0) {
                if (++roots > 1 || len != 3 || strncmp(name, "svg", 3) != 0)
                    return "a root element other than one <svg>";
                char head[1024];
                size_t hl = (size_t)(q - p) < sizeof head - 1 ? (size_t)(q - p) : sizeof head - 1;
                memcpy(head, p, hl);
                head[hl] = '\0';
                if (!strstr(head, "xmlns=\"http://www.w3.org/2000/svg\""))
                    return "an <svg> without the SVG namespace";
            }
            if (!self_closing) {
                if (depth == 64)
                    return "elements nested too deep";
                memcpy(stack[depth], name, len);
                stack[depth++][len] = '\0';
            }
        }
        p = q + 1;
    }
    if (depth != 0)
        return "an element left open at the end";
    return roots == 1 ? NULL : "no <svg> element";
}

/* A PNG: the 8-byte signature, then an IHDR chunk with a width and height that are not 0. */
static const char *png_problem(const unsigned char *b, size_t n)
{
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 33 || memcmp(b, signature, 8) != 0)
        return "not a PNG signature";
    if (memcmp(b + 12, "IHDR", 4) != 0)
        return "no IHDR chunk first";
    unsigned long w = (unsigned long)b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19];
    unsigned long h = (unsigned long)b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23];
    return w && h ? NULL : "a zero width or height";
}

/* Check every image a lesson shows; returns how many it shows. */
static int check_images_of(const char *lesson, int *bad)
{
    size_t size;
    char *text = slurp(lesson, &size);
    cr_assert_not_null(text, "cannot read %s", lesson);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", lesson);
    char *slash = strrchr(dir, '/');
    cr_assert_not_null(slash);
    *slash = '\0';
    int images = 0;
    for (const char *p = text; (p = strstr(p, "![")) != NULL; p += 2) {
        const char *close = strstr(p, "](");
        const char *nl = strchr(p, '\n');
        if (!close || (nl && nl < close))
            continue;
        const char *target = close + 2, *end = strpbrk(target, ") \n");
        if (!end || *end != ')')
            continue;
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)(end - target), target);
        if (strstr(name, "://")) /* a picture on the web is not ours to check */
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        images++;
        size_t n;
        char *image = slurp(path, &n);
        const char *problem = NULL;
        if (!image)
            problem = "no such file";
        else if (n > 4 && strcmp(path + strlen(path) - 4, ".svg") == 0)
            problem = svg_problem(image);
        else if (n > 4 && strcmp(path + strlen(path) - 4, ".png") == 0)
            problem = png_problem((const unsigned char *)image, n);
        else
            problem = "neither .svg nor .png";
        if (problem) {
            (*bad)++;
            cr_log_error("%s shows %s: %s", lesson, path, problem);
        }
        free(image);
    }
    free(text);
    return images;
}

Test(lessons, every_figure_a_lesson_shows_exists_and_is_a_valid_image)
{
    glob_t g;
    cr_assert_eq(glob(FORKLORE_ROOT "/lessons/*.md", 0, NULL, &g), 0, "no lessons found");
    int bad = 0, total = 0, without = 0;
    for (size_t l = 0; l < g.gl_pathc; l++) {
        int shown = check_images_of(g.gl_pathv[l], &bad);
        total += shown;
        if (shown == 0) {
            without++;
            cr_log_error("%s shows no figure", g.gl_pathv[l]);
        }
    }
    globfree(&g);
    cr_assert_eq(bad, 0, "%d of %d figures are missing or not valid images (listed above)", bad,
                 total);
    cr_assert_eq(without, 0, "%d lessons show no figure (listed above)", without);
}

/* The checker itself: a broken SVG is refused, so the test above can fail. */
Test(lessons, the_svg_check_refuses_what_a_browser_would)
{
    cr_assert_null(svg_problem("<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\">"
                               "<g><text x=\"1\">a &gt; b</text><rect/></g></svg>"));
    cr_assert_not_null(svg_problem("<svg xmlns=\"http://www.w3.org/2000/svg\"><g></svg>"));
    cr_assert_not_null(svg_problem("<svg><rect/></svg>"));
    cr_assert_not_null(svg_problem("<html xmlns=\"http://www.w3.org/2000/svg\"></html>"));
    cr_assert_not_null(svg_problem("<svg xmlns=\"http://www.w3.org/2000/svg\"><g>"));
    cr_assert_not_null(
        svg_problem("<svg xmlns=\"http://www.w3.org/2000/svg\"><!-- a --b --></svg>"));
    const unsigned char not_png[40] = {0x89, 'P', 'N', 'G'};
    cr_assert_not_null(png_problem(not_png, sizeof not_png));
}

/* --- exercises: a hint for each, and the worked solutions an instructor keeps ---------------
 * lessons/solutions/NAME.md holds one "## Exercise N" per exercise of lessons/NAME.md (the
 * hand-out leaves the folder out).  Every exercise of a lesson that has solutions carries a
 * "*Hint:*" line for the student. */

/* The exercises of one lesson: how many, and how many of them carry a hint. */
static void count_exercises(const char *lesson, int *exercises, int *hinted)
{
    FILE *f = fopen(lesson, "r");
    cr_assert_not_null(f, "cannot read %s", lesson);
    char line[4096];
    int in_exercises = 0, current_has_hint = 1;
    *exercises = *hinted = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "## ", 3) == 0) {
            in_exercises = strncmp(line, "## Exercises", 12) == 0;
            continue;
        }
        if (!in_exercises)
            continue;
        int number = 0, used = 0;
        if (sscanf(line, "%d. %n", &number, &used) == 1 && used > 0 && number == *exercises + 1) {
            *hinted += current_has_hint && *exercises > 0;
            (*exercises)++;
            current_has_hint = 0;
        } else if (strstr(line, "*Hint:*")) {
            current_has_hint = 1;
        }
    }
    *hinted += *exercises > 0 && current_has_hint;
    fclose(f);
}

Test(lessons, every_worked_solution_file_matches_its_lessons_exercises_and_each_has_a_hint)
{
    glob_t g;
    int rc = glob(FORKLORE_ROOT "/lessons/solutions/*.md", 0, NULL, &g);
    cr_assert_eq(rc, 0, "no worked solutions found in lessons/solutions/");
    int files = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *name = strrchr(g.gl_pathv[i], '/') + 1;
        if (strcmp(name, "README.md") == 0)
            continue;
        files++;
        char lesson[512];
        snprintf(lesson, sizeof lesson, FORKLORE_ROOT "/lessons/%s", name);
        int exercises, hinted;
        count_exercises(lesson, &exercises, &hinted);
        cr_expect_gt(exercises, 0, "%s has no exercises for %s to solve", lesson, g.gl_pathv[i]);
        cr_expect_eq(hinted, exercises, "%s: %d of %d exercises carry a *Hint:*", lesson, hinted,
                     exercises);
        size_t size;
        char *text = slurp(g.gl_pathv[i], &size);
        cr_assert_not_null(text);
        for (int n = 1; n <= exercises + 1; n++) {
            char heading[64];
            snprintf(heading, sizeof heading, "\n## Exercise %d\n", n);
            int present = strstr(text, heading) != NULL;
            if (n <= exercises)
                cr_expect(present, "%s has no solution for exercise %d", g.gl_pathv[i], n);
            else
                cr_expect(!present, "%s solves an exercise %d that %s does not have", g.gl_pathv[i],
                          n, lesson);
        }
        free(text);
    }
    globfree(&g);
    cr_expect_gt(files, 0, "lessons/solutions/ holds no lesson's solutions");

    /* And the other way round: a lesson with exercises has its solutions file. */
    cr_assert_eq(glob(FORKLORE_ROOT "/lessons/*.md", 0, NULL, &g), 0, "no lessons found");
    for (size_t i = 0; i < g.gl_pathc; i++) {
        int exercises, hinted;
        count_exercises(g.gl_pathv[i], &exercises, &hinted);
        char solutions[512];
        snprintf(solutions, sizeof solutions, FORKLORE_ROOT "/lessons/solutions/%s",
                 strrchr(g.gl_pathv[i], '/') + 1);
        if (exercises > 0)
            cr_expect(access(solutions, R_OK) == 0, "%s has %d exercises and no %s", g.gl_pathv[i],
                      exercises, solutions);
    }
    globfree(&g);
}
