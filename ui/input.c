// SPDX-License-Identifier: MIT
/*
 * input.c - the console input router (ui/input.h): keyboard events to every
 * keyboard sink, pointer events to the highest-priority pointer sink, and
 * the QEMU key-name parser used by QMP send-key and hvmctl sendkey.
 *
 * It also serves QMP send-key: keys are pressed at once and released after
 * the hold time on the virtual clock, as QEMU does.
 */
#include "input.h"

#include <ctype.h>
#include <errno.h>
#include <linux/input-event-codes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "dm.h"
#include "log.h"
#include "qmp.h"

#define INPUT_MOD "input"
#define INPUT_MAX_COMBO 16 /* keys of one send-key */

struct input_sink {
	struct input_router *r;
	char name[32];
	int priority;
	bool is_kbd;
	bool absolute;
	const struct input_kbd_ops *kops;
	const struct input_ptr_ops *pops;
	void *opaque;
	struct input_sink *next;
};

struct input_router {
	struct dm *dm;
	struct input_sink *sinks;
	unsigned leds;
	/* Last absolute position, for relative sinks fed absolute events. */
	int last_x, last_y;
	bool have_last;
	/* Keys held down by a send-key with a hold time. */
	struct dm_timer hold_timer;
	unsigned held[INPUT_MAX_COMBO];
	unsigned nheld;
};

static int input_qmp_send_key(void *opaque, const struct qmp_key *keys, unsigned n,
			      unsigned hold_ms);

static struct input_router *input_router_get(struct dm *dm)
{
	struct input_router *r = dm->input;

	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->dm = dm;
	if (dm->clock)
		timer_init(&r->hold_timer, dm->clock, NULL, NULL);
	dm->input = r;
	qmp_set_key_handler(dm, input_qmp_send_key, dm);
	return r;
}

static void input_release_held(struct input_router *r)
{
	unsigned i, n = r->nheld;

	r->nheld = 0;
	if (r->dm->clock)
		timer_del(&r->hold_timer);
	for (i = n; i-- > 0;)
		input_key(r->dm, r->held[i], false);
}

static void input_router_free(struct input_router *r)
{
	struct dm *dm = r->dm;

	if (dm->clock)
		timer_del(&r->hold_timer);
	dm->input = NULL;
	/* Only touch a monitor that still exists (it may be stopped already). */
	if (dm->qmp)
		qmp_set_key_handler(dm, NULL, NULL);
	free(r);
}

static int input_register(struct dm *dm, struct input_sink *tmpl, struct input_sink **out)
{
	struct input_router *r = input_router_get(dm);
	struct input_sink *s;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	s = malloc(sizeof(*s));
	if (!s) {
		if (!r->sinks)
			input_router_free(r);
		return -ENOMEM;
	}
	*s = *tmpl;
	s->r = r;
	s->next = r->sinks;
	r->sinks = s;
	*out = s;
	return 0;
}

int input_register_kbd(struct dm *dm, const char *name, const struct input_kbd_ops *ops,
		       void *opaque, struct input_sink **out)
{
	struct input_sink t = { .is_kbd = true, .kops = ops, .opaque = opaque };

	snprintf(t.name, sizeof(t.name), "%s", name ? name : "keyboard");
	return input_register(dm, &t, out);
}

int input_register_pointer(struct dm *dm, const char *name, int priority, bool absolute,
			   const struct input_ptr_ops *ops, void *opaque, struct input_sink **out)
{
	struct input_sink t = {
		.priority = priority, .absolute = absolute, .pops = ops, .opaque = opaque
	};
	int rc;

	snprintf(t.name, sizeof(t.name), "%s", name ? name : "pointer");
	rc = input_register(dm, &t, out);
	if (!rc)
		dm_info(INPUT_MOD, "pointer '%s' registered (priority %d, %s); active: %s", t.name,
			priority, absolute ? "absolute" : "relative", input_pointer_active(dm));
	return rc;
}

