/* SPDX-License-Identifier: MIT */
/*
 * input.h - the console input router: keyboard and pointer events from the
 * UIs (VNC, SDL, QMP send-key, hvmctl sendkey) to the emulated devices.
 *
 * Key codes are Linux input keycodes (KEY_* in <linux/input-event-codes.h>):
 * the base block equals the PC set 1 make codes (KEY_A == 30 == 0x1e) and
 * every device (PS/2, USB HID) can map from them.
 *
 * Keyboard events go to every registered keyboard sink (on a PC: the PS/2
 * keyboard).  Pointer events go only to the active pointer sink: the one with
 * the highest priority (a USB tablet registers above the PS/2 mouse).
 * Absolute events for a relative sink are turned into deltas (screen pixels),
 * relative events for an absolute sink are dropped.
 *
 * The router is created by the first registration and freed with the last
 * sink; without sinks every call is a no-op.  This file is ui/input.c, part of
 * dm_core.  Queues live in the devices and
 * are bounded there.  Loop thread only.
 */
#ifndef UI_INPUT_H
#define UI_INPUT_H

#include <stdbool.h>
#include <stdint.h>

struct dm;
struct input_sink;

/* Pointer buttons (same bit order as the PS/2 packet). */
#define INPUT_BTN_LEFT 0x01
#define INPUT_BTN_RIGHT 0x02
#define INPUT_BTN_MIDDLE 0x04
#define INPUT_BTN_SIDE 0x08
#define INPUT_BTN_EXTRA 0x10

/* Absolute coordinates handed to absolute sinks: 0..INPUT_ABS_MAX on each axis. */
#define INPUT_ABS_MAX 0x7fff

/* Keyboard LEDs, as the PS/2 0xed command orders them. */
#define INPUT_LED_SCROLL 0x1
#define INPUT_LED_NUM 0x2
#define INPUT_LED_CAPS 0x4

/* Suggested priorities. */
#define INPUT_PRIO_PS2 10
#define INPUT_PRIO_USB 20

struct input_kbd_ops {
	void (*key)(void *opaque, unsigned keycode, bool down);
};

struct input_ptr_ops {
	/*
	 * Relative sinks get (dx, dy) in pixels; absolute sinks get (x, y) in
	 * 0..INPUT_ABS_MAX.  dz: wheel clicks, positive towards the user.
	 */
	void (*event)(void *opaque, int x_or_dx, int y_or_dy, int dz, unsigned buttons);
};

/* Register a keyboard sink.  0 or -errno; *out is for input_unregister(). */
int input_register_kbd(struct dm *dm, const char *name, const struct input_kbd_ops *ops,
		       void *opaque, struct input_sink **out);
/* Register a pointer sink with a priority; absolute for tablets. */
int input_register_pointer(struct dm *dm, const char *name, int priority, bool absolute,
			   const struct input_ptr_ops *ops, void *opaque, struct input_sink **out);
/* NULL is a no-op.  Frees the router with its last sink. */
void input_unregister(struct input_sink *s);

/* A key went down or up (Linux keycode). */
void input_key(struct dm *dm, unsigned keycode, bool down);
/* Relative motion in pixels (dy positive downwards) and the button state. */
void input_pointer_rel(struct dm *dm, int dx, int dy, int dz, unsigned buttons);
/* Absolute position in a width x height surface (pixels). */
void input_pointer_abs(struct dm *dm, int x, int y, unsigned width, unsigned height, int dz,
		       unsigned buttons);
/* True when the active pointer sink is absolute (UIs need no grab then). */
bool input_pointer_absolute(const struct dm *dm);
/* Name of the active pointer sink, or NULL. */
const char *input_pointer_active(const struct dm *dm);

/* Keyboard LED state as last set by the guest; sinks report it here. */
void input_set_leds(struct dm *dm, unsigned leds);
unsigned input_get_leds(const struct dm *dm);

/*
 * QEMU QKeyCode names ("a", "ret", "ctrl", "f1", "kp_add", "delete", ...)
 * and a few aliases ("enter", "space", "control", "del", "win") to Linux
 * keycodes; also "0x1c"/"28" as a raw Linux keycode.  Returns the keycode
 * or -EINVAL.
 */
int input_keycode_from_name(const char *name);
/*
 * QEMU's key numbers (QMP send-key {"type": "number"}, HMP sendkey 0x..):
 * set 1 make codes with 0x80 standing for the e0 prefix.  Keycode or -EINVAL.
 */
int input_keycode_from_xt(int xt);
/* The QKeyCode name of a keycode, or NULL. */
const char *input_keycode_name(unsigned keycode);
/*
 * Press the keys of "ctrl-alt-delete" in order and release them in reverse
 * (QMP send-key, HMP sendkey, hvmctl sendkey).  At most 16 keys.  0 or
 * -EINVAL (nothing is sent when any name is unknown).
 */
int input_send_keys(struct dm *dm, const char *combo);
/* The same with keycodes already parsed. */
int input_send_keycodes(struct dm *dm, const unsigned *codes, unsigned n);
/*
 * Press codes in order now, release them in reverse hold_ms later on the
 * virtual clock (QMP send-key's hold-time; 0 releases at once).  A combination
 * still held is released first.  The router installs this behind QMP
 * send-key itself (qmp_set_key_handler) when the first sink registers.
 */
int input_send_keycodes_hold(struct dm *dm, const unsigned *codes, unsigned n, unsigned hold_ms);

#endif /* UI_INPUT_H */
