/* Helpers for crest end-to-end test programs. All output uses write(2). */
#ifndef CREST_E2E_CRTEST_H
#define CREST_E2E_CRTEST_H

#ifdef __cplusplus
extern "C" {
#endif

/* Writes s and '\n' to fd 1. */
void t_puts(const char *s);
/* printf-style, adds '\n', writes to fd 1. */
void t_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints file:line, the condition and errno to fd 2, then abort(). */
void t_assert_fail(const char *cond, const char *file, int line);
#define t_assert(cond) \
    ((cond) ? (void)0 : t_assert_fail(#cond, __FILE__, __LINE__))

/* Appends "CKPT n" to $CRTEST_CONTROL and waits for SIGUSR2.
 * Returns immediately when CRTEST_CONTROL is unset. */
void t_checkpoint_point(int n);
/* Appends word to $CRTEST_CONTROL without waiting. */
void t_mark(const char *word);
/* Prints PASS and exits 0. */
void t_pass(void) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif
