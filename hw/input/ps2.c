// SPDX-License-Identifier: MIT
/*
 * ps2.c - PS/2 keyboard (IBM MF2, ID 0xab 0x83) and mouse (standard,
 * IntelliMouse and IntelliMouse Explorer) device cores.
 *
 * Keyboard (IBM PS/2 Hardware Interface Technical Reference, "Keyboards"):
 * scancode sets 1, 2 (default) and 3, commands 0xed LEDs, 0xee echo, 0xf0
 * scancode set, 0xf2 identify, 0xf3 typematic, 0xf4/0xf5/0xf6 enable,
 * disable, defaults, 0xf7-0xfd set-3 key types (acknowledged, all keys stay
 * make/break), 0xfe resend, 0xff reset (0xaa).  Auto-repeat comes from the
 * host UI (VNC and SDL clients repeat key-down events), so the typematic
 * byte is stored but no repeats are generated here: doing both would double
 * them.
 *
 * Mouse ("Pointing device" chapter): stream and remote modes, wrap mode,
 * resolution, sample rate, 1:1/2:1 scaling, status request, the IntelliMouse
 * wheel knock (sample rates 200, 100, 80 -> ID 3) and the Explorer knock
 * (200, 200, 80 -> ID 4).  Resolution and sample rate are reported back but
 * do not change motion: host events are already in screen pixels.  Motion
 * is split into packets of at most +-255 counts so the overflow bits are
 * never needed, and the accumulator is clamped so it stays bounded while a
 * guest does not read.
 */
#include "ps2.h"

#include <linux/input-event-codes.h>
#include <string.h>

#include "log.h"

#define PS2_MOD "ps2"
#define PS2_MOUSE_ACCUM_MAX 4096

/* ---- queue ------------------------------------------------------------ */

static void q_reset(struct ps2_queue *q)
{
	q->rptr = 0;
	q->count = 0;
}

static unsigned q_free(const struct ps2_queue *q)
{
	return PS2_QUEUE_SIZE - q->count;
}

static void q_put(struct ps2_queue *q, uint8_t v)
{
	if (q->count >= PS2_QUEUE_SIZE)
		return;
	q->data[(q->rptr + q->count) % PS2_QUEUE_SIZE] = v;
	q->count++;
}

static int q_get(struct ps2_queue *q)
{
	uint8_t v;

	if (!q->count)
		return -1;
	v = q->data[q->rptr % PS2_QUEUE_SIZE];
	q->rptr = (q->rptr + 1) % PS2_QUEUE_SIZE;
	q->count--;
	return v;
}

bool ps2_queue_valid(const struct ps2_queue *q)
{
	return q->rptr < PS2_QUEUE_SIZE && q->count <= PS2_QUEUE_SIZE;
}

/* ---- set 2 -> set 1 translation --------------------------------------- */

/*
 * The 8042's translation of the low half; bytes 0x80-0xff pass unchanged
 * except 0x83 (F7) and 0x84 (Alt+SysRq), which the firmware maps to their
 * set 1 codes.
 */
static const uint8_t ps2_xlat_low[128] = {
	0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29,
	0x59, 0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11,
	0x03, 0x5b, 0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14,
	0x13, 0x06, 0x5d, 0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24,
	0x16, 0x08, 0x09, 0x5f, 0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35,
	0x26, 0x27, 0x19, 0x0c, 0x61, 0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36,
	0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76, 0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c,
	0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f, 0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45,
	0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};

uint8_t ps2_xlat(uint8_t set2)
{
	if (set2 < 0x80)
		return ps2_xlat_low[set2];
	if (set2 == 0x83)
		return 0x41;
	if (set2 == 0x84)
		return 0x54;
	return set2;
}

/* ---- key table -------------------------------------------------------- */

#define KEY_E0 0x01 /* set 1/2 code carries the 0xe0 prefix */

