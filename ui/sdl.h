/* SPDX-License-Identifier: MIT */
/*
 * sdl.h - the SDL2 window (-sdl, -full-screen): the console picture in a
 * resizable, scaled window; keyboard (SDL scancodes, i.e. USB HID usages,
 * to Linux keycodes) and pointer input into ui/input.h.
 *
 * Hotkeys (trad qemu-dm style): pressing and releasing Ctrl+Alt with no
 * other key grabs/releases keyboard and pointer (relative mouse mode when
 * the active pointer sink is relative; an absolute sink needs no grab);
 * Ctrl+Alt+F toggles full screen.  Closing the window presses the ACPI power
 * button (dm->powerdown), or powers off when the machine has none.
 *
 * Threads: SDL runs on a thread of its own that owns the window, renderer
 * and texture.  The loop thread copies the dirty rectangles of the console
 * surface into a shared frame under a mutex and wakes the SDL thread with
 * an SDL user event; input goes back with loop_post(), with a hard cap on
 * queued events.  Built only with SDL2 (HVM_HAVE_SDL); without it
 * sdl_start() fails with -ENOTSUP and a clear message.
 */
#ifndef UI_SDL_H
#define UI_SDL_H

#include <stdbool.h>

struct dm;

struct sdl_opts {
	bool full_screen; /* -full-screen: start in (desktop) full screen */
};

/* True when this build has the SDL front end. */
bool sdl_available(void);
/* Open the window and start showing the dm's console.  0 or -errno (logged). */
int sdl_start(struct dm *dm, const struct sdl_opts *o);
/* Close the window and join the SDL thread (loop thread; no-op when not started). */
void sdl_stop(struct dm *dm);
/*
 * Linux keycode (KEY_*) for an SDL scancode (USB HID usage page 7), or 0
 * when the key has no PC equivalent.  Available without SDL too (the table
 * is in HID numbers).
 */
unsigned sdl_scancode_to_keycode(unsigned scancode);

#endif /* UI_SDL_H */
