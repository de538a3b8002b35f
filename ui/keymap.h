/* SPDX-License-Identifier: MIT */
/*
 * keymap.h - X keysyms (what VNC and SDL clients send) to Linux keycodes
 * (what ui/input.h routes), per keyboard layout, and XT scancodes (QEMU's
 * Extended Key Event) to Linux keycodes.
 *
 * A keysym table answers "which key of a PC keyboard with this layout
 * produces this symbol"; the client's own Shift/AltGr presses arrive as
 * separate events, so shifted symbols map to the unshifted key.  With QEMU's
 * Extended Key Event the client sends raw scancodes and no table is needed:
 * the guest's own layout applies.
 */
#ifndef UI_KEYMAP_H
#define UI_KEYMAP_H

#include <stdint.h>

struct keymap;

/* Layouts: "en-us" (default), "en-gb", "de", "de-ch", "fr", "fr-be", "it", "es", "ja", ... */
const struct keymap *keymap_find(const char *name);
/* Comma-separated list of known layout names. */
const char *keymap_names(void);
/* Linux keycode for a keysym, or 0 when the layout has no such key. */
unsigned keymap_keysym(const struct keymap *km, uint32_t keysym);
/* Linux keycode for an XT scancode (0xE0-prefixed keys with bit 7 set), or 0. */
unsigned keymap_xt(uint32_t xt);

#endif /* UI_KEYMAP_H */