struct ps2_keydef {
	uint8_t set2;
	uint8_t set3;
	uint8_t flags;
};

/* Indexed by Linux keycode.  Set 1 codes are derived: ps2_xlat(set2). */
static const struct ps2_keydef ps2_keys[KEY_MEDIA + 1] = {
	[KEY_ESC] = { 0x76, 0x08, 0 },
	[KEY_1] = { 0x16, 0x16, 0 },
	[KEY_2] = { 0x1e, 0x1e, 0 },
	[KEY_3] = { 0x26, 0x26, 0 },
	[KEY_4] = { 0x25, 0x25, 0 },
	[KEY_5] = { 0x2e, 0x2e, 0 },
	[KEY_6] = { 0x36, 0x36, 0 },
	[KEY_7] = { 0x3d, 0x3d, 0 },
	[KEY_8] = { 0x3e, 0x3e, 0 },
	[KEY_9] = { 0x46, 0x46, 0 },
	[KEY_0] = { 0x45, 0x45, 0 },
	[KEY_MINUS] = { 0x4e, 0x4e, 0 },
	[KEY_EQUAL] = { 0x55, 0x55, 0 },
	[KEY_BACKSPACE] = { 0x66, 0x66, 0 },
	[KEY_TAB] = { 0x0d, 0x0d, 0 },
	[KEY_Q] = { 0x15, 0x15, 0 },
	[KEY_W] = { 0x1d, 0x1d, 0 },
	[KEY_E] = { 0x24, 0x24, 0 },
	[KEY_R] = { 0x2d, 0x2d, 0 },
	[KEY_T] = { 0x2c, 0x2c, 0 },
	[KEY_Y] = { 0x35, 0x35, 0 },
	[KEY_U] = { 0x3c, 0x3c, 0 },
	[KEY_I] = { 0x43, 0x43, 0 },
	[KEY_O] = { 0x44, 0x44, 0 },
	[KEY_P] = { 0x4d, 0x4d, 0 },
	[KEY_LEFTBRACE] = { 0x54, 0x54, 0 },
	[KEY_RIGHTBRACE] = { 0x5b, 0x5b, 0 },
	[KEY_ENTER] = { 0x5a, 0x5a, 0 },
	[KEY_LEFTCTRL] = { 0x14, 0x11, 0 },
	[KEY_A] = { 0x1c, 0x1c, 0 },
	[KEY_S] = { 0x1b, 0x1b, 0 },
	[KEY_D] = { 0x23, 0x23, 0 },
	[KEY_F] = { 0x2b, 0x2b, 0 },
	[KEY_G] = { 0x34, 0x34, 0 },
	[KEY_H] = { 0x33, 0x33, 0 },
	[KEY_J] = { 0x3b, 0x3b, 0 },
	[KEY_K] = { 0x42, 0x42, 0 },
	[KEY_L] = { 0x4b, 0x4b, 0 },
	[KEY_SEMICOLON] = { 0x4c, 0x4c, 0 },
	[KEY_APOSTROPHE] = { 0x52, 0x52, 0 },
	[KEY_GRAVE] = { 0x0e, 0x0e, 0 },
	[KEY_LEFTSHIFT] = { 0x12, 0x12, 0 },
	[KEY_BACKSLASH] = { 0x5d, 0x5c, 0 },
	[KEY_Z] = { 0x1a, 0x1a, 0 },
	[KEY_X] = { 0x22, 0x22, 0 },
	[KEY_C] = { 0x21, 0x21, 0 },
	[KEY_V] = { 0x2a, 0x2a, 0 },
	[KEY_B] = { 0x32, 0x32, 0 },
	[KEY_N] = { 0x31, 0x31, 0 },
	[KEY_M] = { 0x3a, 0x3a, 0 },
	[KEY_COMMA] = { 0x41, 0x41, 0 },
	[KEY_DOT] = { 0x49, 0x49, 0 },
	[KEY_SLASH] = { 0x4a, 0x4a, 0 },
	[KEY_RIGHTSHIFT] = { 0x59, 0x59, 0 },
	[KEY_KPASTERISK] = { 0x7c, 0x7e, 0 },
	[KEY_LEFTALT] = { 0x11, 0x19, 0 },
	[KEY_SPACE] = { 0x29, 0x29, 0 },
	[KEY_CAPSLOCK] = { 0x58, 0x14, 0 },
	[KEY_F1] = { 0x05, 0x07, 0 },
	[KEY_F2] = { 0x06, 0x0f, 0 },
	[KEY_F3] = { 0x04, 0x17, 0 },
	[KEY_F4] = { 0x0c, 0x1f, 0 },
	[KEY_F5] = { 0x03, 0x27, 0 },
	[KEY_F6] = { 0x0b, 0x2f, 0 },
	[KEY_F7] = { 0x83, 0x37, 0 },
	[KEY_F8] = { 0x0a, 0x3f, 0 },
	[KEY_F9] = { 0x01, 0x47, 0 },
	[KEY_F10] = { 0x09, 0x4f, 0 },
	[KEY_NUMLOCK] = { 0x77, 0x76, 0 },
	[KEY_SCROLLLOCK] = { 0x7e, 0x5f, 0 },
	[KEY_KP7] = { 0x6c, 0x6c, 0 },
	[KEY_KP8] = { 0x75, 0x75, 0 },
	[KEY_KP9] = { 0x7d, 0x7d, 0 },
	[KEY_KPMINUS] = { 0x7b, 0x84, 0 },
	[KEY_KP4] = { 0x6b, 0x6b, 0 },
	[KEY_KP5] = { 0x73, 0x73, 0 },
	[KEY_KP6] = { 0x74, 0x74, 0 },
	[KEY_KPPLUS] = { 0x79, 0x7c, 0 },
	[KEY_KP1] = { 0x69, 0x69, 0 },
	[KEY_KP2] = { 0x72, 0x72, 0 },
	[KEY_KP3] = { 0x7a, 0x7a, 0 },
	[KEY_KP0] = { 0x70, 0x70, 0 },
	[KEY_KPDOT] = { 0x71, 0x71, 0 },
	[KEY_102ND] = { 0x61, 0x13, 0 },
	[KEY_F11] = { 0x78, 0x56, 0 },
	[KEY_F12] = { 0x07, 0x5e, 0 },
	[KEY_RO] = { 0x51, 0x51, 0 },
	[KEY_HENKAN] = { 0x64, 0x86, 0 },
	[KEY_KATAKANAHIRAGANA] = { 0x13, 0x87, 0 },
	[KEY_MUHENKAN] = { 0x67, 0x85, 0 },
	[KEY_KPENTER] = { 0x5a, 0x79, KEY_E0 },
	[KEY_RIGHTCTRL] = { 0x14, 0x58, KEY_E0 },
	[KEY_KPSLASH] = { 0x4a, 0x77, KEY_E0 },
	[KEY_RIGHTALT] = { 0x11, 0x39, KEY_E0 },
	[KEY_HOME] = { 0x6c, 0x6e, KEY_E0 },
	[KEY_UP] = { 0x75, 0x63, KEY_E0 },
	[KEY_PAGEUP] = { 0x7d, 0x6f, KEY_E0 },
	[KEY_LEFT] = { 0x6b, 0x61, KEY_E0 },
	[KEY_RIGHT] = { 0x74, 0x6a, KEY_E0 },
	[KEY_END] = { 0x69, 0x65, KEY_E0 },
	[KEY_DOWN] = { 0x72, 0x60, KEY_E0 },
	[KEY_PAGEDOWN] = { 0x7a, 0x6d, KEY_E0 },
	[KEY_INSERT] = { 0x70, 0x67, KEY_E0 },
	[KEY_DELETE] = { 0x71, 0x64, KEY_E0 },
	[KEY_MUTE] = { 0x23, 0, KEY_E0 },
	[KEY_VOLUMEDOWN] = { 0x21, 0, KEY_E0 },
	[KEY_VOLUMEUP] = { 0x32, 0, KEY_E0 },
	[KEY_POWER] = { 0x37, 0, KEY_E0 },
	[KEY_KPEQUAL] = { 0x0f, 0, 0 },
	[KEY_KPCOMMA] = { 0x6d, 0, 0 },
	[KEY_YEN] = { 0x6a, 0x5d, 0 },
	[KEY_LEFTMETA] = { 0x1f, 0x8b, KEY_E0 },
	[KEY_RIGHTMETA] = { 0x27, 0x8c, KEY_E0 },
	[KEY_COMPOSE] = { 0x2f, 0x8d, KEY_E0 },
	[KEY_STOP] = { 0x28, 0, KEY_E0 },
	[KEY_FIND] = { 0x10, 0, KEY_E0 },
	[KEY_CALC] = { 0x2b, 0, KEY_E0 },
	[KEY_SLEEP] = { 0x3f, 0, KEY_E0 },
	[KEY_WAKEUP] = { 0x5e, 0, KEY_E0 },
	[KEY_MAIL] = { 0x48, 0, KEY_E0 },
	[KEY_BOOKMARKS] = { 0x18, 0, KEY_E0 },
	[KEY_COMPUTER] = { 0x40, 0, KEY_E0 },
	[KEY_BACK] = { 0x38, 0, KEY_E0 },
	[KEY_FORWARD] = { 0x30, 0, KEY_E0 },
	[KEY_NEXTSONG] = { 0x4d, 0, KEY_E0 },
	[KEY_PLAYPAUSE] = { 0x34, 0, KEY_E0 },
	[KEY_PREVIOUSSONG] = { 0x15, 0, KEY_E0 },
	[KEY_STOPCD] = { 0x3b, 0, KEY_E0 },
	[KEY_HOMEPAGE] = { 0x3a, 0, KEY_E0 },
	[KEY_REFRESH] = { 0x20, 0, KEY_E0 },
	[KEY_MEDIA] = { 0x50, 0, KEY_E0 },
};

