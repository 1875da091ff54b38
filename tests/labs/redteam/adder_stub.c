/* adder_stub.c - the body every hostile submission in adder/ shares (tests/test_redteam.c).
 *
 * tests/test_redteam.c makes each submission's adder.c from one attack file (adder/NAME.c,
 * which defines `static void attack(void)`) followed by this file, and grades it with the
 * grader's own check lab (tests/labs/grader_check) on its one test fails_a_check, whose honest
 * score is 0: add() is right, but that test expects add(2, 2) to be 5.  Any point an attack
 * earns is a point forged.  An attack prints "REDTEAM-WIN" when it got somewhere it should not
 * have, names every process it starts REDTEAM_NAME (which the test defines in front of the
 * attack, unique to the test), and puts "redteam" in the name of anything it creates: the test
 * looks for all three afterwards.
 */
#include "adder.h"

long add(long a, long b)
{
    attack();
    return a + b;
}
