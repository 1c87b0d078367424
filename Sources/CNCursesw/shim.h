// The one door between Prism and ncursesw. Everything Swift cannot import directly (macros,
// globals that trip Swift 6 concurrency checks, variadic calls) is exported here as a
// `static inline` function, so no constant is ever retyped by hand on the Swift side.
#ifndef PRISM_CNCURSESW_SHIM_H
#define PRISM_CNCURSESW_SHIM_H

// Without this, <curses.h> hides cchar_t and the wide-character calls (mvwaddnwstr, wget_wch).
#define _XOPEN_SOURCE_EXTENDED 1
#include <ncursesw/curses.h>
#include <locale.h>
#include <langinfo.h>
#include <stdio.h>
#include <wchar.h>

// ---- Attributes: NCURSES_BITS(...) expressions, not importable as constants.
static inline attr_t prism_a_normal(void) { return A_NORMAL; }
static inline attr_t prism_a_bold(void) { return A_BOLD; }
static inline attr_t prism_a_reverse(void) { return A_REVERSE; }
static inline attr_t prism_a_dim(void) { return A_DIM; }
static inline attr_t prism_a_underline(void) { return A_UNDERLINE; }
// COLOR_PAIR(n) is a function-like macro.
static inline attr_t prism_color_pair(int n) { return (attr_t)COLOR_PAIR(n); }

// ---- Globals: `stdscr`, `curscr`, `COLORS`, `COLOR_PAIRS`, `stdin`/`stdout` are mutable C
// globals; Swift 6 rejects reading them as not concurrency-safe.
static inline WINDOW *prism_stdscr(void) { return stdscr; }
static inline WINDOW *prism_curscr(void) { return curscr; }
static inline int prism_colors(void) { return COLORS; }
static inline int prism_color_pairs(void) { return COLOR_PAIRS; }
// newterm instead of initscr: initscr exits the process on an unknown TERM; newterm returns NULL.
static inline SCREEN *prism_newterm_stdio(void) { return newterm(NULL, stdout, stdin); }

// ---- getmaxyx assigns to its arguments (a macro); split into two calls.
static inline int prism_getmaxy(WINDOW *w) { return getmaxy(w); }
static inline int prism_getmaxx(WINDOW *w) { return getmaxx(w); }

// ---- Key codes: KEY_F(n) is a function-like macro; the rest are exported beside it so every
// key code comes from the header the library was built with.
static inline int prism_key_resize(void) { return KEY_RESIZE; }
static inline int prism_key_left(void) { return KEY_LEFT; }
static inline int prism_key_right(void) { return KEY_RIGHT; }
static inline int prism_key_up(void) { return KEY_UP; }
static inline int prism_key_down(void) { return KEY_DOWN; }
static inline int prism_key_npage(void) { return KEY_NPAGE; }
static inline int prism_key_ppage(void) { return KEY_PPAGE; }
static inline int prism_key_home(void) { return KEY_HOME; }
static inline int prism_key_end(void) { return KEY_END; }
static inline int prism_key_enter(void) { return KEY_ENTER; }
static inline int prism_key_backspace(void) { return KEY_BACKSPACE; }
static inline int prism_key_dc(void) { return KEY_DC; }
static inline int prism_key_btab(void) { return KEY_BTAB; }

// ---- Mouse: BUTTONn_* are macros built from NCURSES_MOUSE_MASK; getmouse fills a struct.
static inline int prism_key_mouse(void) { return KEY_MOUSE; }
// Clicks of button 1 and the wheel (buttons 4 and 5), reported at once (no click interval).
static inline int prism_enable_mouse(int on) {
    mmask_t want = on ? (BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED) : 0;
    mouseinterval(0);
    return mousemask(want, NULL) != 0 || !on;
}
// 1: button 1 pressed or clicked; 4: wheel up; 5: wheel down; 0: anything else or no event.
static inline int prism_get_mouse(int *x, int *y) {
    MEVENT ev;
    if (getmouse(&ev) != OK) return 0;
    *x = ev.x;
    *y = ev.y;
    if (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) return 1;
    if (ev.bstate & BUTTON4_PRESSED) return 4;
    if (ev.bstate & BUTTON5_PRESSED) return 5;
    return 0;
}
static inline int prism_key_f(int n) { return KEY_F(n); }

// ---- Line-drawing characters: ACS_* index the runtime acs_map[] array (a macro over a global).
static inline chtype prism_acs_hline(void) { return ACS_HLINE; }
static inline chtype prism_acs_vline(void) { return ACS_VLINE; }
static inline chtype prism_acs_ulcorner(void) { return ACS_ULCORNER; }
static inline chtype prism_acs_urcorner(void) { return ACS_URCORNER; }
static inline chtype prism_acs_llcorner(void) { return ACS_LLCORNER; }
static inline chtype prism_acs_lrcorner(void) { return ACS_LRCORNER; }

// ---- Output: mvwaddnwstr is a macro, and setting attributes plus a pair around it in one call
// keeps the per-run cost on the Swift side to a single C call. Attributes are reset afterwards
// so nothing leaks into the next run.
static inline int prism_put_wide(WINDOW *w, int y, int x, const wchar_t *s, int n, attr_t attrs, int pair) {
    wattr_set(w, attrs, (short)pair, NULL);
    int r = mvwaddnwstr(w, y, x, s, n);
    wattr_set(w, A_NORMAL, 0, NULL);
    return r;
}

// ---- Input: wget_wch writes through a pointer and returns whether the value is a key code;
// fold both into one struct. ok = 0 means timeout (or error), nothing was read.
typedef struct { int ok; int isKeyCode; unsigned int code; } prism_key_event;
static inline prism_key_event prism_get_wch(WINDOW *w) {
    wint_t ch = 0;
    int r = wget_wch(w, &ch);
    prism_key_event e;
    e.ok = (r != ERR);
    e.isKeyCode = (r == KEY_CODE_YES);
    e.code = (unsigned int)ch;
    return e;
}

// ---- Locale: nl_langinfo(CODESET) wants the nl_item constant CODESET, an enum member that is
// fine to import, but the result pointer is only valid until the next call; copy it out here.
static inline int prism_codeset_is_utf8(void) {
    const char *cs = nl_langinfo(CODESET);
    if (!cs) return 0;
    return (cs[0] == 'U' || cs[0] == 'u') && (cs[1] == 'T' || cs[1] == 't') &&
           (cs[2] == 'F' || cs[2] == 'f') && ((cs[3] == '-' && cs[4] == '8' && cs[5] == 0) ||
           (cs[3] == '8' && cs[4] == 0));
}

// ---- Terminal type check: whether the terminfo database knows `term`, without creating a
// screen or writing anything, so a bad TERM is reported before the log is even opened.
// setupterm installs the description as `cur_term` (a macro over a global); put the previous
// one back and free the probe. 1 = known, 0 = unknown, -1 = no terminfo database found.
#include <ncursesw/term.h>
static inline int prism_terminfo_known(const char *term, int fd) {
    int err = 0;
    TERMINAL *saved = cur_term;
    int r = setupterm(term, fd, &err);
    if (r == OK) {
        TERMINAL *probe = set_curterm(saved);
        if (probe && probe != saved) del_curterm(probe);
        return 1;
    }
    return err == -1 ? -1 : 0;
}

// ---- Width: glibc declares wcwidth only under _XOPEN_SOURCE, which Swift's Glibc module lacks.
static inline int prism_wcwidth(unsigned int c) { return wcwidth((wchar_t)c); }

#endif