/* Print Screen and Pause have multi-code sequences in sets 1 and 2. */
static unsigned ps2_encode_special(unsigned set, unsigned keycode, bool down, uint8_t *out)
{
	static const uint8_t prt1_make[] = { 0xe0, 0x2a, 0xe0, 0x37 };
	static const uint8_t prt1_break[] = { 0xe0, 0xb7, 0xe0, 0xaa };
	static const uint8_t prt2_make[] = { 0xe0, 0x12, 0xe0, 0x7c };
	static const uint8_t prt2_break[] = { 0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12 };
	static const uint8_t pause1[] = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };
	static const uint8_t pause2[] = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };
	const uint8_t *seq;
	unsigned n;

	if (set == 3) {
		/* Set 3: one code each, break with 0xf0. */
		uint8_t code = keycode == KEY_SYSRQ ? 0x57 : 0x62;

		n = 0;
		if (!down)
			out[n++] = 0xf0;
		out[n++] = code;
		return n;
	}
	if (keycode == KEY_PAUSE) {
		/* Pause has no break code. */
		if (!down)
			return 0;
		seq = set == 1 ? pause1 : pause2;
		n = set == 1 ? sizeof(pause1) : sizeof(pause2);
	} else if (set == 1) {
		seq = down ? prt1_make : prt1_break;
		n = down ? sizeof(prt1_make) : sizeof(prt1_break);
	} else {
		seq = down ? prt2_make : prt2_break;
		n = down ? sizeof(prt2_make) : sizeof(prt2_break);
	}
	memcpy(out, seq, n);
	return n;
}