void input_unregister(struct input_sink *s)
{
	struct input_router *r;
	struct input_sink **pp;

	if (!s)
		return;
	r = s->r;
	for (pp = &r->sinks; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	free(s);
	if (!r->sinks)
		input_router_free(r);
}

static struct input_sink *input_active_pointer(const struct dm *dm)
{
	struct input_sink *s, *best = NULL;

	if (!dm->input)
		return NULL;
	for (s = dm->input->sinks; s; s = s->next) {
		if (s->is_kbd)
			continue;
		/* Ties go to the earliest registered (the list is newest first). */
		if (!best || s->priority >= best->priority)
			best = s;
	}
	return best;
}

void input_key(struct dm *dm, unsigned keycode, bool down)
{
	struct input_sink *s;

	if (!dm->input)
		return;
	for (s = dm->input->sinks; s; s = s->next)
		if (s->is_kbd && s->kops && s->kops->key)
			s->kops->key(s->opaque, keycode, down);
}

void input_pointer_rel(struct dm *dm, int dx, int dy, int dz, unsigned buttons)
{
	struct input_sink *s = input_active_pointer(dm);

	if (!s || !s->pops || !s->pops->event)
		return;
	if (s->absolute) {
		/* A tablet cannot place relative motion; buttons still count. */
		if (!dx && !dy)
			s->pops->event(s->opaque, dm->input->last_x, dm->input->last_y, dz,
				       buttons);
		return;
	}
	s->pops->event(s->opaque, dx, dy, dz, buttons);
}

static int input_scale(int v, unsigned extent)
{
	int64_t x;

	if (extent < 2 || v <= 0)
		return 0;
	if ((unsigned)v >= extent - 1)
		return INPUT_ABS_MAX;
	x = (int64_t)v * INPUT_ABS_MAX / (int64_t)(extent - 1);
	return (int)x;
}

void input_pointer_abs(struct dm *dm, int x, int y, unsigned width, unsigned height, int dz,
		       unsigned buttons)
{
	struct input_sink *s = input_active_pointer(dm);
	struct input_router *r = dm->input;
	int dx = 0, dy = 0;

	if (!s || !s->pops || !s->pops->event)
		return;
	if (s->absolute) {
		r->last_x = input_scale(x, width);
		r->last_y = input_scale(y, height);
		s->pops->event(s->opaque, r->last_x, r->last_y, dz, buttons);
		return;
	}
	if (r->have_last) {
		dx = x - r->last_x;
		dy = y - r->last_y;
	}
	r->last_x = x;
	r->last_y = y;
	r->have_last = true;
	s->pops->event(s->opaque, dx, dy, dz, buttons);
}

bool input_pointer_absolute(const struct dm *dm)
{
	struct input_sink *s = input_active_pointer(dm);

	return s && s->absolute;
}

const char *input_pointer_active(const struct dm *dm)
{
	struct input_sink *s = input_active_pointer(dm);

	return s ? s->name : NULL;
}

void input_set_leds(struct dm *dm, unsigned leds)
{
	if (dm->input)
		dm->input->leds = leds & 7;
}

unsigned input_get_leds(const struct dm *dm)
{
	return dm->input ? dm->input->leds : 0;
}

/* ---- key names -------------------------------------------------------- */

struct input_keyname {
	const char *name;
	uint16_t code;
};

/* QEMU's QKeyCode names (qapi/ui.json), then aliases. */
static const struct input_keyname input_keynames[] = {
	{ "shift", KEY_LEFTSHIFT },
	{ "shift_r", KEY_RIGHTSHIFT },
	{ "alt", KEY_LEFTALT },
	{ "alt_r", KEY_RIGHTALT },
	{ "ctrl", KEY_LEFTCTRL },
	{ "ctrl_r", KEY_RIGHTCTRL },
	{ "menu", KEY_COMPOSE },
	{ "esc", KEY_ESC },
	{ "1", KEY_1 },
	{ "2", KEY_2 },
	{ "3", KEY_3 },
	{ "4", KEY_4 },
	{ "5", KEY_5 },
	{ "6", KEY_6 },
	{ "7", KEY_7 },
	{ "8", KEY_8 },
	{ "9", KEY_9 },
	{ "0", KEY_0 },
	{ "minus", KEY_MINUS },
	{ "equal", KEY_EQUAL },
	{ "backspace", KEY_BACKSPACE },
	{ "tab", KEY_TAB },
	{ "q", KEY_Q },
	{ "w", KEY_W },
	{ "e", KEY_E },
	{ "r", KEY_R },
	{ "t", KEY_T },
	{ "y", KEY_Y },
	{ "u", KEY_U },
	{ "i", KEY_I },
	{ "o", KEY_O },
	{ "p", KEY_P },
	{ "bracket_left", KEY_LEFTBRACE },
	{ "bracket_right", KEY_RIGHTBRACE },
	{ "ret", KEY_ENTER },
	{ "a", KEY_A },
	{ "s", KEY_S },
	{ "d", KEY_D },
	{ "f", KEY_F },
	{ "g", KEY_G },
	{ "h", KEY_H },
	{ "j", KEY_J },
	{ "k", KEY_K },
	{ "l", KEY_L },
	{ "semicolon", KEY_SEMICOLON },
	{ "apostrophe", KEY_APOSTROPHE },
	{ "grave_accent", KEY_GRAVE },
	{ "backslash", KEY_BACKSLASH },
	{ "z", KEY_Z },
	{ "x", KEY_X },
	{ "c", KEY_C },
	{ "v", KEY_V },
	{ "b", KEY_B },
	{ "n", KEY_N },
	{ "m", KEY_M },
	{ "comma", KEY_COMMA },
	{ "dot", KEY_DOT },
	{ "slash", KEY_SLASH },
	{ "asterisk", KEY_KPASTERISK },
	{ "spc", KEY_SPACE },
	{ "caps_lock", KEY_CAPSLOCK },
	{ "f1", KEY_F1 },
	{ "f2", KEY_F2 },
	{ "f3", KEY_F3 },
	{ "f4", KEY_F4 },
	{ "f5", KEY_F5 },
	{ "f6", KEY_F6 },
	{ "f7", KEY_F7 },
	{ "f8", KEY_F8 },
	{ "f9", KEY_F9 },
	{ "f10", KEY_F10 },
	{ "f11", KEY_F11 },
	{ "f12", KEY_F12 },
	{ "num_lock", KEY_NUMLOCK },
	{ "scroll_lock", KEY_SCROLLLOCK },
	{ "kp_divide", KEY_KPSLASH },
	{ "kp_multiply", KEY_KPASTERISK },
	{ "kp_subtract", KEY_KPMINUS },
	{ "kp_add", KEY_KPPLUS },
	{ "kp_enter", KEY_KPENTER },
	{ "kp_decimal", KEY_KPDOT },
	{ "sysrq", KEY_SYSRQ },
	{ "kp_0", KEY_KP0 },
	{ "kp_1", KEY_KP1 },
	{ "kp_2", KEY_KP2 },
	{ "kp_3", KEY_KP3 },
	{ "kp_4", KEY_KP4 },
	{ "kp_5", KEY_KP5 },
	{ "kp_6", KEY_KP6 },
	{ "kp_7", KEY_KP7 },
	{ "kp_8", KEY_KP8 },
	{ "kp_9", KEY_KP9 },
	{ "less", KEY_102ND },
	{ "home", KEY_HOME },
	{ "pgup", KEY_PAGEUP },
	{ "pgdn", KEY_PAGEDOWN },
	{ "end", KEY_END },
	{ "left", KEY_LEFT },
	{ "up", KEY_UP },
	{ "down", KEY_DOWN },
	{ "right", KEY_RIGHT },
	{ "insert", KEY_INSERT },
	{ "delete", KEY_DELETE },
	{ "stop", KEY_STOP },
	{ "again", KEY_AGAIN },
	{ "props", KEY_PROPS },
	{ "undo", KEY_UNDO },
	{ "front", KEY_FRONT },
	{ "copy", KEY_COPY },
	{ "open", KEY_OPEN },
	{ "paste", KEY_PASTE },
	{ "find", KEY_FIND },
	{ "cut", KEY_CUT },
	{ "lf", KEY_LINEFEED },
	{ "help", KEY_HELP },
	{ "meta_l", KEY_LEFTMETA },
	{ "meta_r", KEY_RIGHTMETA },
	{ "compose", KEY_COMPOSE },
	{ "pause", KEY_PAUSE },
	{ "ro", KEY_RO },
	{ "hiragana", KEY_HIRAGANA },
	{ "henkan", KEY_HENKAN },
	{ "yen", KEY_YEN },
	{ "muhenkan", KEY_MUHENKAN },
	{ "katakanahiragana", KEY_KATAKANAHIRAGANA },
	{ "kp_comma", KEY_KPCOMMA },
	{ "kp_equals", KEY_KPEQUAL },
	{ "power", KEY_POWER },
	{ "sleep", KEY_SLEEP },
	{ "wake", KEY_WAKEUP },
	{ "audionext", KEY_NEXTSONG },
	{ "audioprev", KEY_PREVIOUSSONG },
	{ "audiostop", KEY_STOPCD },
	{ "audioplay", KEY_PLAYPAUSE },
	{ "audiomute", KEY_MUTE },
	{ "volumeup", KEY_VOLUMEUP },
	{ "volumedown", KEY_VOLUMEDOWN },
	{ "mediaselect", KEY_MEDIA },
	{ "mail", KEY_MAIL },
	{ "calculator", KEY_CALC },
	{ "computer", KEY_COMPUTER },
	{ "ac_home", KEY_HOMEPAGE },
	{ "ac_back", KEY_BACK },
	{ "ac_forward", KEY_FORWARD },
	{ "ac_refresh", KEY_REFRESH },
	{ "ac_bookmarks", KEY_BOOKMARKS },
	{ "print", KEY_SYSRQ },
	{ "lang1", KEY_HANGEUL },
	{ "lang2", KEY_HANJA },
	{ "f13", KEY_F13 },
	{ "f14", KEY_F14 },
	{ "f15", KEY_F15 },
	{ "f16", KEY_F16 },
	{ "f17", KEY_F17 },
	{ "f18", KEY_F18 },
	{ "f19", KEY_F19 },
	{ "f20", KEY_F20 },
	{ "f21", KEY_F21 },
	{ "f22", KEY_F22 },
	{ "f23", KEY_F23 },
	{ "f24", KEY_F24 },
	/* Aliases people type. */
	{ "enter", KEY_ENTER },
	{ "return", KEY_ENTER },
	{ "space", KEY_SPACE },
	{ "control", KEY_LEFTCTRL },
	{ "ctl", KEY_LEFTCTRL },
	{ "del", KEY_DELETE },
	{ "escape", KEY_ESC },
	{ "win", KEY_LEFTMETA },
	{ "super", KEY_LEFTMETA },
	{ "pageup", KEY_PAGEUP },
	{ "pagedown", KEY_PAGEDOWN },
	{ "ins", KEY_INSERT },
};

#define INPUT_NR_KEYNAMES (sizeof(input_keynames) / sizeof(input_keynames[0]))

int input_keycode_from_name(const char *name)
{
	size_t i;
	char *end;
	unsigned long v;

	if (!name || !*name)
		return -EINVAL;
	for (i = 0; i < INPUT_NR_KEYNAMES; i++)
		if (!strcasecmp(name, input_keynames[i].name))
			return input_keynames[i].code;
	if (isdigit((unsigned char)name[0])) {
		v = strtoul(name, &end, 0);
		if (!*end && v > 0 && v <= KEY_MAX)
			return (int)v;
	}
	return -EINVAL;
}

const char *input_keycode_name(unsigned keycode)
{
	size_t i;

	for (i = 0; i < INPUT_NR_KEYNAMES; i++)
		if (input_keynames[i].code == keycode)
			return input_keynames[i].name;
	return NULL;
}

int input_send_keycodes(struct dm *dm, const unsigned *codes, unsigned n)
{
	unsigned i;

	if (n > INPUT_MAX_COMBO)
		return -EINVAL;
	for (i = 0; i < n; i++)
		input_key(dm, codes[i], true);
	for (i = n; i-- > 0;)
		input_key(dm, codes[i], false);
	return 0;
}

int input_send_keys(struct dm *dm, const char *combo)
{
	unsigned codes[INPUT_MAX_COMBO], n = 0;
	char name[32];
	const char *p = combo, *dash;

	if (!combo || !*combo)
		return -EINVAL;
	for (;;) {
		size_t len;
		int code;

		dash = strchr(p, '-');
		/* "ctrl-minus" is fine; a literal '-' key is spelled "minus". */
		len = dash ? (size_t)(dash - p) : strlen(p);
		if (!len || len >= sizeof(name) || n >= INPUT_MAX_COMBO)
			return -EINVAL;
		memcpy(name, p, len);
		name[len] = '\0';
		code = input_keycode_from_name(name);
		if (code < 0)
			return -EINVAL;
		codes[n++] = (unsigned)code;
		if (!dash)
			break;
		p = dash + 1;
	}
	return input_send_keycodes(dm, codes, n);
}

static void input_hold_expired(void *opaque)
{
	struct input_router *r = opaque;

	input_release_held(r);
}

int input_send_keycodes_hold(struct dm *dm, const unsigned *codes, unsigned n, unsigned hold_ms)
{
	struct input_router *r = dm->input;
	unsigned i;

	if (n > INPUT_MAX_COMBO)
		return -EINVAL;
	if (!r || !hold_ms || !dm->clock)
		return input_send_keycodes(dm, codes, n);
	/* A new combination first lets go of one still held. */
	input_release_held(r);
	for (i = 0; i < n; i++) {
		input_key(dm, codes[i], true);
		r->held[i] = codes[i];
	}
	r->nheld = n;
	r->hold_timer.cb = input_hold_expired;
	r->hold_timer.opaque = r;
	timer_mod(&r->hold_timer, clock_ns(dm->clock) + (uint64_t)hold_ms * NS_PER_MS);
	return 0;
}

int input_keycode_from_xt(int xt)
{
	/* The e0-prefixed keys of an MF2 keyboard (IBM PS/2 Technical Reference). */
	static const struct {
		uint8_t xt;
		uint16_t code;
	} ext[] = {
		{ 0x1c, KEY_KPENTER },	  { 0x1d, KEY_RIGHTCTRL }, { 0x20, KEY_MUTE },
		{ 0x2e, KEY_VOLUMEDOWN }, { 0x30, KEY_VOLUMEUP },  { 0x35, KEY_KPSLASH },
		{ 0x37, KEY_SYSRQ },	  { 0x38, KEY_RIGHTALT },  { 0x47, KEY_HOME },
		{ 0x48, KEY_UP },	  { 0x49, KEY_PAGEUP },	   { 0x4b, KEY_LEFT },
		{ 0x4d, KEY_RIGHT },	  { 0x4f, KEY_END },	   { 0x50, KEY_DOWN },
		{ 0x51, KEY_PAGEDOWN },	  { 0x52, KEY_INSERT },	   { 0x53, KEY_DELETE },
		{ 0x5b, KEY_LEFTMETA },	  { 0x5c, KEY_RIGHTMETA }, { 0x5d, KEY_COMPOSE },
		{ 0x5e, KEY_POWER },	  { 0x5f, KEY_SLEEP },	   { 0x63, KEY_WAKEUP },
	};
	size_t i;

	if (xt <= 0 || xt > 0xff)
		return -EINVAL;
	if (xt < 0x80) {
		/* Set 1 make codes 1-0x53 are the Linux keycodes; then 102nd, F11, F12. */
		if (xt <= 0x53 || (xt >= 0x56 && xt <= 0x58))
			return xt;
		return -EINVAL;
	}
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (ext[i].xt == (xt & 0x7f))
			return ext[i].code;
	return -EINVAL;
}

/* QMP send-key: QKeyCode names, or QEMU's numbers (XT scancodes, 0x80 = e0 prefix). */
static int input_qmp_send_key(void *opaque, const struct qmp_key *keys, unsigned n,
			      unsigned hold_ms)
{
	struct dm *dm = opaque;
	unsigned codes[INPUT_MAX_COMBO], i;
	int code;

	if (n > INPUT_MAX_COMBO)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (keys[i].qcode)
			code = input_keycode_from_name(keys[i].qcode);
		else
			code = input_keycode_from_xt(keys[i].number);
		if (code <= 0)
			return -EINVAL;
		codes[i] = (unsigned)code;
	}
	return input_send_keycodes_hold(dm, codes, n, hold_ms);
}
