/* adder.h - the "student library" of the grader's own check lab: one function to call. */
#ifndef GRADER_CHECK_ADDER_H
#define GRADER_CHECK_ADDER_H
long add(long a, long b);
#endif