unsigned ps2_kbd_encode(unsigned set, unsigned keycode, bool down, uint8_t *out)
{
	const struct ps2_keydef *kd;
	unsigned n = 0;

	if (set < 1 || set > 3)
		return 0;
	if (keycode == KEY_SYSRQ || keycode == KEY_PAUSE)
		return ps2_encode_special(set, keycode, down, out);
	if (keycode >= sizeof(ps2_keys) / sizeof(ps2_keys[0]))
		return 0;
	kd = &ps2_keys[keycode];
	if (!kd->set2)
		return 0;
	if (set == 3) {
		if (!kd->set3)
			return 0;
		if (!down)
			out[n++] = 0xf0;
		out[n++] = kd->set3;
		return n;
	}
	if (kd->flags & KEY_E0)
		out[n++] = 0xe0;
	if (set == 1) {
		out[n++] = (uint8_t)(ps2_xlat(kd->set2) | (down ? 0 : 0x80));
		return n;
	}
	if (!down)
		out[n++] = 0xf0;
	out[n++] = kd->set2;
	return n;
}

/* ---- keyboard --------------------------------------------------------- */

static void kbd_reply(struct ps2_kbd *k, uint8_t v)
{
	q_put(&k->q, v);
	if (k->notify)
		k->notify(k->opaque);
}

