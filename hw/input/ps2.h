/* SPDX-License-Identifier: MIT */
/*
 * ps2.h - PS/2 keyboard and mouse device cores (the devices at the far end
 * of the i8042's two ports), with no controller knowledge.
 *
 * The controller (i8042.c) writes host-to-device bytes with
 * ps2_kbd_write()/ps2_mouse_write() and pulls device-to-host bytes with
 * ps2_*_read() while its output buffer is free; the devices call notify()
 * whenever they queued something.  The keyboard always produces untranslated
 * bytes of its current scancode set: set 2 -> set 1 translation is the
 * controller's job (ps2_xlat()), as on real hardware.
 *
 * Queues are bounded (PS2_QUEUE_SIZE); host input events that do not fit are
 * dropped whole, never partially, and PS2_QUEUE_RESERVE bytes are kept free
 * for command replies.  Loop thread only.
 */
#ifndef HW_INPUT_PS2_H
#define HW_INPUT_PS2_H

#include <stdbool.h>
#include <stdint.h>

#define PS2_QUEUE_SIZE 256
#define PS2_QUEUE_RESERVE 16

/* Device replies (IBM PS/2 Technical Reference, keyboard/mouse chapters). */
#define PS2_ACK 0xfa
#define PS2_RESEND 0xfe
#define PS2_BAT_OK 0xaa
#define PS2_ECHO 0xee

/* Pointer buttons, in the bit order of the PS/2 packet's first byte. */
#define PS2_BTN_LEFT 0x01
#define PS2_BTN_RIGHT 0x02
#define PS2_BTN_MIDDLE 0x04
#define PS2_BTN_SIDE 0x08  /* button 4 (IntelliMouse Explorer) */
#define PS2_BTN_EXTRA 0x10 /* button 5 */

struct ps2_queue {
	uint8_t data[PS2_QUEUE_SIZE];
	uint16_t rptr;	/* index of the oldest byte, < PS2_QUEUE_SIZE */
	uint16_t count; /* <= PS2_QUEUE_SIZE */
};

struct ps2_kbd {
	struct ps2_queue q;
	int pending;   /* command waiting for its argument byte, or -1 */
	uint8_t last;  /* last byte handed to the controller (for 0xfe resend) */
	uint8_t set;   /* scancode set 1, 2 or 3 */
	uint8_t leds;  /* bit 0 scroll, 1 num, 2 caps */
	uint8_t rate;  /* typematic rate/delay byte (0xf3) */
	bool scanning; /* 0xf4/0xf5 */
	uint64_t dropped;
	void (*notify)(void *opaque);
	void (*leds_changed)(void *opaque, uint8_t leds);
	void *opaque;
};

struct ps2_mouse {
	struct ps2_queue q;
	int pending;
	uint8_t last;
	uint8_t status;	    /* 0x40 remote, 0x20 enabled, 0x10 scaling 2:1, low bits buttons */
	uint8_t resolution; /* 0-3: 1, 2, 4, 8 counts/mm */
	uint8_t rate;	    /* samples per second */
	uint8_t id;	    /* 0 standard, 3 IntelliMouse (wheel), 4 IntelliMouse Explorer */
	bool wrap;
	uint8_t rates[3]; /* the last three sample rates, for the wheel "knock" */
	int32_t dx, dy, dz;
	uint8_t buttons;
	uint8_t sent_buttons; /* buttons as of the last packet */
	uint64_t dropped;
	void (*notify)(void *opaque);
	void *opaque;
};

/* The i8042's set 2 -> set 1 translation (8042 firmware table). */
uint8_t ps2_xlat(uint8_t set2);

void ps2_kbd_init(struct ps2_kbd *k, void (*notify)(void *opaque), void *opaque);
void ps2_kbd_reset(struct ps2_kbd *k);
/* A byte from the host (command or argument). */
void ps2_kbd_write(struct ps2_kbd *k, uint8_t v);
/* Next byte for the host, or -1 when the queue is empty. */
int ps2_kbd_read(struct ps2_kbd *k);
bool ps2_kbd_pending(const struct ps2_kbd *k);
/* A key (Linux input keycode, KEY_*) went down or up. */
void ps2_kbd_key(struct ps2_kbd *k, unsigned keycode, bool down);
/*
 * Encode a key in scancode set `set` into out (at least 8 bytes); returns the
 * byte count, 0 for keys the set cannot express.
 */
unsigned ps2_kbd_encode(unsigned set, unsigned keycode, bool down, uint8_t *out);

void ps2_mouse_init(struct ps2_mouse *m, void (*notify)(void *opaque), void *opaque);
void ps2_mouse_reset(struct ps2_mouse *m);
void ps2_mouse_write(struct ps2_mouse *m, uint8_t v);
int ps2_mouse_read(struct ps2_mouse *m);
bool ps2_mouse_pending(const struct ps2_mouse *m);
/*
 * Relative motion (dx right, dy down as on screen, dz wheel down positive)
 * and the button state (PS2_BTN_*); stream mode sends packets at once.
 */
void ps2_mouse_event(struct ps2_mouse *m, int dx, int dy, int dz, unsigned buttons);

/* Queue invariants (rptr/count in range); restore paths reject violations. */
bool ps2_queue_valid(const struct ps2_queue *q);

#endif /* HW_INPUT_PS2_H */