static void kbd_set_leds(struct ps2_kbd *k, uint8_t leds)
{
	k->leds = leds & 7;
	if (k->leds_changed)
		k->leds_changed(k->opaque, k->leds);
}

/* Defaults (0xf5/0xf6): typematic rate/delay back to power-on values; the set stays. */
static void kbd_defaults(struct ps2_kbd *k)
{
	k->rate = 0x2b; /* 10.9 cps, 500 ms delay */
}

void ps2_kbd_reset(struct ps2_kbd *k)
{
	q_reset(&k->q);
	k->pending = -1;
	k->last = 0;
	k->set = 2;
	k->scanning = true;
	kbd_defaults(k);
	kbd_set_leds(k, 0);
}

void ps2_kbd_init(struct ps2_kbd *k, void (*notify)(void *opaque), void *opaque)
{
	memset(k, 0, sizeof(*k));
	k->notify = notify;
	k->opaque = opaque;
	ps2_kbd_reset(k);
}

static void kbd_argument(struct ps2_kbd *k, uint8_t cmd, uint8_t v)
{
	k->pending = -1;
	switch (cmd) {
	case 0xed:
		kbd_set_leds(k, v);
		kbd_reply(k, PS2_ACK);
		break;
	case 0xf3:
		k->rate = v & 0x7f;
		kbd_reply(k, PS2_ACK);
		break;
	case 0xf0:
		kbd_reply(k, PS2_ACK);
		if (v == 0)
			kbd_reply(k, k->set); /* translated to 0x43/0x41/0x3f by the 8042 */
		else if (v <= 3)
			k->set = v;
		break;
	default:
		/* 0xfb-0xfd take key lists: each byte is acknowledged. */
		kbd_reply(k, PS2_ACK);
		k->pending = cmd;
		break;
	}
}

static void kbd_command(struct ps2_kbd *k, uint8_t v)
{
	switch (v) {
	case 0xed: /* set LEDs */
	case 0xf3: /* typematic rate/delay */
	case 0xf0: /* get/set scancode set */
	case 0xfb: /* set-3 key types, with key lists */
	case 0xfc:
	case 0xfd:
		k->pending = v;
		kbd_reply(k, PS2_ACK);
		break;
	case 0xee:
		kbd_reply(k, PS2_ECHO);
		break;
	case 0xf2: /* identify: MF2 keyboard */
		kbd_reply(k, PS2_ACK);
		kbd_reply(k, 0xab);
		kbd_reply(k, 0x83);
		break;
	case 0xf4:
		k->scanning = true;
		kbd_reply(k, PS2_ACK);
		break;
	case 0xf5: /* disable and restore defaults */
		q_reset(&k->q);
		kbd_defaults(k);
		k->scanning = false;
		kbd_reply(k, PS2_ACK);
		break;
	case 0xf6:
		q_reset(&k->q);
		kbd_defaults(k);
		k->scanning = true;
		kbd_reply(k, PS2_ACK);
		break;
	case 0xf7: /* set-3 global key types */
	case 0xf8:
	case 0xf9:
	case 0xfa:
		kbd_reply(k, PS2_ACK);
		break;
	case 0xfe:
		kbd_reply(k, k->last);
		break;
	case 0xff:
		ps2_kbd_reset(k);
		kbd_reply(k, PS2_ACK);
		kbd_reply(k, PS2_BAT_OK);
		break;
	default:
		dm_guest_err(PS2_MOD, "kbd: unknown command 0x%02x", v);
		kbd_reply(k, PS2_RESEND);
		break;
	}
}

void ps2_kbd_write(struct ps2_kbd *k, uint8_t v)
{
	/*
	 * Arguments are LED bits, rates (<= 0x7f), set numbers and set-3 key
	 * codes, all below 0xed: a byte in the command range starts a new command.
	 */
	if (k->pending >= 0 && v < 0xed) {
		kbd_argument(k, (uint8_t)k->pending, v);
		return;
	}
	k->pending = -1;
	kbd_command(k, v);
}

int ps2_kbd_read(struct ps2_kbd *k)
{
	int v = q_get(&k->q);

	if (v >= 0)
		k->last = (uint8_t)v;
	return v;
}

bool ps2_kbd_pending(const struct ps2_kbd *k)
{
	return k->q.count != 0;
}

void ps2_kbd_key(struct ps2_kbd *k, unsigned keycode, bool down)
{
	uint8_t seq[8];
	unsigned n, i;

	if (!k->scanning)
		return;
	n = ps2_kbd_encode(k->set, keycode, down, seq);
	if (!n)
		return;
	if (q_free(&k->q) < n + PS2_QUEUE_RESERVE) {
		/* The guest is not reading: drop the whole event (CVE-2017-8379). */
		k->dropped++;
		dm_log_ratelimited(LOG_INFO, PS2_MOD, "kbd: queue full, key dropped");
		return;
	}
	for (i = 0; i < n; i++)
		q_put(&k->q, seq[i]);
	if (k->notify)
		k->notify(k->opaque);
}

/* ---- mouse ------------------------------------------------------------ */

#define MOUSE_REMOTE 0x40
#define MOUSE_ENABLED 0x20
#define MOUSE_SCALE21 0x10

static void mouse_reply(struct ps2_mouse *m, uint8_t v)
{
	q_put(&m->q, v);
	if (m->notify)
		m->notify(m->opaque);
}

static void mouse_defaults(struct ps2_mouse *m)
{
	m->status = 0; /* stream mode, disabled, 1:1 */
	m->resolution = 2;
	m->rate = 100;
	m->dx = m->dy = m->dz = 0;
}

void ps2_mouse_reset(struct ps2_mouse *m)
{
	q_reset(&m->q);
	m->pending = -1;
	m->last = 0;
	m->wrap = false;
	m->id = 0;
	memset(m->rates, 0, sizeof(m->rates));
	m->buttons = 0;
	m->sent_buttons = 0;
	mouse_defaults(m);
}

void ps2_mouse_init(struct ps2_mouse *m, void (*notify)(void *opaque), void *opaque)
{
	memset(m, 0, sizeof(*m));
	m->notify = notify;
	m->opaque = opaque;
	ps2_mouse_reset(m);
}

static int32_t clamp32(int32_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* 2:1 scaling table (stream mode only): 1->1, 2->1, 3->3, 4->6, 5->9, else 2x. */
static int32_t mouse_scale(const struct ps2_mouse *m, int32_t d)
{
	static const int8_t s21[6] = { 0, 1, 1, 3, 6, 9 };
	int32_t a = d < 0 ? -d : d;

	if (!(m->status & MOUSE_SCALE21) || (m->status & MOUSE_REMOTE))
		return d;
	a = a < 6 ? s21[a] : 2 * a;
	if (a > 255)
		a = 255;
	return d < 0 ? -a : a;
}

static unsigned mouse_packet_size(const struct ps2_mouse *m)
{
	return m->id ? 4 : 3;
}

static void mouse_send_packet(struct ps2_mouse *m)
{
	int32_t dx = clamp32(m->dx, -255, 255), dy = clamp32(m->dy, -255, 255), dz;
	int32_t sx = mouse_scale(m, dx), sy = mouse_scale(m, dy);
	uint8_t b0;

	b0 = 0x08 | (m->buttons & 7) | (sx < 0 ? 0x10 : 0) | (sy < 0 ? 0x20 : 0);
	q_put(&m->q, b0);
	q_put(&m->q, (uint8_t)sx);
	q_put(&m->q, (uint8_t)sy);
	if (m->id == 3) {
		dz = clamp32(m->dz, -8, 7);
		q_put(&m->q, (uint8_t)dz);
	} else if (m->id == 4) {
		dz = clamp32(m->dz, -8, 7);
		q_put(&m->q, (uint8_t)((dz & 0x0f) | ((m->buttons & 0x18) << 1)));
	} else {
		dz = 0;
		m->dz = 0; /* no wheel: nothing to carry over */
	}
	m->dx -= dx;
	m->dy -= dy;
	m->dz -= dz;
	m->sent_buttons = m->buttons;
}

/* Stream mode: flush motion into packets while the queue has room. */
static void mouse_flush(struct ps2_mouse *m)
{
	unsigned guard, psize = mouse_packet_size(m);
	bool sent = false;

	for (guard = 0; guard < PS2_QUEUE_SIZE; guard++) {
		if (!m->dx && !m->dy && !m->dz && m->buttons == m->sent_buttons)
			break;
		if (q_free(&m->q) < psize + PS2_QUEUE_RESERVE) {
			m->dropped++;
			break;
		}
		mouse_send_packet(m);
		sent = true;
	}
	if (sent && m->notify)
		m->notify(m->opaque);
}

void ps2_mouse_event(struct ps2_mouse *m, int dx, int dy, int dz, unsigned buttons)
{
	bool remote = m->status & MOUSE_REMOTE;

	if (!remote && !(m->status & MOUSE_ENABLED))
		return; /* a disabled stream-mode mouse reports nothing */
	/* PS/2 Y grows upwards; screens grow downwards. */
	m->dx = clamp32(m->dx + clamp32(dx, -PS2_MOUSE_ACCUM_MAX, PS2_MOUSE_ACCUM_MAX),
			-PS2_MOUSE_ACCUM_MAX, PS2_MOUSE_ACCUM_MAX);
	m->dy = clamp32(m->dy - clamp32(dy, -PS2_MOUSE_ACCUM_MAX, PS2_MOUSE_ACCUM_MAX),
			-PS2_MOUSE_ACCUM_MAX, PS2_MOUSE_ACCUM_MAX);
	/* Wheel: positive dz (towards the user) is a positive Z count. */
	m->dz = clamp32(m->dz + clamp32(dz, -PS2_MOUSE_ACCUM_MAX, PS2_MOUSE_ACCUM_MAX),
			-PS2_MOUSE_ACCUM_MAX, PS2_MOUSE_ACCUM_MAX);
	m->buttons = buttons & 0x1f;
	if (!remote)
		mouse_flush(m);
}

static void mouse_sample_rate(struct ps2_mouse *m, uint8_t v)
{
	m->rate = v;
	m->rates[0] = m->rates[1];
	m->rates[1] = m->rates[2];
	m->rates[2] = v;
	/* Microsoft's knock sequences switch the protocol on. */
	if (m->rates[0] == 200 && m->rates[1] == 100 && m->rates[2] == 80 && m->id == 0)
		m->id = 3;
	else if (m->rates[0] == 200 && m->rates[1] == 200 && m->rates[2] == 80 && m->id == 3)
		m->id = 4;
}

static void mouse_argument(struct ps2_mouse *m, uint8_t cmd, uint8_t v)
{
	m->pending = -1;
	if (cmd == 0xe8) {
		if (v > 3) {
			mouse_reply(m, PS2_RESEND);
			return;
		}
		m->resolution = v;
	} else {
		mouse_sample_rate(m, v);
	}
	mouse_reply(m, PS2_ACK);
}

static void mouse_status_request(struct ps2_mouse *m)
{
	/* Status byte: bit 2 left, bit 1 middle, bit 0 right (not the packet order). */
	uint8_t b = m->status & 0x70;

	b |= (m->buttons & PS2_BTN_LEFT) ? 0x04 : 0;
	b |= (m->buttons & PS2_BTN_MIDDLE) ? 0x02 : 0;
	b |= (m->buttons & PS2_BTN_RIGHT) ? 0x01 : 0;
	mouse_reply(m, PS2_ACK);
	mouse_reply(m, b);
	mouse_reply(m, m->resolution);
	mouse_reply(m, m->rate);
}

static void mouse_command(struct ps2_mouse *m, uint8_t v)
{
	switch (v) {
	case 0xe6:
		m->status &= ~MOUSE_SCALE21;
		break;
	case 0xe7:
		m->status |= MOUSE_SCALE21;
		break;
	case 0xe8: /* resolution */
	case 0xf3: /* sample rate */
		m->pending = v;
		break;
	case 0xe9:
		mouse_status_request(m);
		return;
	case 0xea:
		m->status &= ~MOUSE_REMOTE;
		m->dx = m->dy = m->dz = 0;
		break;
	case 0xeb: /* read data (remote mode; allowed in stream mode too) */
		mouse_reply(m, PS2_ACK);
		mouse_send_packet(m);
		if (m->notify)
			m->notify(m->opaque);
		return;
	case 0xec:
		m->wrap = false;
		break;
	case 0xee:
		m->wrap = true;
		break;
	case 0xf0:
		m->status |= MOUSE_REMOTE;
		m->dx = m->dy = m->dz = 0;
		break;
	case 0xf2:
		mouse_reply(m, PS2_ACK);
		mouse_reply(m, m->id);
		return;
	case 0xf4:
		m->status |= MOUSE_ENABLED;
		break;
	case 0xf5:
		m->status &= ~MOUSE_ENABLED;
		m->dx = m->dy = m->dz = 0;
		break;
	case 0xf6:
		mouse_defaults(m);
		break;
	case 0xfe:
		mouse_reply(m, m->last);
		return;
	case 0xff:
		ps2_mouse_reset(m);
		mouse_reply(m, PS2_ACK);
		mouse_reply(m, PS2_BAT_OK);
		mouse_reply(m, m->id);
		return;
	default:
		dm_guest_err(PS2_MOD, "mouse: unknown command 0x%02x", v);
		mouse_reply(m, PS2_RESEND);
		return;
	}
	mouse_reply(m, PS2_ACK);
}

void ps2_mouse_write(struct ps2_mouse *m, uint8_t v)
{
	if (m->pending >= 0) {
		mouse_argument(m, (uint8_t)m->pending, v);
		return;
	}
	if (m->wrap && v != 0xec && v != 0xff) {
		/* Wrap (echo) mode returns every byte except these two commands. */
		mouse_reply(m, v);
		return;
	}
	mouse_command(m, v);
}

int ps2_mouse_read(struct ps2_mouse *m)
{
	int v = q_get(&m->q);

	if (v >= 0)
		m->last = (uint8_t)v;
	return v;
}

bool ps2_mouse_pending(const struct ps2_mouse *m)
{
	return m->q.count != 0;
}
